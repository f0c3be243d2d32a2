# sluice-test: dialects = mysql, sqlite
"""naive to aware timestamps on MySQL and SQLite: no zone is stored, naive either way"""
import sqlalchemy as sa
from alembic import op

revision = "sl105_ok_timezone_no_zone"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("events", "created", existing_type=sa.DateTime(),
                    type_=sa.DateTime(timezone=True))


def downgrade():
    pass
