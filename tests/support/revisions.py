"""Revision file templates on examples/shop (``str.format`` with ``rev``, ``down``, ...)."""

from __future__ import annotations

SAFE = '''"""add users.nickname

Revision ID: {rev}
Revises: {down}
"""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"


def upgrade():
    op.add_column("users", sa.Column("{column}", sa.String(40), nullable=True))


def downgrade():
    op.drop_column("users", "{column}")
'''


DANGEROUS = '''"""drop users.legacy_field

Revision ID: {rev}
Revises: {down}
"""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"


def upgrade():
    op.drop_column("users", "legacy_field")


def downgrade():
    op.add_column("users", sa.Column("legacy_field", sa.String(50)))
'''
