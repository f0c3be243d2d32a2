"""a server default given with the NOT NULL fills new rows, not the NULLs already there;
a backfill without the default leaves the running release's inserts failing"""
import sqlalchemy as sa
from alembic import op

revision = "sl102_bad_default_without_backfill"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("users", "email", nullable=False, existing_type=sa.String(length=255),  # <-
                    server_default="")
    op.execute("UPDATE users SET nick = 'x' WHERE id < 10")
    op.alter_column("users", "nick", nullable=False, server_default="x")  # <-
    op.execute("UPDATE users SET name = 'x' WHERE name IS NULL")
    op.alter_column("users", "name", nullable=False)  # <-


def downgrade():
    pass
