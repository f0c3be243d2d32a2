# sluice-test: dialects = postgresql
"""a table or a column dropped in its schema: that drop takes the same lock"""
import sqlalchemy as sa
from alembic import op

revision = "sl202_ok_table_dropped_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_audit_log_user_id", table_name="audit_log", schema="billing")
    op.drop_table("audit_log", schema="billing")
    op.drop_index("ix_events__at_", table_name="events", schema="audit")
    op.drop_column("events", "at", schema="audit")


def downgrade():
    pass
