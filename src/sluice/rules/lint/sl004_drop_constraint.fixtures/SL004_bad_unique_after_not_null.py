"""a unique constraint named after a column dropped right after SET NOT NULL: its rows'
uniqueness is lost, whatever the NOT NULL"""
import sqlalchemy as sa
from alembic import op

revision = "sl004_bad_unique_after_not_null"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("orders", "customer_id", existing_type=sa.Integer(), nullable=False)
    op.drop_constraint("orders_customer_id_key", "orders", type_="unique")  # <-


def downgrade():
    pass
