"""index=True on a new table, in batch mode, unique=True alone (SL205), no index"""
import sqlalchemy as sa
from alembic import op

revision = "sl201_ok_column_index"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("tags", sa.Column("id", sa.Integer(), primary_key=True))
    op.add_column("tags", sa.Column("name", sa.String(40), index=True))
    op.add_column("queries", sa.Column("is_draft", sa.Boolean(), index=False))
    op.add_column("queries", sa.Column("code", sa.String(10), unique=True))
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("nick", sa.String(40), index=True))


def downgrade():
    pass
