# sluice-test: dialects = postgresql, sqlite
"""a constraint created again on the table of that name in another schema does not put it
back on the table it was dropped from"""
from alembic import op

revision = "sl004_bad_recreated_in_other_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.drop_constraint("fk_orders_user", "orders", schema="billing", type_="foreignkey")  # <-
    op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"])
    op.drop_constraint("uq_orders__code", "orders", type_="unique")  # <-
    op.create_unique_constraint("uq_orders_code_v2", "orders", ["code"], schema="billing")
    op.drop_constraint("pk_invoices", "invoices", type_="primary")  # <-
    op.execute("ALTER TABLE billing.invoices ADD CONSTRAINT pk_invoices PRIMARY KEY (id)")
    op.execute("ALTER TABLE billing.payments DROP CONSTRAINT fk_payments_order")  # <-
    op.execute("ALTER TABLE payments ADD CONSTRAINT fk_payments_order "
               "FOREIGN KEY (order_id) REFERENCES orders (id)")
    op.drop_constraint("fk_lines__item_id__items", "lines", type_="foreignkey")  # <-
    op.rename_table("lines", "order_lines", schema="billing")
    op.create_foreign_key("fk_lines_item_v2", "order_lines", "items", ["item_id"], ["id"],
                          source_schema="billing")


def downgrade():
    pass
