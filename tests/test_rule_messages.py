"""Finding messages read as one sentence (SL001 said "drops table users deletes users and
all its rows")."""

from __future__ import annotations

from pathlib import Path

from sluice.lint.engine import lint_project
from tests.support.runner import Rev, chain, make_project


def test_drop_table_message(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "proj", [*chain(1), Rev("r0002", 'op.drop_table("t0001")')])
    (found,) = [f for f in lint_project(ini, use_cache=False).findings if f.rule == "SL001"]
    assert found.message == ("drops table t0001 and all its rows; code still reading it "
                             "fails at once")
