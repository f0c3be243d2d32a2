"""A revision file that cannot be loaded (an import that fails, a syntax error): the runner
stops with one line naming the file and line, as ``sluice lint`` and env.py errors do, not
just ``upgrade head: <message>``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import SLUICE, run_process
from tests.support.runner import Rev, chain, make_project, write_revision

#: the revision, the text of the line the error names, the error
BROKEN = {
    "import": (Rev(id="r0003", header="from sluice import nothing_here\n", upgrade="pass"),
               "from sluice import nothing_here",
               "ImportError: cannot import name 'nothing_here' from 'sluice'"),
    "syntax": (Rev(id="r0003", upgrade="x = (1,"), "    x = (1,",
               "SyntaxError: '(' was never closed"),
}


@pytest.mark.parametrize("command", [["upgrade"], ["plan"], ["downgrade", "base", "-y"]])
@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_revision_that_cannot_be_loaded_is_named_with_its_line(
        tmp_path: Path, kind: str, command: list[str]) -> None:
    rev, text, message = BROKEN[kind]
    ini = make_project(tmp_path / "p", chain(2))
    path = write_revision(ini.parent / "migrations" / "versions", rev, "r0002")
    line = path.read_text().splitlines().index(text) + 1
    done = run_process([SLUICE, *command, "-c", ini], cwd=tmp_path / "p")
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith(
        f"sluice: error: migrations/versions/r0003.py:{line}: {message}"), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [["upgrade"], ["plan"], ["downgrade", "r0001", "-y"]])
def test_a_database_ahead_of_the_revision_files_says_so(tmp_path: Path,
                                                        command: list[str]) -> None:
    """The version table names a revision no file declares (a newer deploy applied it, or
    its file was removed): one line that says that, not Alembic's "Can't locate revision"."""
    root = tmp_path / "p"
    ini = make_project(root, chain(3))
    run_process([SLUICE, "upgrade", "-c", ini], cwd=root, check=True)
    (root / "migrations" / "versions" / "r0003.py").unlink()
    done = run_process([SLUICE, *command, "-c", ini], cwd=root)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == (
        "sluice: error: the database is at r0003 (its version table), which no revision file "
        "under migrations declares: a newer version of the code applied it, or its file was "
        "removed; nothing was changed"), done.stderr
    assert lines[1] == f"Run this from the code that has it: `sluice history -c {ini} " \
        "--env dev` shows who applied it and when."
