"""a column dropped and added again with another type; a column dropped twice"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.sql import table

revision = "sl002_bad_added_again"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("queries", sa.Column("old_schedule", sa.String(length=10), nullable=True))
    queries = table("queries", sa.Column("schedule", sa.String(length=10)),
                    sa.Column("old_schedule", sa.String(length=10)))
    op.execute(queries.update().values({"old_schedule": queries.c.schedule}))
    op.drop_column("queries", "schedule")  # <-
    op.add_column("queries", sa.Column("schedule", sa.Text(), nullable=False,
                                       server_default="{}"))
    op.drop_column("queries", "old_schedule")
    op.drop_column("users", "nick")  # <-
    op.add_column("users", sa.Column("nick", sa.Text()))
    op.drop_column("users", "nick")


def downgrade():
    pass
