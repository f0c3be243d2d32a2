# sluice-test: dialects = postgresql
"""a table or a column of that name dropped in another schema does not take the
constraint with it"""
import sqlalchemy as sa
from alembic import op

revision = "sl004_bad_other_schema_dropped"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.drop_constraint("uq_accounts_email", "accounts", schema="billing", type_="unique")  # <-
    op.drop_table("accounts")
    op.execute("ALTER TABLE archive.orders DROP CONSTRAINT ck_orders_total")  # <-
    op.drop_table("orders")
    op.drop_constraint("fk_deployment__queue_id_", "deployment", schema="ops")  # <-
    op.drop_column("deployment", "queue_id")


def downgrade():
    pass
