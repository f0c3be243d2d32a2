# sluice-test: dialects = postgresql, sqlite
"""indexes of tables in a schema replaced, made by the revision itself, or losing a
column, all in that schema"""
from alembic import op

revision = "sl003_ok_replaced_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_orders__code", table_name="orders", schema="billing")
    op.create_index("ix_orders_code_v2", "orders", ["code"], schema="Billing")
    op.create_index("ix_items_sku_v2", "items", ["sku"], schema="billing")
    op.drop_index("ix_items__sku", table_name="items", schema="billing")
    op.drop_index("ix_lines__item_id", table_name="lines", schema="billing")
    op.rename_table("lines", "order_lines", schema="billing")
    op.create_index("ix_order_lines_item", "order_lines", ["item_id"], schema="billing")
    op.create_index("ix_tmp_lookup", "events", ["kind"], schema="audit")
    op.execute("CREATE INDEX ix_tmp_scan ON audit.events (kind, at)")
    op.drop_index("ix_tmp_lookup", table_name="events", schema="audit")
    op.drop_index("ix_tmp_scan", table_name="events", schema="audit")
    op.drop_index("ix_accounts_lookup", table_name="accounts", schema="billing")
    op.drop_column("accounts", "note", schema="billing")
    op.create_index("ix_accounts_lookup", "accounts", ["note"], schema="billing")


def downgrade():
    pass
