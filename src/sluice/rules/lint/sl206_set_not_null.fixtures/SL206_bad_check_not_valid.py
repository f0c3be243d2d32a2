"""a check added NOT VALID and never validated proves nothing: SET NOT NULL still scans"""
import sqlalchemy as sa
from alembic import op

revision = "sl206_bad_check_not_valid"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE orders ADD CONSTRAINT ck_orders_total_nn "
               "CHECK (total IS NOT NULL) NOT VALID")
    op.alter_column("orders", "total", nullable=False, existing_type=sa.Integer())  # <-
    op.execute("ALTER TABLE items ADD CONSTRAINT ck_items_price CHECK (price > 0)")
    op.execute("ALTER TABLE items ALTER COLUMN price SET NOT NULL")  # <-


def downgrade():
    pass
