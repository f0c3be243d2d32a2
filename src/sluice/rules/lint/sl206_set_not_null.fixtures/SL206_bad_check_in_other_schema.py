"""a valid CHECK (col IS NOT NULL) on the table of that name in another schema does not
spare this table the scan"""
import sqlalchemy as sa
from alembic import op

revision = "sl206_bad_check_in_other_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE archive.orders ADD CONSTRAINT ck_orders_total_nn "
               "CHECK (total IS NOT NULL) NOT VALID")
    op.execute("ALTER TABLE archive.orders VALIDATE CONSTRAINT ck_orders_total_nn")
    op.alter_column("orders", "total", nullable=False, existing_type=sa.Integer())  # <-
    op.execute("ALTER TABLE archive.items VALIDATE CONSTRAINT ck_items_price_not_null")
    op.execute("ALTER TABLE items ALTER COLUMN price SET NOT NULL")  # <-
    op.alter_column("users", "email", nullable=False, existing_type=sa.Text())  # <-
    op.drop_constraint("ck_users_email_not_null", "users", schema="archive", type_="check")
    op.execute("""
DO $$ BEGIN
  ALTER TABLE archive.accounts ADD CONSTRAINT ck_accounts_plan_nn CHECK (plan IS NOT NULL);
END $$""")
    op.execute("ALTER TABLE accounts ALTER COLUMN plan SET NOT NULL")  # <-


def downgrade():
    pass
