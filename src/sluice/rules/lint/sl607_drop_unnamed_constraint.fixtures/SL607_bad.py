"""an unnamed unique constraint, and a downgrade that cannot drop it"""
from alembic import op

revision = "sl607_bad"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_unique_constraint("uq_releases_version", "releases", ["version"])


def downgrade():
    op.drop_constraint(None, "releases", type_="unique")  # <-
