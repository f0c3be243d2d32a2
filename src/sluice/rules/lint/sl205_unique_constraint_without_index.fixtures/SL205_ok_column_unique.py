"""unique=True on a new table; unique=True with index=True is a unique index (SL201)"""
import sqlalchemy as sa
from alembic import op

revision = "sl205_ok_column_unique"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("tags", sa.Column("id", sa.Integer(), primary_key=True))
    op.add_column("tags", sa.Column("name", sa.String(40), unique=True))
    op.add_column("queries", sa.Column("slug", sa.String(40), index=True, unique=True))
    op.add_column("queries", sa.Column("code", sa.String(10)))


def downgrade():
    pass
