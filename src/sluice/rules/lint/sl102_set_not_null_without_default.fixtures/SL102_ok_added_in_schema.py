"""columns of tables in a schema added with a default, or backfilled, then made NOT NULL
there"""
import sqlalchemy as sa
from alembic import op

revision = "sl102_ok_added_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("orders", sa.Column("status", sa.Text(), server_default="new"),
                  schema="Archive")
    op.alter_column("orders", "status", nullable=False, schema="archive")
    op.execute("ALTER TABLE archive.invoices ADD COLUMN state VARCHAR(20) DEFAULT 'open'")
    op.alter_column("invoices", "state", nullable=False, schema="archive")
    op.execute('UPDATE "archive"."users" SET plan = \'free\' WHERE plan IS NULL')
    op.alter_column("users", "plan", nullable=False, server_default="free", schema="archive")
    accounts = sa.table("accounts", sa.column("tier"), schema="archive")
    op.execute(accounts.update().values(tier="basic"))
    op.alter_column("accounts", "tier", nullable=False, server_default="basic",
                    schema="archive")


def downgrade():
    pass
