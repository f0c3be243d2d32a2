"""values with an exact text form, to TEXT or to VARCHAR without a length: nothing lost"""
import sqlalchemy as sa
from alembic import op

revision = "sl101_ok_to_text"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("entity", "source", existing_type=sa.BOOLEAN(), type_=sa.String(),
                    existing_nullable=True)
    op.alter_column("entity", "born", existing_type=sa.Date(), type_=sa.Text())
    op.alter_column("entity", "amount", existing_type=sa.Numeric(12, 2), type_=sa.Text())


def downgrade():
    pass
