"""SET NOT NULL without a default, then a unique constraint or a foreign key named after the column dropped:
not the safe sequence's last step (only a check proves a column holds no NULL)"""
import sqlalchemy as sa
from alembic import op

revision = "sl102_bad_unique_dropped_after"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("orders", "customer_id", existing_type=sa.Integer(), nullable=False)  # <-
    op.drop_constraint("orders_customer_id_key", "orders", type_="unique")
    op.alter_column("orders", "account_id", existing_type=sa.Integer(), nullable=False)  # <-
    op.drop_constraint("orders_account_id_fkey", "orders")


def downgrade():
    pass
