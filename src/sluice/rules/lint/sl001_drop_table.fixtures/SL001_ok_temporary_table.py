"""a TEMPORARY table made for a data fix and dropped when done: the session's own table,
no data of the permanent one is lost"""
from alembic import op

revision = "sl001_ok_temporary_table"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TEMPORARY TABLE old_ids AS SELECT id FROM users WHERE legacy")
    op.execute("UPDATE users SET legacy = false WHERE id IN (SELECT id FROM old_ids)")
    op.execute("DROP TABLE old_ids")
    op.execute("CREATE TEMP TABLE seen AS SELECT id FROM orders")
    op.drop_table("seen")
    op.execute("CREATE TEMPORARY TABLE batch AS SELECT id FROM users; DROP TABLE batch")
    op.execute("DROP TABLE IF EXISTS pg_temp.daily_sales")  # made by a DO block
    op.execute("DROP TEMPORARY TABLE IF EXISTS work_ids")


def downgrade():
    pass
