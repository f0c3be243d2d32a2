"""`sluice fix` removes the comment Sluice wrote above an op it warned about
(`dangerous_ops = "warn"`) when a recipe answers that finding; other comments stay."""

from __future__ import annotations

from sluice.recipes import RecipeContext, fix_source

SOURCE = '''"""index

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade():
    # keep me: the team's own note
    # sluice: error: creates index ix_users_age on users (age) without CONCURRENTLY; every write to the table waits until the index is built (SL201 create-index-non-concurrently)
    op.create_index("ix_users_age", "users", ["age"])
    # sluice: error: drops column users.status and its data (SL002 drop-column)
    op.drop_column("users", "status")


def downgrade():
    pass
'''


def test_the_warning_comment_of_a_fixed_op_goes() -> None:
    fix = fix_source(SOURCE, RecipeContext("postgresql"))
    assert fix.changed
    assert "postgresql_concurrently=True" in fix.after
    assert "without CONCURRENTLY" not in fix.after
    assert "# keep me: the team's own note" in fix.after
    # a finding no recipe answered keeps its comment
    assert "# sluice: error: drops column users.status" in fix.after
