# sluice-test: dialects = mysql
"""a temporary table made in a database and dropped there: nothing in the schema to undo"""
from alembic import op

revision = "sl601_ok_temporary_table_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TEMPORARY TABLE staging.old_ids AS SELECT id FROM users WHERE legacy")
    op.execute("UPDATE users SET legacy = false WHERE id IN (SELECT id FROM staging.old_ids)")
    op.execute("DROP TABLE Staging.Old_Ids")


def downgrade():
    pass
