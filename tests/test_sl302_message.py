"""SL302 does not claim a nullability change it cannot see."""

from __future__ import annotations

from pathlib import Path

from sluice.config import parse_config
from sluice.lint.registry import all_rules, run_rules
from sluice.lint.static import analyze_file

REVISION = '''"""r"""
import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None


def upgrade():
    op.alter_column("sf", "hours", existing_type=sa.Integer(), nullable=True)
    op.alter_column("sf", "days", existing_type=sa.Integer(), nullable=False)
'''


def test_nullable_true_without_existing_nullable_is_not_called_a_change(
        tmp_path: Path) -> None:
    path = tmp_path / "r1.py"
    path.write_text(REVISION, encoding="utf-8")
    config = parse_config({"lint": {"target_mysql_version": "5.7"}})
    found = {f.line: f.message for f in run_rules(
        analyze_file(path).ops, config, dialect="mysql", rules=[all_rules()["SL302"]])}
    assert "changing NULL/NOT NULL" not in found[10]
    assert "making sf.hours NULL (a rebuild if it was NOT NULL; existing_nullable=True " \
           "says it already allows NULL)" in found[10]
    assert "changing NULL/NOT NULL of sf.days" in found[11]
