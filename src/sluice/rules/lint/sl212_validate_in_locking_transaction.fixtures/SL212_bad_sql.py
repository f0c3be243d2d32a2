"""a check added NOT VALID in SQL, a column added, then the check validated: one transaction"""
import sqlalchemy as sa
from alembic import op

revision = "sl212_bad_sql"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE orders ADD CONSTRAINT ck_qty CHECK (qty > 0) NOT VALID")
    op.execute('ALTER TABLE public.orders VALIDATE CONSTRAINT "ck_qty"')  # <-
    with op.get_context().autocommit_block():
        op.execute("SET lock_timeout = '5s'")
    op.add_column("orders", sa.Column("note", sa.Text(), nullable=True))
    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_other")  # <-


def downgrade():
    op.execute("ALTER TABLE orders DROP CONSTRAINT ck_qty")
