"""a data-only revision that turns SQLite's foreign key checks off and on around its work"""
import sqlalchemy as sa
from alembic import op

revision = "sl601_ok_pragma_data_only"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("PRAGMA foreign_keys=OFF")
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id FROM artifact_collection LIMIT 500")).fetchall()
    for row in rows:
        conn.execute(sa.text("UPDATE artifact_collection SET data = '' WHERE id = :id"),
                     {"id": row[0]})
    op.execute("PRAGMA foreign_keys=ON")


def downgrade():
    """Data-only migration, no action needed."""
