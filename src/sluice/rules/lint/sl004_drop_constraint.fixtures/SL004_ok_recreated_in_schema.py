# sluice-test: dialects = postgresql, sqlite
"""a constraint of a table in a schema dropped and created again on that table, its
schema written in any case, through a rename in that schema"""
from alembic import op

revision = "sl004_ok_recreated_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.drop_constraint("fk_orders_user", "orders", schema="Billing", type_="foreignkey")
    op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"],
                          source_schema="billing")
    op.drop_constraint("pk_invoices", "invoices", schema="billing", type_="primary")
    op.execute("ALTER TABLE billing.invoices ADD CONSTRAINT pk_invoices PRIMARY KEY (id)")
    op.drop_constraint("fk_lines__item_id__items", "lines", schema="billing",
                       type_="foreignkey")
    op.rename_table("lines", "order_lines", schema="billing")
    op.create_foreign_key("fk_lines_item_v2", "order_lines", "items", ["item_id"], ["id"],
                          source_schema="billing")


def downgrade():
    pass
