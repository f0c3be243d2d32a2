# sluice-test: dialects = mysql
"""MySQL commits each DDL statement: between the drop and the unique constraint made after
it, queries on the column scan the table"""
from alembic import op

revision = "sl003_bad_replaced_after_mysql"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("node_instance_uuid", "nodes")  # <-
    op.create_unique_constraint("uniq_nodes0instance_uuid", "nodes", ["instance_uuid"])


def downgrade():
    pass
