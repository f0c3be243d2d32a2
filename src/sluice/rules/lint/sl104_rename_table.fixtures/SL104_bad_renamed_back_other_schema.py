# sluice-test: dialects = postgresql, sqlite
"""renamed away in one schema and a same-named table renamed "back" in another: both
tables keep their new names"""
from alembic import op

revision = "sl104_bad_renamed_back_other_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.rename_table("server", "server_old", schema="billing")  # <-
    op.rename_table("server_old", "server")  # <-
    op.execute("ALTER TABLE audit.\"user\" RENAME TO user_old")  # <-
    op.execute("ALTER TABLE user_old RENAME TO \"user\"")  # <-


def downgrade():
    pass
