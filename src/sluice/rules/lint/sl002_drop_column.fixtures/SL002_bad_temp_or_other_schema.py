"""a table in another schema does not make the table of that name new, nor does a TEMPORARY table once it is dropped"""
from alembic import op

revision = "sl002_bad_temp_or_other_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TEMPORARY TABLE tags_seen AS SELECT id, label FROM tags")
    op.execute("DROP TABLE tags_seen")
    op.drop_column("tags_seen", "label")  # <-
    op.execute("CREATE TEMP TABLE tags AS SELECT id FROM tags")
    op.drop_table("tags")
    op.execute("ALTER TABLE tags DROP COLUMN color")  # <-
    op.execute("CREATE TABLE audit.orders (id int, note text, memo text)")
    op.drop_column("orders", "note")  # <-
    op.execute("ALTER TABLE orders DROP COLUMN memo")  # <-
    op.drop_column("orders", "memo", schema="sales")  # <-


def downgrade():
    pass
