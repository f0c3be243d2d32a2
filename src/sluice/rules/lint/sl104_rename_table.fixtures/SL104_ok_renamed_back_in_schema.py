# sluice-test: dialects = postgresql, sqlite
"""renamed away and straight back within one schema, in one transaction"""
from alembic import op

revision = "sl104_ok_renamed_back_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.rename_table("server", "server_old", schema="billing")
    op.rename_table("server_old", "server", schema="billing")
    op.execute("ALTER TABLE audit.\"user\" RENAME TO user_old")
    op.execute("ALTER TABLE audit.user_old RENAME TO \"user\"")


def downgrade():
    pass
