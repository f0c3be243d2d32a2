# sluice-test: dialects = postgresql
"""a table or a column of that name dropped in another schema does not take the index
with it"""
import sqlalchemy as sa
from alembic import op

revision = "sl202_bad_other_schema_dropped"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_audit_log_user_id", table_name="audit_log", schema="billing")  # <-
    op.drop_table("audit_log")
    op.drop_index("ix_events__at_", table_name="events", schema="audit")  # <-
    op.drop_column("events", "at")


def downgrade():
    pass
