"""`sluice fix` removes the comment Sluice wrote above an op it warned about
(`dangerous_ops = "warn"`) when a recipe answers that finding; other comments stay."""

from __future__ import annotations

from pathlib import Path

from sluice.config import SluiceConfig
from sluice.lint.fixmemo import FixMemo
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


MERGED = '''"""indexes

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade():
    op.create_index("ix_users_age", "users", ["age"])  # lookups by age
    op.create_index("ix_users_nick", "users", ["nick"])
    op.alter_column("users", "email", existing_type=sa.String(200), nullable=False)  # tighten


def downgrade():
    pass
'''


def _above(lines: list[str], comment: str) -> tuple[str, str]:
    """The comment line itself and the line after it."""
    at = next(i for i, line in enumerate(lines) if line.strip() == comment)
    return lines[at], lines[at + 1]


def test_a_call_s_comment_stays_beside_its_own_rewrite(tmp_path: Path) -> None:
    """Calls rewritten as one block: each trailing comment goes above the lines of its
    own call, not above the whole block; the memo of `sluice lint` draws the same."""
    after = fix_source(MERGED, RecipeContext("postgresql")).after
    lines = after.splitlines()
    comment, first = _above(lines, "# lookups by age")
    assert (comment, first) == ("    # lookups by age",
                                "    with op.get_context().autocommit_block():")
    comment, first = _above(lines, "# tighten")
    assert comment == "        # tighten"
    assert first.startswith("        op.execute(") and "DO $$" in lines[lines.index(first) + 1]
    assert "ck_users_email_not_null" in "".join(lines[lines.index(first):][:4])
    config = SluiceConfig()
    for _ in range(2):  # drawn afresh, then from the memo
        memo = FixMemo(tmp_path, config, None)
        drawn = memo.draw(MERGED, path="0003.py", dialect="postgresql").after
        memo.save()
        assert drawn == after
    assert memo.hits == 1
