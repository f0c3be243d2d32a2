# sluice-test: dialects = postgresql
"""a check dropped after SET NOT NULL on its column, on a table in a schema"""
import sqlalchemy as sa
from alembic import op

revision = "sl004_ok_not_null_check_in_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("users", "email", nullable=False, existing_type=sa.Text(),
                    schema="archive")
    op.drop_constraint("ck_users_email_not_null", "users", schema="Archive", type_="check")
    op.execute("ALTER TABLE archive.items ALTER COLUMN price SET NOT NULL")
    op.execute('ALTER TABLE "archive".items DROP CONSTRAINT ck_items_price_not_null')


def downgrade():
    pass
