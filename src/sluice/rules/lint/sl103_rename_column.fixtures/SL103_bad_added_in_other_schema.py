"""a column of that name added to the table of that name in another schema is not the
renamed one: running code knows the renamed column"""
import sqlalchemy as sa
from alembic import op

revision = "sl103_bad_added_in_other_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("nick_name", sa.String(length=50)), schema="archive")
    op.alter_column("users", "nick_name", new_column_name="nickname")  # <-
    op.add_column("users", sa.Column("handle", sa.String(length=50)))
    op.alter_column("users", "handle", new_column_name="login", schema="archive")  # <-
    op.execute("ALTER TABLE archive.orders ADD COLUMN ref_no varchar(20)")
    op.execute("ALTER TABLE orders RENAME COLUMN ref_no TO reference")  # <-


def downgrade():
    pass
