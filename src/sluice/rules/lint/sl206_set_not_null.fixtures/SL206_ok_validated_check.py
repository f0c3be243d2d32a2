"""the safe alternative, by hand: a valid CHECK (col IS NOT NULL) first, so PostgreSQL 12+
sets NOT NULL without a scan (added and validated here, validated here after an earlier
revision added it, or validated earlier and dropped right after)"""
import sqlalchemy as sa
from alembic import op

revision = "sl206_ok_validated_check"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE orders ADD CONSTRAINT ck_orders_total_nn "
               "CHECK (total IS NOT NULL) NOT VALID")
    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_total_nn")
    op.alter_column("orders", "total", nullable=False, existing_type=sa.Integer())
    op.drop_constraint("ck_orders_total_nn", "orders", type_="check")
    op.execute("ALTER TABLE items VALIDATE CONSTRAINT ck_items_price_not_null")
    op.execute("ALTER TABLE items ALTER COLUMN price SET NOT NULL")
    op.execute("ALTER TABLE items DROP CONSTRAINT ck_items_price_not_null")
    op.alter_column("users", "email", nullable=False, existing_type=sa.Text())
    op.drop_constraint("ck_users_email_not_null", "users", type_="check")


def downgrade():
    pass
