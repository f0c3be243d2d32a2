"""an index created on the table of that name in another schema does not replace the
dropped one, nor is the dropped one this revision's own, nor are its columns that index's"""
from alembic import op

revision = "sl003_bad_replaced_in_other_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_orders__code", table_name="orders", schema="billing")  # <-
    op.create_index("ix_orders_code_v2", "orders", ["code"])
    op.create_index("ix_items_sku_v2", "items", ["sku"], schema="billing")
    op.drop_index("ix_items__sku", table_name="items")  # <-
    op.drop_index("ix_lines__item_id", table_name="lines")  # <-
    op.rename_table("lines", "order_lines", schema="billing")
    op.create_index("ix_order_lines_item", "order_lines", ["item_id"], schema="billing")
    op.create_index("ix_tmp_lookup", "events", ["kind"], schema="audit")
    op.execute("CREATE INDEX ix_tmp_scan ON audit.events (kind, at)")
    op.drop_index("ix_tmp_lookup", table_name="events")  # <-
    op.drop_index("ix_tmp_scan", table_name="events")  # <-
    op.drop_index("ix_accounts_lookup", table_name="accounts")  # <-
    op.drop_column("accounts", "note")
    op.create_index("ix_accounts_lookup", "accounts", ["note"], schema="billing")


def downgrade():
    pass
