# sluice-test: dialects = postgresql
"""a temporary copy dropped through pg_temp: the name is the permanent table's again"""
from alembic import op

revision = "sl501_bad_after_temporary_dropped_in_pg_temp"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TEMPORARY TABLE users AS SELECT * FROM users WHERE legacy")
    op.execute("DROP TABLE pg_temp.users")
    op.execute("UPDATE users SET legacy = false")  # <-


def downgrade():
    pass
