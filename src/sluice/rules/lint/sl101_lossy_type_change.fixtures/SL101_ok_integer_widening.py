# sluice-test: dialects = postgresql, mysql
"""widen an integer: every value fits"""
import sqlalchemy as sa
from alembic import op

revision = "sl101_ok_integer_widening"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("users", "age", type_=sa.Integer(),
                    existing_type=sa.SmallInteger(), existing_nullable=True)
    op.alter_column("users", "visits", type_=sa.BigInteger(),
                    existing_type=sa.Integer(), existing_nullable=True)


def downgrade():
    pass
