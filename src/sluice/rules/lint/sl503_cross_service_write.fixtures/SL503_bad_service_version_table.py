# sluice-test: config = {"services": {"shared": {"tables": ["users"]}, "reporting": {"tables": ["report_*"], "version_location": "src/sluice/rules/lint/sl503_cross_service_write.fixtures", "version_table": "reporting_version"}}}
# sluice-test: dialects = postgresql
"""reporting writes to its own version table"""
from alembic import op

revision = "sl503_bad_service_version_table"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("TRUNCATE reporting_version")  # <-


def downgrade():
    pass
