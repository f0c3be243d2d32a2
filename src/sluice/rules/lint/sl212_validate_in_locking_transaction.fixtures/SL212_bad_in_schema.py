"""a constraint added NOT VALID and validated on the same table of a schema; a name without
a schema may be that schema's table (the search path says which)"""
from alembic import op

revision = "sl212_bad_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_check_constraint("ck_orders_qty", "orders", "qty > 0", schema="sales",
                               postgresql_not_valid=True)
    op.execute("ALTER TABLE Sales.Orders VALIDATE CONSTRAINT ck_orders_qty")  # <-
    op.execute("ALTER TABLE sales.items ADD CONSTRAINT ck_items_qty CHECK (qty > 0) NOT VALID")
    op.execute("ALTER TABLE items VALIDATE CONSTRAINT ck_items_qty")  # <-


def downgrade():
    op.drop_constraint("ck_orders_qty", "orders", schema="sales", type_="check")
