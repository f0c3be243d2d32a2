"""Revision files outside ``lint.trees``: named on the command line (the pre-commit hook
names every staged file) they are linted anyway, with one line saying so; and ``sluice
lock`` never records one that lint has not looked at."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from sluice.integrations import hooks
from sluice.lint.results import Coverage, LintResult
from tests.support.cli import Result, run_cli

REVISION = '''
    """{rev}"""
    import sqlalchemy as sa
    from alembic import op

    revision = "{rev}"
    down_revision = {down!r}


    def upgrade():
        {body}


    def downgrade():
        pass
'''
CREATE = 'op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True), ' \
         'sa.Column("legacy", sa.String(50)))'
DROP = 'op.drop_column("users", "legacy")'


def write(folder: Path, rev: str, down: str | None, body: str) -> Path:
    path = folder / f"{rev}.py"
    path.write_text(textwrap.dedent(REVISION).lstrip().format(rev=rev, down=down, body=body))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Two version locations, `main` and `legacy`; `[lint] trees = ["main"]`."""
    for name in ("main", "legacy"):
        (tmp_path / "migrations" / name).mkdir(parents=True)
    (tmp_path / "migrations" / "env.py").write_text("")
    locations = os.pathsep.join(f"%(here)s/migrations/{n}" for n in ("main", "legacy"))
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n"
        f"version_locations = {locations}\n")
    (tmp_path / "sluice.toml").write_text('[lint]\ntrees = ["main"]\nrender = false\n')
    write(tmp_path / "migrations" / "main", "m1", None, CREATE)
    return tmp_path


def sluice(project: Path, *args: str) -> Result:
    result = run_cli([args[0], "-c", str(project / "alembic.ini"), *args[1:]],
                     env={"NO_COLOR": "1"})
    assert "Traceback" not in result.output, result.output
    return result


def test_a_named_revision_outside_lint_trees_is_linted_and_said(project: Path) -> None:
    legacy = write(project / "migrations" / "legacy", "l1", "m1", DROP)
    out = sluice(project, "lint", str(legacy))
    assert out.exit_code == 1, out.output
    assert "SL002 drop-column" in out.stdout
    notes = [line for line in out.stdout.splitlines() if "lint.trees" in line]
    assert len(notes) == 1, out.stdout
    assert "l1.py" in notes[0] and "linted because it was named" in notes[0]
    # in JSON too, as a note, with the finding
    out = sluice(project, "lint", "--format", "json", str(legacy))
    doc = json.loads(out.stdout)
    assert "SL002" in [f["rule"] for f in doc["findings"]]
    assert any("lint.trees" in n for n in doc["notes"])
    # a named file inside the trees: no such line
    out = sluice(project, "lint", str(project / "migrations" / "main" / "m1.py"))
    assert out.exit_code == 0 and "lint.trees" not in out.output, out.output


def test_lock_does_not_record_an_unlinted_revision_outside_lint_trees(project: Path) -> None:
    assert sluice(project, "lock").exit_code == 0  # the history as it is
    before = (project / "sluice.sum").read_text()
    write(project / "migrations" / "legacy", "l1", "m1", DROP)
    # plain lint keeps to lint.trees: the new revision is not in its scope
    assert sluice(project, "lint").exit_code == 0
    out = sluice(project, "lock")
    assert out.exit_code == 1, out.output
    assert "SL002 drop-column" in out.stdout
    assert "not recorded: 1 finding at or above lint.fail_on (error) in " \
           f"{os.path.relpath(project / 'migrations' / 'legacy' / 'l1.py')}" in out.stderr
    assert (project / "sluice.sum").read_text() == before


def test_lock_refuses_a_file_the_lint_did_not_read(project: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the reason a lint leaves a file out, the sum does not vouch for it."""
    assert sluice(project, "lock").exit_code == 0
    before = (project / "sluice.sum").read_text()
    write(project / "migrations" / "main", "m2", "m1", "pass")
    monkeypatch.setattr(hooks, "lint_files", lambda *a, **k: LintResult(
        findings=[], coverage=Coverage(), revisions=[]))
    out = sluice(project, "lock")
    assert out.exit_code == 2, out.output
    assert "not recorded: " in out.stderr and "m2.py was not linted" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 2  # the line, then what to do
    assert (project / "sluice.sum").read_text() == before
