"""a read over several lines is one finding, at the line of its .fetchall()"""
import sqlalchemy as sa
from alembic import op

revision = "sl606_bad_multiline_read"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    conn = op.get_bind()
    rows = (
        conn.execute(
            sa.text("SELECT id, tags FROM policy"),
        )
    ).fetchall()  # <-
    for row in rows:
        conn.execute(sa.text("UPDATE policy SET tags = :t WHERE id = :id"),
                     {"t": row[1], "id": row[0]})


def downgrade():
    pass
