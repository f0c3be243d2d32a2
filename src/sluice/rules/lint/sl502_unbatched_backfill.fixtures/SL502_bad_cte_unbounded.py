# sluice-test: dialects = postgresql
"""a CTE without LIMIT or key bounds nothing; a bounded CTE the WHERE does not join either"""
import sqlalchemy as sa
from alembic import op

revision = "sl502_bad_cte_unbounded"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute(  # <-
        "WITH todo AS (SELECT id FROM flow_run WHERE state_name IS NULL) "
        "UPDATE flow_run SET state_name = 'x' FROM todo WHERE flow_run.id = todo.id")
    op.execute(  # <-
        "WITH todo AS (SELECT id FROM flow_run LIMIT 500) "
        "UPDATE flow_run SET state_name = 'x' FROM todo WHERE flow_run.state_name IS NULL")


def downgrade():
    pass
