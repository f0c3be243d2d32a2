# sluice-test: dialects = postgresql
"""naive to aware timestamps: the application reads back the other kind"""
import sqlalchemy as sa
from alembic import op

revision = "sl105_bad_timezone"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("events", "created", existing_type=sa.DateTime(),  # <-
                    type_=sa.DateTime(timezone=True))


def downgrade():
    pass
