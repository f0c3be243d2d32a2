"""DateTime and TIMESTAMP without time zone are the same type on PostgreSQL"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "sl208_ok_same_timestamp"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("events", "created", existing_type=postgresql.TIMESTAMP(),
                    type_=sa.DateTime())


def downgrade():
    pass
