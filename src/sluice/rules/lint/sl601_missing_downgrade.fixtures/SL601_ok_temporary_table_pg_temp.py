# sluice-test: dialects = postgresql
"""a table made in pg_temp is temporary: its unqualified name is that table until the drop"""
from alembic import op

revision = "sl601_ok_temporary_table_pg_temp"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TABLE pg_temp.old_ids AS SELECT id FROM users WHERE legacy")
    op.execute("UPDATE users SET legacy = false WHERE id IN (SELECT id FROM old_ids)")
    op.execute("DROP TABLE old_ids")
    op.execute("CREATE TEMPORARY TABLE new_ids AS SELECT id FROM users WHERE NOT legacy")
    op.execute("DROP TABLE pg_temp.new_ids")


def downgrade():
    pass
