"""a data fix through a temporary table: nothing in the schema to undo"""
from alembic import op

revision = "sl601_ok_temporary_table"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TEMPORARY TABLE old_ids AS SELECT id FROM users WHERE legacy")
    op.execute("UPDATE users SET legacy = false WHERE id IN (SELECT id FROM old_ids)")
    op.execute("DROP TABLE old_ids")


def downgrade():
    pass
