"""add_column(..., index=True) on a live table: Alembic runs a plain CREATE INDEX too"""
import sqlalchemy as sa
from alembic import op

revision = "sl201_bad_column_index"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("queries", sa.Column("is_draft", sa.Boolean(), index=True))  # <-
    op.add_column("queries", sa.Column("slug", sa.String(40), index=True, unique=True))  # <-


def downgrade():
    op.drop_column("queries", "slug")
    op.drop_column("queries", "is_draft")
