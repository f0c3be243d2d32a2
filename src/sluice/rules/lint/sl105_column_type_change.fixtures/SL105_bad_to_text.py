"""a boolean that becomes a string: no value lost, but the code reads back 'true', not True"""
import sqlalchemy as sa
from alembic import op

revision = "sl105_bad_to_text"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("entity", "source", existing_type=sa.BOOLEAN(), type_=sa.String(),  # <-
                    existing_nullable=True)


def downgrade():
    pass
