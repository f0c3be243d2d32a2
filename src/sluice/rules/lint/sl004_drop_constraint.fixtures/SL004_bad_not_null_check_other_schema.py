# sluice-test: dialects = postgresql
"""a check dropped after SET NOT NULL on the column of that name of the table of that name
in another schema still guarded its own table's column"""
import sqlalchemy as sa
from alembic import op

revision = "sl004_bad_not_null_check_other_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("users", "email", nullable=False, existing_type=sa.Text())
    op.drop_constraint("ck_users_email_not_null", "users", schema="archive",  # <-
                       type_="check")
    op.execute("ALTER TABLE archive.items ALTER COLUMN price SET NOT NULL")
    op.execute("ALTER TABLE items DROP CONSTRAINT ck_items_price_not_null")  # <-


def downgrade():
    pass
