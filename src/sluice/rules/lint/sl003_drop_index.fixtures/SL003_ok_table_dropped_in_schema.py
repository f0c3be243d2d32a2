"""a table dropped in its schema takes its indexes with it"""
import sqlalchemy as sa
from alembic import op

revision = "sl003_ok_table_dropped_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_audit_log_user_id", table_name="audit_log", schema="Billing")
    op.drop_table("audit_log", schema="billing")
    op.drop_index("ix_sessions_token", table_name="sessions", schema="archive")
    op.drop_index("ix_tokens_value", table_name="tokens", schema="audit")
    op.drop_index("ix_keys_value", table_name="keys")
    op.execute('DROP TABLE IF EXISTS archive.sessions, "Audit".tokens, keys CASCADE')
    op.drop_index("ix_events__at_", table_name="events", schema="audit")
    op.drop_column("events", "at", schema="audit")


def downgrade():
    pass
