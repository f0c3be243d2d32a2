"""a temporary column added, used and dropped in the same revision"""
import sqlalchemy as sa
from alembic import op

revision = "sl002_ok_own_column"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("queries", sa.Column("tmp", sa.Text(), nullable=True))
    op.execute("UPDATE queries SET tmp = name WHERE id > 0")
    op.drop_column("queries", "tmp")
    op.execute("ALTER TABLE queries ADD COLUMN tmp2 TEXT")
    op.add_column("queries", sa.Column("tmp3", sa.Text(), nullable=True))
    op.execute("ALTER TABLE queries DROP COLUMN tmp3")


def downgrade():
    pass
