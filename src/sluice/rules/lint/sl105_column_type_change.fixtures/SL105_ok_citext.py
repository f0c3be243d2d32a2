# sluice-test: dialects = postgresql
"""text to CITEXT and back: the application still reads a str"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "sl105_ok_citext"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("prohibited_email_domains", "domain", existing_type=sa.String(),
                    type_=postgresql.CITEXT(), existing_nullable=False)
    op.alter_column("users", "email", existing_type=postgresql.CITEXT(), type_=sa.Text())


def downgrade():
    pass
