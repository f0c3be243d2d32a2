"""while a TEMPORARY table exists, its name without a schema is that table (the session's
temporary tables are looked up first): dropping its columns loses no data of the
permanent table"""
from alembic import op

revision = "sl002_ok_temporary_table_shadows"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TEMPORARY TABLE tags AS SELECT id, label, color FROM tags")
    op.drop_column("tags", "label")
    op.execute("ALTER TABLE tags DROP COLUMN color")
    op.execute("DROP TABLE tags")


def downgrade():
    pass
