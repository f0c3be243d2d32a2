"""SL703 unnamed-constraint says what holds on the dialect linted (on PostgreSQL: the name
it will get), not a portability concern a one-database project does not have."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.config import SluiceConfig
from sluice.lint.registry import all_rules, run_rules
from sluice.lint.static import analyze_file

REVISION = '''"""r"""
from alembic import op

revision = "r9"
down_revision = None


def upgrade():
    op.create_unique_constraint(None, "releases", ["project_id", "version"])
'''


@pytest.mark.parametrize(("dialect", "says"), [
    ("postgresql", "PostgreSQL names it releases_project_id_version_key (another name"),
    ("mysql", "MySQL picks the name, and a later revision"),
    ("sqlite", "SQLite keeps no name for it, so batch mode cannot drop it"),
])
def test_the_message_is_the_dialect_s(tmp_path: Path, dialect: str, says: str) -> None:
    path = tmp_path / "r9.py"
    path.write_text(REVISION, encoding="utf-8")
    (f,) = run_rules(analyze_file(path).ops, SluiceConfig(), dialect=dialect,
                     rules=[all_rules()["SL703"]])
    assert says in f.message and "portabl" not in f.message
