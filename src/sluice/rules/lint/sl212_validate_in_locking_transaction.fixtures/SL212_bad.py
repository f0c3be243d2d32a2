"""a foreign key added NOT VALID and validated in the same transaction"""
import sqlalchemy as sa
from alembic import op

revision = "sl212_bad"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"],
                          postgresql_not_valid=True)
    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user")  # <-


def downgrade():
    op.drop_constraint("fk_orders_user", "orders", type_="foreignkey")
