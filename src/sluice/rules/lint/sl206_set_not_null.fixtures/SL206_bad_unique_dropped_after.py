"""SET NOT NULL, then a unique constraint or a foreign key named after the column dropped:
not the safe sequence's last step (only a check proves a column holds no NULL)"""
import sqlalchemy as sa
from alembic import op

revision = "sl206_bad_unique_dropped_after"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("orders", "customer_id", existing_type=sa.Integer(), nullable=False)  # <-
    op.drop_constraint("orders_customer_id_key", "orders", type_="unique")
    op.alter_column("orders", "account_id", existing_type=sa.Integer(), nullable=False)  # <-
    op.drop_constraint("orders_account_id_fkey", "orders")
    op.execute("ALTER TABLE orders ALTER COLUMN shop_id SET NOT NULL")  # <-
    op.execute("ALTER TABLE orders DROP CONSTRAINT orders_shop_id_key")


def downgrade():
    pass
