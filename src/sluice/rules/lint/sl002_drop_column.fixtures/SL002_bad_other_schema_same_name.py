"""a column of a table in one schema is not the column of that name in another: adding it
there does not make the drop a revision's own column, a re-add or a copy-and-swap"""
import sqlalchemy as sa
from alembic import op

revision = "sl002_bad_other_schema_same_name"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("accounts", sa.Column("note", sa.Text(), nullable=True))
    op.drop_column("accounts", "note", schema="billing")  # <-
    op.add_column("accounts", sa.Column("memo", sa.Text()), schema="public")
    op.execute("ALTER TABLE accounts DROP COLUMN memo")  # <-
    op.add_column("accounts", sa.Column("tag", sa.Text()), schema="billing")
    op.execute("ALTER TABLE public.accounts DROP COLUMN tag")  # <-
    op.drop_column("accounts", "plan", schema="billing")  # <-
    op.add_column("accounts", sa.Column("plan", sa.Text()), schema="public")
    op.drop_column("accounts", "tier")  # <-
    op.add_column("accounts", sa.Column("tier", sa.Integer()), schema="billing")


def downgrade():
    pass
