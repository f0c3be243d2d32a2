"""reporting: daily sales

Revision ID: r0001
Revises:
Create Date: 2026-01-12 09:30:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "r0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = ("reporting",)
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "report_daily_sales",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2), server_default="0",
                  nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("report_daily_sales")
