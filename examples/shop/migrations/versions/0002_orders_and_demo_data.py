"""orders, and demo products outside production

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-17 09:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from sluice import only_in

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

products = sa.table(
    "products",
    sa.column("sku", sa.String),
    sa.column("name", sa.String),
    sa.column("price", sa.Numeric),
)


@only_in("dev", "test", "staging")
def seed_demo_products() -> None:
    op.bulk_insert(
        products,
        [
            {"sku": "DEMO-1", "name": "Demo mug", "price": 9.5},
            {"sku": "DEMO-2", "name": "Demo shirt", "price": 19.0},
        ],
    )


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_orders_user_id", "orders", ["user_id"], unique=False)
    seed_demo_products()


def downgrade() -> None:
    op.drop_table("orders")
    op.execute("DELETE FROM products WHERE sku LIKE 'DEMO-%'")
