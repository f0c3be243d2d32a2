"""a batch loop that stops when a batch changed no row: rowcount is not data"""
import sqlalchemy as sa
from alembic import op

revision = "sl606_ok_rowcount_batch_loop"
down_revision = None
branch_labels = None
depends_on = None

BATCH = """
    WITH todo AS (SELECT id FROM users WHERE email IS NULL LIMIT 500)
    UPDATE users SET email = '' FROM todo WHERE users.id = todo.id
"""


def upgrade():
    with op.get_context().autocommit_block():
        conn = op.get_bind()
        while True:
            result = conn.execute(sa.text(BATCH))
            if result.rowcount <= 0:
                break
        while conn.execute(sa.text(BATCH)).rowcount:
            pass


def downgrade():
    pass
