# sluice-test: dialects = postgresql, sqlite
"""batched loops: each UPDATE is joined on its key to a CTE of one batch (LIMIT, or one id)"""
import sqlalchemy as sa
from alembic import op

revision = "sl502_ok_cte_batch_loop"
down_revision = None
branch_labels = None
depends_on = None

BATCH = """
    WITH todo AS (SELECT id FROM flow_run WHERE state_name IS NULL LIMIT 500)
    UPDATE flow_run
    SET state_name = flow_run_state.name
    FROM flow_run_state, todo
    WHERE flow_run.state_id = flow_run_state.id
    AND flow_run.id = todo.id
"""

ONE_ROW = """
    WITH one AS (SELECT * FROM artifact_collection WHERE id = :id)
    UPDATE artifact_collection
    SET data = artifact.data
    FROM artifact, one
    WHERE artifact_collection.latest_id = artifact.id
    AND artifact.id = one.latest_id
"""


def upgrade():
    with op.get_context().autocommit_block():
        conn = op.get_bind()
        while True:
            result = conn.execute(sa.text(BATCH))
            if result.rowcount <= 0:
                break
        op.execute(sa.text(
            "UPDATE orders SET total = s.total FROM (SELECT id, total FROM sums "
            "ORDER BY id LIMIT 1000) AS s WHERE orders.id = s.id"))
        for row_id in range(10):
            conn.execute(sa.text(ONE_ROW), {"id": row_id})


def downgrade():
    pass
