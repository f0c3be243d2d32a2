# sluice-test: dialects = sqlite
"""a table made in SQLite's temp schema is temporary: its unqualified name is that table"""
from alembic import op

revision = "sl601_ok_temporary_table_sqlite_temp"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TABLE temp.old_ids AS SELECT id FROM users WHERE legacy")
    op.execute("UPDATE users SET legacy = 0 WHERE id IN (SELECT id FROM old_ids)")
    op.execute("DROP TABLE old_ids")


def downgrade():
    pass
