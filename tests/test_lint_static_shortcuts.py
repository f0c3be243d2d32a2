"""Shortcuts the lint of thousands of revisions takes give what the long way gives.

Each cheap test that skips work (a text search, a copy of a finding) is compared with
the work it skips, on the revision files of the rule fixtures and on texts written to
reach every branch of it.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import pytest

from sluice.lint import needs
from sluice.lint.merge import copy_finding
from sluice.lint.model import Finding, Op

RULES = Path(__file__).resolve().parent.parent / "src" / "sluice" / "rules"


def _fixture_sources() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(RULES.rglob("*.py"))]


DIALECT_TEXTS = [
    "", "name", "name == 'x'", 'if name == "postgresql": pass',
    'if bind.dialect.name != "sqlite":\n    pass',
    'x = ctx.engine\n', 'x = engine\n', "if dialect in ('mysql',): pass",
    "dialect = 1", "dialect.name", "table_name != 'mysql'", "name=='mariadb'",
    "name  !=  'sqlite'", "op.get_bind().dialect", "# .engine in a comment",
    "n == 'postgresql'", "name\n== 'postgresql'", "rename == 'sqlite'",
]


@pytest.mark.parametrize("text", DIALECT_TEXTS)
def test_the_dialect_search_is_skipped_only_where_it_cannot_match(text: str) -> None:
    assert needs._reads_dialect(text) is (needs._DIALECT.search(text) is not None)


def test_the_dialect_search_shortcut_on_every_rule_fixture() -> None:
    sources = _fixture_sources()
    assert len(sources) > 100
    found = [needs._reads_dialect(s) for s in sources]
    assert found == [needs._DIALECT.search(s) is not None for s in sources]
    assert any(found) and not all(found)


def test_a_copied_finding_is_what_replace_makes() -> None:
    op = Op("drop_column", table="t", column="c", line=3)
    base = Finding("SL101", "drop-column", "error", "drops t.c", "fix", "/p/v/a.py", 3,
                   "a1", "postgresql", op=op, suppressed="reviewed", details="d")
    for changes in ({"dialect": None}, {"path": "v/a.py"}, {"path": None, "line": 7},
                    {}, {"op": None, "severity": "info"}):
        copied, replaced = copy_finding(base, **changes), replace(base, **changes)
        assert type(copied) is Finding and copied is not base
        assert vars(copied) == vars(replaced) and copied == replaced
        assert hash(copied) == hash(replaced)
    assert vars(base)["dialect"] == "postgresql"  # the original is unchanged
    with pytest.raises(TypeError):
        copy_finding(base, no_such_field=1)
    with pytest.raises(FrozenInstanceError):
        copy_finding(base, line=1).line = 2  # type: ignore[misc]
