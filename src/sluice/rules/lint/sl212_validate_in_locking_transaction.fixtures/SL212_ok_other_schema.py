"""a constraint added NOT VALID on the table of that name in another schema: no lock on this one"""
import sqlalchemy as sa
from alembic import op

revision = "sl212_ok_other_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_check_constraint("ck_orders_qty", "orders", "qty > 0", schema="archive",
                               postgresql_not_valid=True)
    op.execute("ALTER TABLE sales.orders VALIDATE CONSTRAINT ck_orders_qty")
    op.execute("ALTER TABLE archive.items ADD CONSTRAINT ck_items_qty CHECK (qty > 0) NOT VALID")
    op.execute("ALTER TABLE sales.items VALIDATE CONSTRAINT ck_items_qty")
    op.add_column("users", sa.Column("nick", sa.Text(), nullable=True), schema="archive")
    op.execute("ALTER TABLE sales.users VALIDATE CONSTRAINT ck_users_nick")


def downgrade():
    op.drop_constraint("ck_orders_qty", "orders", schema="archive", type_="check")
