# sluice-test: dialects = sqlite
"""SQLite: a declared integer size is not enforced (INTEGER affinity)"""
import sqlalchemy as sa
from alembic import op

revision = "sl101_ok_sqlite_integer"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("users", "age", type_=sa.SmallInteger(),
                    existing_type=sa.Integer(), existing_nullable=True)
    op.alter_column("users", "flags", type_=sa.dialects.mysql.TINYINT(),
                    existing_type=sa.dialects.mysql.MEDIUMINT(), existing_nullable=True)


def downgrade():
    pass
