"""the same in batch mode, a rename, and a call SQLite never reaches"""
import sqlalchemy as sa
from alembic import op

revision = "sl608_ok"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("teams") as batch_op:
        batch_op.add_column(sa.Column("bracket_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_teams_bracket", "brackets", ["bracket_id"], ["id"])
        batch_op.alter_column("name", existing_type=sa.String(80), nullable=False)
    op.alter_column("teams", "title", new_column_name="label")
    op.create_index("ix_teams_name", "teams", ["name"])


def downgrade():
    with op.batch_alter_table("teams") as batch_op:
        batch_op.drop_constraint("fk_teams_bracket", type_="foreignkey")
        batch_op.drop_column("bracket_id")
