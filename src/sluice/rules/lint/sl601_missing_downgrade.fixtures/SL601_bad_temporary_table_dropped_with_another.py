# sluice-test: dialects = postgresql, mysql
"""a DROP that takes a permanent table along with the temporary one"""
from alembic import op

revision = "sl601_bad_temporary_table_dropped_with_another"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TEMPORARY TABLE old_ids AS SELECT id FROM users WHERE legacy")
    op.execute("UPDATE users SET legacy = false WHERE id IN (SELECT id FROM old_ids)")
    op.execute("DROP TABLE old_ids, legacy_users")


def downgrade():  # <-
    pass
