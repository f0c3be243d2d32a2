"""a column of that name added with a default, or backfilled, in the table of that name in
another schema leaves the NULLs of this one"""
import sqlalchemy as sa
from alembic import op

revision = "sl102_bad_other_schema_same_name"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("orders", sa.Column("status", sa.Text(), server_default="new"),
                  schema="archive")
    op.alter_column("orders", "status", nullable=False)  # <-
    op.execute("ALTER TABLE archive.invoices ADD COLUMN state VARCHAR(20) DEFAULT 'open'")
    op.alter_column("invoices", "state", nullable=False)  # <-
    op.execute("UPDATE archive.users SET plan = 'free' WHERE plan IS NULL")
    op.alter_column("users", "plan", nullable=False, server_default="free")  # <-
    accounts = sa.table("accounts", sa.column("tier"), schema="archive")
    op.execute(accounts.update().values(tier="basic"))
    op.alter_column("accounts", "tier", nullable=False, server_default="basic")  # <-


def downgrade():
    pass
