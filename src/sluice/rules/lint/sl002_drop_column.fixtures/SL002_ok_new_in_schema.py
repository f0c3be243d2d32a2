"""columns dropped from tables the revision created, in their own schema"""
import sqlalchemy as sa
from alembic import op

revision = "sl002_ok_new_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TABLE audit.orders (id int, note text, memo text)")
    op.drop_column("orders", "note", schema="audit")
    op.execute("ALTER TABLE audit.orders DROP COLUMN memo")
    op.create_table("events", sa.Column("id", sa.Integer()), sa.Column("tmp", sa.Text()),
                    schema="audit")
    op.drop_column("events", "tmp", schema="audit")
    op.execute('ALTER TABLE "audit"."events" DROP COLUMN tmp2')
    op.execute("CREATE UNLOGGED TABLE scratch (id int, tmp text)")
    op.drop_column("scratch", "tmp")


def downgrade():
    pass
