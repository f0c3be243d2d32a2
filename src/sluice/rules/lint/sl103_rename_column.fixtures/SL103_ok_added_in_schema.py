"""a column added earlier in the same revision to a table in a schema is renamed there"""
import sqlalchemy as sa
from alembic import op

revision = "sl103_ok_added_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("nick_name", sa.String(length=50)), schema="Archive")
    op.alter_column("users", "nick_name", new_column_name="nickname", schema="archive")
    op.execute("ALTER TABLE archive.orders ADD COLUMN ref_no varchar(20)")
    op.execute('ALTER TABLE "archive"."orders" RENAME COLUMN ref_no TO reference')


def downgrade():
    pass
