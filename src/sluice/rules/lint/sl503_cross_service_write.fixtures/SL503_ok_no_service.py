"""a revision outside every service changes any table"""
import sqlalchemy as sa
from alembic import op

revision = "sl503_ok_no_service"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("nickname", sa.String(50), nullable=True))
    op.execute("UPDATE users SET nickname = 'x' WHERE id = 1")


def downgrade():
    op.drop_column("users", "nickname")
