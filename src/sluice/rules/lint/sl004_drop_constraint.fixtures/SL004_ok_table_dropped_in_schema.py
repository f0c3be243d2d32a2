# sluice-test: dialects = postgresql
"""a table or a column dropped in its schema takes its constraints with it"""
import sqlalchemy as sa
from alembic import op

revision = "sl004_ok_table_dropped_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.drop_constraint("uq_accounts_email", "accounts", schema="billing", type_="unique")
    op.drop_table("accounts", schema="billing")
    op.execute("ALTER TABLE archive.orders DROP CONSTRAINT ck_orders_total")
    op.drop_table("orders", schema="archive")
    op.drop_constraint("fk_deployment__queue_id_", "deployment", schema="ops")
    op.execute("ALTER TABLE ops.deployment DROP COLUMN queue_id")


def downgrade():
    pass
