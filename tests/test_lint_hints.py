"""The commands ``sluice lint`` tells the user to run (``sluice lock`` in its notes, ``sluice
fix`` under a finding a recipe answers and in its summary, ``sluice check --only
checksums`` when the sum file is broken) repeat the options the lint was given (``-c``,
``-n``, ``-x``, the environment as ``--env``), so that copying one acts on the same
alembic.ini section, with the same environment.

``sluice lint -c ../conf/alembic.ini -n reporting -x tenant=acme --env test`` printed
``sluice fix -c ../conf/alembic.ini -n reporting --dialect postgresql`` (no ``-x``, no
``--env``: the fix wrote the lock timeout of the production environments, not the
``7s`` of ``test`` its diff showed), ``sluice lock -c ... -n reporting`` (no ``-x``,
``--env``), the heading ``available fix (sluice fix -n reporting ...)`` without ``-c``,
and for a broken sum file ``sluice check --only checksums`` and ``sluice lock -n
reporting`` without ``-c``: run from the working folder they found no alembic.ini. Each
test here runs the printed commands exactly as printed on a project whose alembic.ini is
outside the working folder and checks that they did what the message says.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.support.sections import (
    TENANT,
    SectionsProject,
    printed_commands,
    run_printed,
    sections_project,
)

#: A revision a PostgreSQL recipe rewrites (SL201: the index is built concurrently, under
#: the environment's lock timeout).
INDEX = ('op.create_index("ix_ds", "daily_sales", ["id"])',
         'op.drop_index("ix_ds", table_name="daily_sales")')


def _only(found: list[list[str]], *words: str) -> list[str]:
    """The one printed command containing ``words`` in this order."""
    matches = [argv for argv in found
               if any(argv[i:i + len(words)] == list(words) for i in range(len(argv)))]
    assert len(matches) == 1, found
    return matches[0]


def _options_repeated(argv: list[str], project: SectionsProject) -> None:
    """The command names the project's alembic.ini, the section, the ``-x`` and the
    environment the lint was given."""
    text = " ".join(argv)
    assert f"-c {project.ini_arg}" in text, argv
    assert "-n reporting" in text, argv
    assert f"-x {TENANT}" in text, argv
    assert "--env test" in text, argv


def _project(tmp_path: Path, *, index: bool = True) -> SectionsProject:
    """The two-section project linted for PostgreSQL, ``test`` with a lock timeout of its
    own (the production environments have none: a fix without ``--env test`` writes the
    default); ``index``: with revision ``r2`` creating an index (:data:`INDEX`)."""
    project = sections_project(tmp_path)
    toml = project.conf / "sluice.toml"
    toml.write_text(toml.read_text()
                    .replace("[environments.test]\n",
                             '[environments.test]\nlock_timeout = "7s"\n')
                    + '\n[lint]\ndialects = ["postgresql"]\n')
    if index:
        project.revision("r2", "r1", *INDEX)
    return project


def _lint(project: SectionsProject, *args: str) -> tuple[int, str]:
    done = project.sluice("lint", *project.options(), "--no-cache", *args)
    return done.exit_code, done.stdout + done.stderr


def _fix(found: list[list[str]], *, diff: bool) -> list[str]:
    """The one printed ``sluice fix`` command with (or without) ``--diff`` (a bare
    `sluice fix` is prose: "left alone by `sluice fix`")."""
    matches = [a for a in found if a[:2] == ["sluice", "fix"] and len(a) > 2
               and ("--diff" in a) == diff]
    assert len(matches) == 1, found
    return matches[0]


def test_the_fix_commands_of_a_finding_rewrite_it_as_shown(tmp_path: Path) -> None:
    project = _project(tmp_path)
    code, shown = _lint(project, "--show-fixes")
    assert code == 1 and "7s" in shown, shown  # the diff uses the lock timeout of --env test
    [heading] = re.findall(r"available fix \((sluice fix[^)]*)\):", shown)
    code, out = _lint(project)
    assert code == 1, out
    found = printed_commands(out, "sluice")
    diff, fix = _fix(found, diff=True), _fix(found, diff=False)
    for argv in (diff, fix, shlex.split(heading)):
        _options_repeated(argv, project)
    assert shlex.split(heading) == fix

    shown_again = run_printed(project, diff)
    assert shown_again.exit_code == 1, shown_again.output
    assert "7s" in shown_again.stdout, shown_again.output
    assert "reporting/versions/r2.py" in shown_again.stdout, shown_again.output
    main_before = (project.versions("alembic") / "m1.py").read_text()
    done = run_printed(project, fix)
    assert done.exit_code == 0, done.output
    r2 = (project.versions() / "r2.py").read_text()
    assert "postgresql_concurrently=True" in r2 and "7s" in r2, r2
    assert (project.versions("alembic") / "m1.py").read_text() == main_before
    code, out = _lint(project)
    assert "SL201" not in out, out


def test_the_note_without_a_sum_file_locks_the_linted_section(tmp_path: Path) -> None:
    project = _project(tmp_path)
    code, out = _lint(project)
    assert "note: no sluice.reporting.sum" in out, out
    lock = _only(printed_commands(out, "sluice"), "lock")
    _options_repeated(lock, project)
    assert run_printed(project, lock).exit_code == 0
    assert (project.conf / "sluice.reporting.sum").is_file()
    assert not (project.conf / "sluice.sum").exists()
    code, out = _lint(project)
    assert code == 0 and "2 revisions recorded in sluice.reporting.sum not linted" in out, out


def test_the_commands_for_a_locked_finding_fix_and_relock_the_section(tmp_path: Path) -> None:
    project = _project(tmp_path)
    locked = project.sluice("lock", *project.options())
    assert locked.exit_code == 0, locked.output
    code, out = _lint(project, "--all")
    assert code == 1 and "recorded in sluice.reporting.sum" in out, out
    found = printed_commands(out, "sluice")
    diff, fix, lock = _fix(found, diff=True), _fix(found, diff=False), _only(found, "lock")
    for argv in (diff, fix, lock):
        _options_repeated(argv, project)
        assert "--include-locked" in argv or argv is lock, argv

    assert run_printed(project, diff).exit_code == 1
    assert run_printed(project, fix).exit_code == 0
    r2 = (project.versions() / "r2.py").read_text()
    assert "postgresql_concurrently=True" in r2 and "7s" in r2, r2
    relocked = run_printed(project, lock)
    assert relocked.exit_code == 0, relocked.output
    checked = project.sluice("check", *project.options(), "--only", "checksums")
    assert checked.exit_code == 0, checked.output


def test_a_broken_sum_file_points_at_commands_on_the_linted_section(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert project.sluice("lock", *project.options()).exit_code == 0
    sum_file = project.conf / "sluice.reporting.sum"
    text = sum_file.read_text()
    sum_file.write_text(f"<<<<<<< HEAD\n{text}=======\n{text}>>>>>>> other\n")
    code, out = _lint(project)
    assert code == 2, out
    found = printed_commands(out, "sluice")
    check, lock = _only(found, "--only", "checksums"), _only(found, "lock")
    for argv in (check, lock):
        _options_repeated(argv, project)
    checked = run_printed(project, check)
    assert checked.exit_code == 1 and "sluice.reporting.sum" in checked.output, checked.output
    assert run_printed(project, lock).exit_code == 0
    assert "<<<<<<<" not in sum_file.read_text()
    code, out = _lint(project)
    assert code == 0 and "recorded in sluice.reporting.sum not linted" in out, out


def test_the_lock_gate_s_fix_hint_fixes_the_revision_it_refused(tmp_path: Path) -> None:
    project = _project(tmp_path, index=False)
    assert project.sluice("lock", *project.options()).exit_code == 0
    project.revision("r2", "r1", *INDEX)
    refused = project.sluice("lock", *project.options())
    assert refused.exit_code == 1 and "not recorded: 1 finding" in refused.stderr, refused.output
    found = printed_commands(refused.stderr, "sluice")
    fix, lock = _fix(found, diff=False), _only(found, "--no-lint")
    for argv in (fix, lock):
        _options_repeated(argv, project)
    assert run_printed(project, fix).exit_code == 0
    r2 = (project.versions() / "r2.py").read_text()
    assert "postgresql_concurrently=True" in r2 and "7s" in r2, r2
    relocked = project.sluice("lock", *project.options())
    assert relocked.exit_code == 0, relocked.output
