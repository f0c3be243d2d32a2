# sluice-test: dialects = mysql
"""a temporary table made in another database: the unqualified DROP removes the current
database's permanent table of that name"""
from alembic import op

revision = "sl601_bad_temporary_table_other_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TEMPORARY TABLE staging.old_ids AS SELECT id FROM users WHERE legacy")
    op.execute("UPDATE users SET legacy = false WHERE id IN (SELECT id FROM staging.old_ids)")
    op.execute("DROP TABLE old_ids")


def downgrade():  # <-
    pass
