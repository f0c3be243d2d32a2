# sluice-test: config = {"services": {"shared": {"tables": ["users"]}, "reporting": {"tables": ["report_*"], "version_location": "src/sluice/rules/lint/sl503_cross_service_write.fixtures", "version_table": "reporting_version"}}}
"""reporting changes its own tables and reads the shared ones"""
import sqlalchemy as sa
from alembic import op

revision = "sl503_ok"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("report_daily", sa.Column("id", sa.Integer(), primary_key=True))
    op.add_column("report_daily", sa.Column("user_id", sa.Integer(), nullable=True))
    op.create_foreign_key("fk_report_daily_user", "report_daily", "users", ["user_id"], ["id"])
    op.execute("INSERT INTO report_daily (id, user_id) SELECT id, id FROM users WHERE id > 0")
    op.execute("SELECT version_num FROM alembic_version")


def downgrade():
    op.drop_table("report_daily")
