# sluice-test: dialects = postgresql
"""adds an enum value: PostgreSQL cannot remove it, so the downgrade passes"""
from alembic import op

revision = "sl601_ok_enum_value"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TYPE state_type ADD VALUE IF NOT EXISTS 'PAUSED';")


def downgrade():
    # cannot remove values from an enum without changing data
    pass
