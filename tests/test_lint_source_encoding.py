"""A revision file in another encoding, declared as Python reads it (PEP 263: ``# -*-
coding: latin-1 -*-`` in its first two lines), is read as Python and Alembic read it; a
file that is not UTF-8 and declares nothing is still reported as not parsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.lint.engine import lint_project
from tests.support.cli import run_cli
from tests.support.lint import project

LATIN1 = '''# -*- coding: latin-1 -*-
"""Prix en \xe9uros

Revision ID: e001
Revises: a001
"""
from alembic import op

revision = "e001"
down_revision = "a001"


def upgrade():
    op.execute("UPDATE prices SET label = 'caf\xe9'")
    op.drop_column("prices", "old_label")


def downgrade():
    pass
'''


@pytest.fixture
def ini(tmp_path: Path) -> Path:
    ini = project(tmp_path)
    (tmp_path / "migrations" / "versions" / "e001.py").write_bytes(LATIN1.encode("latin-1"))
    return ini


def test_a_declared_encoding_is_read(ini: Path) -> None:
    result = lint_project(ini, use_cache=False)
    rep = {r.revision: r for r in result.revisions}["e001"]
    assert rep.status == "static", rep
    rules = {(f.rule, f.line) for f in result.findings if f.revision == "e001"}
    assert ("SL002", 15) in rules and not any(rule == "SL900" for rule, _ in rules)
    assert result.coverage.unparsed == 0


def test_the_file_named_on_the_command_line_is_found(ini: Path) -> None:
    path = ini.parent / "migrations" / "versions" / "e001.py"
    done = run_cli(["lint", "-c", ini, "--no-cache", str(path)])
    assert done.exit_code == 1, done.output
    assert "e001.py:15  error  SL002" in done.output


def test_undeclared_bytes_that_are_not_utf8_are_still_not_parsed(ini: Path) -> None:
    path = ini.parent / "migrations" / "versions" / "e001.py"
    path.write_bytes(LATIN1.split("\n", 1)[1].encode("latin-1"))  # no declaration
    result = lint_project(ini, use_cache=False)
    assert result.coverage.unparsed == 1
    (parse_error,) = [f for f in result.findings if f.rule == "SL900"]
    assert "not UTF-8" in parse_error.message


def test_upgrade_runs_it_as_alembic_does(tmp_path: Path) -> None:
    """``sluice upgrade`` (whose plan reads every file it will run) runs a revision that
    declares its encoding, as ``alembic upgrade`` does."""
    from tests.support.runner import Rev, add_revision, make_project

    ini = make_project(tmp_path / "proj", [Rev(id="a001", upgrade='op.create_table("prices", '
                       'sa.Column("id", sa.Integer(), primary_key=True), '
                       'sa.Column("label", sa.Text()))')])
    path = add_revision(ini, Rev(id="e001", upgrade="op.execute(\"UPDATE prices SET label = "
                                 "'caf\xe9'\")"), "a001")
    path.write_bytes(("# -*- coding: latin-1 -*-\n" + path.read_text()).encode("latin-1"))
    (Path(ini).parent / "app.db").touch()  # plan reads it: a missing file is exit 2
    plan = run_cli(["plan", "-c", ini])
    assert plan.exit_code == 0 and "e001" in plan.output, plan.output
    done = run_cli(["upgrade", "-c", ini])
    assert done.exit_code == 0, done.output


def test_upgrade_refuses_bytes_that_are_not_utf8_and_declare_nothing(tmp_path: Path) -> None:
    from tests.support.runner import Rev, add_revision, make_project

    ini = make_project(tmp_path / "proj", [Rev(id="a001", upgrade="pass")])
    path = add_revision(ini, Rev(id="e001", upgrade="op.execute(\"SELECT 'caf\xe9'\")"),
                        "a001")
    path.write_bytes(path.read_text().encode("latin-1"))
    done = run_cli(["upgrade", "-c", ini])
    assert done.exit_code == 2
    assert "e001.py:" in done.output and "utf-8" in done.output.lower()
    assert len(done.output.strip().splitlines()) == 1
