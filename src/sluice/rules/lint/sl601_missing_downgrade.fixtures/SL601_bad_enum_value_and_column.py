# sluice-test: dialects = postgresql
"""adds an enum value and a column: the column could be dropped again"""
import sqlalchemy as sa
from alembic import op

revision = "sl601_bad_enum_value_and_column"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TYPE state_type ADD VALUE IF NOT EXISTS 'PAUSED';")
    op.add_column("flow_run", sa.Column("paused_at", sa.DateTime(), nullable=True))


def downgrade():  # <-
    pass
