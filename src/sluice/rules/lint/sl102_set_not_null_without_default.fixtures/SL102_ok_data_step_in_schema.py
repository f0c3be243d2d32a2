"""NULLs filled first by sluice.data steps in the same schema's table, with a server default"""
import sqlalchemy as sa
from alembic import op

from sluice.data import backfill, batched_update

revision = "sl102_ok_data_step_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    batched_update("users", {"email": ""}, where=sa.column("email").is_(None),
                   schema="archive")
    backfill("orders", lambda rows: [{"ref": "r"} for _ in rows], ["ref"], schema=None)
    batched_update("Items", {"sku": ""}, schema="Archive")
    op.alter_column("users", "email", nullable=False, server_default="", schema="archive")
    op.alter_column("orders", "ref", nullable=False, server_default="")
    op.alter_column("items", "sku", nullable=False, server_default="", schema="archive")


def downgrade():
    pass
