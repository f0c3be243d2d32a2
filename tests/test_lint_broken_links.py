"""SL906: a ``down_revision`` no file declares, or a cycle, is a lint finding on the line
of ``down_revision`` (lint said "no findings" on a history no command can load)."""

from __future__ import annotations

from pathlib import Path

from sluice.lint.engine import lint_project
from tests.support.cli import SLUICE, run_process
from tests.support.runner import chain, make_project


def _set_down(path: Path, old: str, new: str) -> int:
    text = path.read_text()
    path.write_text(text.replace(f"down_revision = {old}", f"down_revision = {new}"))
    return text.splitlines().index(f"down_revision = {old}") + 1


def test_a_down_revision_naming_no_file(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "proj", chain(3))
    path = ini.parent / "migrations" / "versions" / "r0003.py"
    line = _set_down(path, "'r0002'", "'nowhere'")
    res = lint_project(ini, use_cache=False)
    found = [f for f in res.findings if f.rule == "SL906"]
    assert [(Path(f.path or "").name, f.line, f.severity) for f in found] == [
        ("r0003.py", line, "error")]
    assert "down_revision 'nowhere' of revision r0003 names no revision file" in found[0].message
    scoped = lint_project(ini, use_cache=False, revisions=["r0001"])
    assert not [f for f in scoped.findings if f.rule == "SL906"]
    done = run_process([SLUICE, "lint"], cwd=ini.parent)
    assert done.returncode == 1 and "SL906" in done.stdout, done.stdout + done.stderr


def test_a_cycle(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "proj", chain(3))
    path = ini.parent / "migrations" / "versions" / "r0001.py"
    line = _set_down(path, "None", "'r0003'")
    res = lint_project(ini, use_cache=False)
    found = [f for f in res.findings if f.rule == "SL906"]
    assert len(found) == 1, [f.message for f in res.findings]
    assert (Path(found[0].path or "").name, found[0].line) == ("r0001.py", line)
    assert "revision cycle r0001 -> r0003 -> r0002 -> r0001" in found[0].message


def test_a_sound_history_has_none(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "proj", chain(3))
    assert not [f for f in lint_project(ini, use_cache=False).findings if f.rule == "SL906"]
