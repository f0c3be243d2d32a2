"""add_column(..., unique=True) on a live table: Alembic adds the constraint directly"""
import sqlalchemy as sa
from alembic import op

revision = "sl205_bad_column_unique"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("queries", sa.Column("code", sa.String(10), unique=True))  # <-


def downgrade():
    op.drop_column("queries", "code")
