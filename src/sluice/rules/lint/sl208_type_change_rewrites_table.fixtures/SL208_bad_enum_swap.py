"""an enum type swap written by hand: a value removed"""
from alembic import op

revision = "sl208_bad_enum_swap"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TYPE status RENAME TO status_old")
    op.execute("CREATE TYPE status AS ENUM ('active', 'closed')")
    op.execute("ALTER TABLE accounts ALTER COLUMN status TYPE status "  # <-
               "USING status::text::status")
    op.execute("DROP TYPE status_old")


def downgrade():
    pass
