"""NULLs filled by sluice.data steps in the table of that name in another schema"""
import sqlalchemy as sa
from alembic import op

from sluice.data import backfill, batched_update

revision = "sl102_bad_data_step_other_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    batched_update("users", {"email": ""}, where=sa.column("email").is_(None),
                   schema="archive")
    backfill("orders", lambda rows: [{"ref": "r"} for _ in rows], ["ref"], schema="archive")
    batched_update("items", {"sku": ""}, schema="archive")
    op.alter_column("users", "email", nullable=False, server_default="")  # <-
    op.alter_column("orders", "ref", nullable=False, server_default="", schema="sales")  # <-
    op.alter_column("items", "sku", nullable=False, server_default="", schema="Archive")


def downgrade():
    pass
