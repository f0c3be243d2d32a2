"""a temporary column of a table in a schema, added, used and dropped in the same revision"""
import sqlalchemy as sa
from alembic import op

revision = "sl002_ok_own_column_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("accounts", sa.Column("tmp", sa.Text(), nullable=True), schema="Billing")
    op.execute("UPDATE billing.accounts SET tmp = name WHERE id > 0")
    op.drop_column("accounts", "tmp", schema="billing")
    op.add_column("accounts", sa.Column("tmp2", sa.Text()), schema="billing")
    op.execute('ALTER TABLE "billing"."accounts" DROP COLUMN tmp2')
    op.add_column("accounts", sa.Column("tmp3", sa.Text()))
    op.execute("ALTER TABLE accounts DROP COLUMN tmp3")


def downgrade():
    pass
