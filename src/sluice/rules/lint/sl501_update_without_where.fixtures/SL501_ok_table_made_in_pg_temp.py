# sluice-test: dialects = postgresql
"""a table made in pg_temp is temporary: its name without a schema is that table"""
from alembic import op

revision = "sl501_ok_table_made_in_pg_temp"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TABLE pg_temp.orders AS SELECT * FROM orders WHERE legacy")
    op.execute("UPDATE orders SET legacy = false")
    op.execute("UPDATE pg_temp.orders SET legacy = true")
    op.execute("CREATE TABLE pg_temp.carts AS SELECT * FROM carts WHERE legacy; "
               "UPDATE carts SET legacy = false")


def downgrade():
    pass
