# sluice-test: dialects = mysql
"""MySQL 8 rejects ADD COLUMN / CREATE INDEX ... IF NOT EXISTS: not re-runnable there"""
import sqlalchemy as sa
from alembic import op

revision = "sl303_bad_mysql_if_not_exists"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_users_bio", "users", ["bio"], mysql_length=100, if_not_exists=True)  # <-
    op.add_column("users", sa.Column("avatar", sa.String(length=200), nullable=True),
                  if_not_exists=True)
    op.create_foreign_key("fk_users_org", "users", "orgs", ["org_id"], ["id"])


def downgrade():
    pass
