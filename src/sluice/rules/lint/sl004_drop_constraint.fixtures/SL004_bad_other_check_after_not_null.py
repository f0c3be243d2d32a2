# sluice-test: dialects = postgresql
"""a check that guards something else than NOT NULL is lost when dropped, NOT NULL or not"""
import sqlalchemy as sa
from alembic import op

revision = "sl004_bad_other_check_after_not_null"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE items ADD CONSTRAINT ck_items_price CHECK (price > 0)")
    op.alter_column("items", "price", nullable=False, existing_type=sa.Integer())
    op.drop_constraint("ck_items_price", "items", type_="check")  # <-


def downgrade():
    pass
