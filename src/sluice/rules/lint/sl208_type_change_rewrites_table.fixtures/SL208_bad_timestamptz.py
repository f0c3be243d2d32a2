"""timestamp to timestamp with time zone converts every row"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "sl208_bad_timestamptz"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("events", "created", existing_type=sa.DateTime(),  # <-
                    type_=sa.DateTime(timezone=True))
    op.alter_column("events", "seen", existing_type=postgresql.TIMESTAMP(timezone=True),  # <-
                    type_=postgresql.TIMESTAMP())


def downgrade():
    pass
