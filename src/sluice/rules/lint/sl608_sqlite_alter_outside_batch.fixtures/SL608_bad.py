"""constraints and a column changed with plain ALTER TABLE on SQLite"""
import sqlalchemy as sa
from alembic import op

revision = "sl608_bad"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("teams", sa.Column("bracket_id", sa.Integer(), nullable=True))
    op.create_foreign_key(  # <-
        "fk_teams_bracket", "teams", "brackets", ["bracket_id"], ["id"], ondelete="SET NULL"
    )
    op.create_unique_constraint("uq_teams_name", "teams", ["name"])  # <-
    op.alter_column("teams", "name", existing_type=sa.String(80), nullable=False)  # <-


def downgrade():
    op.drop_constraint("uq_teams_name", "teams", type_="unique")  # <-
    op.drop_constraint("fk_teams_bracket", "teams", type_="foreignkey")  # <-
    op.drop_column("teams", "bracket_id")
