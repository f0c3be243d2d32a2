# sluice-test: config = {"services": {"shared": {"tables": ["users"]}, "reporting": {"tables": ["report_*"], "version_location": "src/sluice/rules/lint/sl503_cross_service_write.fixtures", "version_table": "reporting_version"}}}
# sluice-test: severity = warning
"""reporting alters the shared service's users table"""
import sqlalchemy as sa
from alembic import op

revision = "sl503_bad_other_service"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("report_users", sa.Column("id", sa.Integer(), primary_key=True))
    op.add_column("users", sa.Column("report_flag", sa.Boolean(), nullable=True))  # <-
    op.execute("UPDATE users SET report_flag = false WHERE id > 0")  # <-


def downgrade():
    op.drop_column("users", "report_flag")
    op.drop_table("report_users")
