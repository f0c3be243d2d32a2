# sluice-test: dialects = postgresql
"""a valid CHECK (col IS NOT NULL) an earlier revision added: validated here, or validated
earlier and dropped right after (one added here fails on NULL rows, see SL102_bad)"""
import sqlalchemy as sa
from alembic import op

revision = "sl102_ok_validated_check"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE items VALIDATE CONSTRAINT ck_items_price_not_null")
    op.execute("ALTER TABLE items ALTER COLUMN price SET NOT NULL")
    op.execute("ALTER TABLE items DROP CONSTRAINT ck_items_price_not_null")
    op.alter_column("users", "email", nullable=False, existing_type=sa.Text())
    op.drop_constraint("ck_users_email_not_null", "users", type_="check")


def downgrade():
    pass
