"""billing: invoices and payments

Revision ID: b0001
Revises:
Create Date: 2026-01-12 09:10:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "b0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = ("billing",)
# invoices.user_id references users: the shared branch must be applied first.
depends_on: Union[str, Sequence[str], None] = "s0001"

invoice_status = sa.Enum("draft", "sent", "paid", name="invoice_status")


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), server_default="0",
                  nullable=False),
        sa.Column("status", invoice_status, server_default="draft", nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_invoices_user_id"), "invoices", ["user_id"], unique=False)
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("paid_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_payments_invoice_id"), "payments", ["invoice_id"], unique=False)


def downgrade() -> None:
    # drop_table drops the indexes too (MySQL refuses to drop an index a foreign key needs).
    op.drop_table("payments")
    op.drop_table("invoices")
    invoice_status.drop(op.get_bind(), checkfirst=True)
