# sluice-test: dialects = mysql, postgresql, sqlite
"""an index dropped after a unique constraint (or index) on its columns was made: the table
is never without one, whether or not DDL is transactional"""
from alembic import op

revision = "sl003_ok_replaced_before"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_unique_constraint("uniq_nodes0instance_uuid", "nodes", ["instance_uuid"])
    op.drop_index("node_instance_uuid", "nodes")
    op.create_index("ix_ports_address_v2", "ports", ["address"])
    op.drop_index("ix_ports_address", table_name="ports")


def downgrade():
    pass
