"""an index dropped with its column: the column's drop takes the same lock"""
import sqlalchemy as sa
from alembic import op

revision = "sl202_ok_column_dropped"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("si_search_vector_idx", table_name="signal_instance", postgresql_using="gin")
    op.drop_column("signal_instance", "search_vector")


def downgrade():
    op.add_column("signal_instance", sa.Column("search_vector", sa.Text(), nullable=True))
