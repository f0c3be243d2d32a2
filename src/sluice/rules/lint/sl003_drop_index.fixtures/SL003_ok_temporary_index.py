"""an index the revision creates for its own data migration, then drops"""
import sqlalchemy as sa
from alembic import op

revision = "sl003_ok_temporary_index"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_logins_ip_migration", "logins", ["ip_address"])
    op.execute("UPDATE logins SET ip = ip_address WHERE ip IS NULL")
    op.drop_index("ix_logins_ip_migration", table_name="logins")
    op.execute("CREATE INDEX tmp_ix_users_email ON users (email)")
    op.drop_index("tmp_ix_users_email", table_name="users")


def downgrade():
    pass
