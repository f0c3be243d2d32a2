"""The commands ``sluice check``, ``lock`` and ``heads`` tell the user to run repeat the
options the command was given (``-c``, ``-n``, ``-x``, ``--env``), so that copying one acts
on the same alembic.ini section and database.

``sluice check -n reporting`` of a two-section alembic.ini printed ``alembic revision
--autogenerate ...`` (drift), ``alembic upgrade r2`` and ``alembic downgrade -1`` (upgrade
and round-trip failures) and ``sluice lock -n reporting`` without ``-c`` and ``-x``: run
from another folder they found no alembic.ini, and with ``-n`` left out they wrote the
revision into, or upgraded, the other section. Each test here triggers a message on a
project whose alembic.ini is outside the working folder, runs the printed command exactly
as printed (``shlex.split`` of the backticked text), and checks that it acted on the
checked section: the fix it suggests makes the original command pass, or it fails on the
same revision with the same error.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.support.db import tables
from tests.support.sections import (
    TENANT,
    SectionsProject,
    printed_commands,
    run_printed,
    sections_project,
)


def _only(found: list[list[str]], *words: str) -> list[str]:
    """The one printed command containing ``words`` in this order."""
    matches = [argv for argv in found
               if any(argv[i:i + len(words)] == list(words) for i in range(len(argv)))]
    assert len(matches) == 1, found
    return matches[0]


def _options_repeated(argv: list[str], project: SectionsProject, section: str = "reporting",
                      ) -> None:
    """The command names the project's alembic.ini, the section, the ``-x`` and the
    environment, as the command that printed it was given them."""
    text = " ".join(argv)
    assert f"-c {project.ini_arg}" in text, argv
    assert (f"-n {section}" in text) == (section != "alembic"), argv
    assert f"-x {TENANT}" in text, argv
    assert "--env test" in text or "-x env=test" in text, argv


def _upgrade_section(project: SectionsProject) -> None:
    done = project.alembic("-c", project.ini_arg, "-n", "reporting", "-x", TENANT,
                           "upgrade", "head")
    assert done.returncode == 0, done.stderr


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.py")}


def test_the_drift_hint_writes_the_revision_into_the_checked_section(tmp_path: Path) -> None:
    project = sections_project(tmp_path)
    models = project.conf / "sectionmodels.py"
    models.write_text(models.read_text() + '\nsa.Table("weekly", METADATA["reporting"], '
                      'sa.Column("id", sa.Integer(), primary_key=True))\n')
    _upgrade_section(project)  # autogenerate compares with the section's own database
    failed = project.sluice("check", *project.options(), "--only", "drift")
    assert failed.exit_code == 1, failed.output
    argv = _only(printed_commands(failed.stdout, "alembic"), "revision", "--autogenerate")
    _options_repeated(argv, project)

    main_before = _files(project.versions("alembic"))
    written = run_printed(project, argv)
    assert written.returncode == 0, written.stderr
    assert _files(project.versions("alembic")) == main_before
    [new] = _files(project.versions()) - {"r1.py"}
    assert "op.create_table('weekly'" in (project.versions() / new).read_text()
    again = project.sluice("check", *project.options(), "--only", "graph,upgrade,drift")
    assert again.exit_code == 0, again.output


def test_the_upgrade_hint_runs_the_failing_revision_of_the_checked_section(
        tmp_path: Path) -> None:
    project = sections_project(tmp_path)
    project.revision("r2", "r1", 'op.execute("UPDATE nope SET x = 1")')
    failed = project.sluice("check", *project.options(), "--only", "upgrade")
    assert failed.exit_code == 1, failed.output
    assert "upgrade of revision r2 failed: OperationalError: no such table: nope" \
        in failed.stdout
    argv = _only(printed_commands(failed.stdout, "alembic"), "upgrade", "r2")
    _options_repeated(argv, project)

    ran = run_printed(project, argv)
    assert ran.returncode != 0
    assert "no such table: nope" in ran.stderr, ran.stderr
    # it ran the checked section on its own database: r1 went in before r2 failed
    assert "daily_sales" in tables(f"sqlite:///{project.database()}")
    assert not project.database("alembic").exists()


def test_the_round_trip_hint_repeats_the_failing_downgrade_of_the_checked_section(
        tmp_path: Path) -> None:
    project = sections_project(tmp_path)
    project.revision("r2", "r1",
                     'op.create_table("t2", sa.Column("id", sa.Integer(), primary_key=True))',
                     'op.drop_table("nope")')
    failed = project.sluice("check", *project.options(), "--only", "roundtrip")
    assert failed.exit_code == 1, failed.output
    assert "downgrade of revision r2 failed" in failed.stdout
    found = printed_commands(failed.stdout, "alembic")
    up, down = _only(found, "upgrade", "r2"), _only(found, "downgrade", "-1")
    _options_repeated(up, project)
    _options_repeated(down, project)

    assert run_printed(project, up).returncode == 0
    assert "t2" in tables(f"sqlite:///{project.database()}")
    undone = run_printed(project, down)
    assert undone.returncode != 0
    assert "no such table: nope" in undone.stderr, undone.stderr
    assert not project.database("alembic").exists()


def test_the_lock_hints_of_the_checksums_check_lock_the_checked_section(
        tmp_path: Path) -> None:
    project = sections_project(tmp_path)
    skipped = project.sluice("check", *project.options(), "--only", "checksums")
    assert skipped.exit_code == 0, skipped.output
    lock = _only(printed_commands(skipped.stdout, "sluice"), "lock")
    _options_repeated(lock, project)
    assert run_printed(project, lock).exit_code == 0
    assert (project.conf / "sluice.reporting.sum").is_file()
    assert not (project.conf / "sluice.sum").exists()
    passed = project.sluice("check", *project.options(), "--only", "checksums")
    assert passed.exit_code == 0 and "1 revision file matches" in passed.stdout, passed.output

    # an edited revision: the new revision it asks for goes into the checked section
    r1 = project.versions() / "r1.py"
    r1.write_text(r1.read_text() + "# edited\n")
    edited = project.sluice("check", *project.options(), "--only", "checksums")
    assert edited.exit_code == 1, edited.output
    found = printed_commands(edited.stdout, "alembic")
    revision = _only(found, "revision", "-m")
    _options_repeated(revision, project)
    main_before = _files(project.versions("alembic"))
    assert run_printed(project, revision).returncode == 0
    assert len(_files(project.versions())) == 2
    assert _files(project.versions("alembic")) == main_before
    relock = _only(printed_commands(edited.stdout, "sluice"), "lock")
    assert run_printed(project, relock).exit_code == 0
    assert project.sluice("check", *project.options(), "--only", "checksums").exit_code == 0


def test_the_merge_and_lock_hints_of_two_heads_act_on_the_checked_section(
        tmp_path: Path) -> None:
    project = sections_project(tmp_path)
    project.revision("r2a", "r1", "pass")
    project.revision("r2b", "r1", "pass")
    failed = project.sluice("check", *project.options(), "--only", "graph")
    assert failed.exit_code == 1, failed.output
    merge = _only(printed_commands(failed.stdout, "alembic"), "merge")
    _options_repeated(merge, project)
    lock = _only(printed_commands(failed.stdout, "sluice"), "lock")
    _options_repeated(lock, project)

    main_before = _files(project.versions("alembic"))
    assert run_printed(project, merge).returncode == 0
    assert _files(project.versions("alembic")) == main_before
    assert len(_files(project.versions())) == 4
    assert run_printed(project, lock).exit_code == 0
    passed = project.sluice("check", *project.options(), "--only", "graph,checksums")
    assert passed.exit_code == 0, passed.output


def test_sluice_heads_prints_the_merge_of_the_section_it_read(tmp_path: Path) -> None:
    project = sections_project(tmp_path)
    project.revision("r2a", "r1", "pass")
    project.revision("r2b", "r1", "pass")
    heads = project.sluice("heads", *project.options())
    assert heads.exit_code == 1, heads.output
    # the merge command is a line of its own, not in backticks
    [merge] = [shlex.split(line) for line in heads.stdout.splitlines()
               if line.lstrip().startswith("alembic ")]
    _options_repeated(merge, project)
    lock = _only(printed_commands(heads.stdout, "sluice"), "lock")
    _options_repeated(lock, project)
    assert run_printed(project, merge).returncode == 0
    assert project.sluice("heads", *project.options()).exit_code == 0


def test_the_lock_warning_about_heads_repeats_x_and_env(tmp_path: Path) -> None:
    project = sections_project(tmp_path)
    project.revision("r2a", "r1", "pass")
    project.revision("r2b", "r1", "pass")
    locked = project.sluice("lock", *project.options())
    assert locked.exit_code == 0, locked.output
    found = printed_commands(locked.stderr, "sluice")
    heads, rebase = _only(found, "heads"), _only(found, "--rebase")
    _options_repeated(heads, project)
    _options_repeated(rebase, project)
    assert run_printed(project, heads).exit_code == 1  # the same two heads, explained
    assert run_printed(project, rebase).exit_code == 0
    assert project.sluice("heads", *project.options()).exit_code == 0


def test_a_broken_graph_points_at_commands_on_the_checked_section(tmp_path: Path) -> None:
    project = sections_project(tmp_path)
    project.revision("r2", "zzz", "pass")
    blocked = project.sluice("check", *project.options(), "--only", "upgrade")
    assert blocked.exit_code == 2, blocked.output
    graph = _only(printed_commands(blocked.stdout, "sluice"), "--only", "graph")
    _options_repeated(graph, project)
    listed = run_printed(project, graph)
    assert listed.exit_code == 2 and "down_revision 'zzz' of revision r2" in listed.stdout

    refused = project.sluice("lock", *project.options())
    assert refused.exit_code == 2, refused.output
    found = printed_commands(refused.stderr, "sluice")
    graph, lock = _only(found, "--only", "graph"), _only(found, "lock")
    _options_repeated(graph, project)
    _options_repeated(lock, project)
    assert "down_revision 'zzz'" in run_printed(project, graph).stdout
    (project.versions() / "r2.py").write_text(
        (project.versions() / "r2.py").read_text().replace("'zzz'", "'r1'"))
    assert run_printed(project, lock).exit_code == 0
    assert (project.conf / "sluice.reporting.sum").is_file()


def test_the_other_section_note_checks_the_other_section_of_the_same_file(
        tmp_path: Path) -> None:
    project = sections_project(tmp_path)
    checked = project.sluice("check", *project.options(), "--only", "graph")
    assert checked.exit_code == 0, checked.output
    other = _only(printed_commands(checked.stdout, "sluice"), "check")
    _options_repeated(other, project, section="alembic")
    done = run_printed(project, other)
    assert done.exit_code == 0, done.output
    assert re.search(r"graph +1 revision, 1 head \(m1\)", done.stdout), done.stdout


def test_the_guard_of_plain_alembic_points_at_sluice_upgrade_on_the_same_section(
        tmp_path: Path) -> None:
    project = sections_project(tmp_path)
    target = tmp_path / "test.db"
    toml = project.conf / "sluice.toml"
    toml.write_text(toml.read_text().replace(
        "[environments.test]\n",
        f'[environments.test]\nguard_alembic = true\nurl = "sqlite:///{target}"\n'))
    refused = project.alembic("-c", project.ini_arg, "-n", "reporting", "-x", TENANT,
                              "-x", "env=test", "upgrade", "head")
    assert refused.returncode != 0
    upgrade = _only(printed_commands(refused.stdout + refused.stderr, "sluice"), "upgrade")
    _options_repeated(upgrade, project)
    done = run_printed(project, upgrade)
    assert done.exit_code == 0, done.output
    assert "daily_sales" in tables(f"sqlite:///{target}")
    assert "orders" not in tables(f"sqlite:///{target}")


def test_the_plan_s_sql_hint_renders_the_planned_section(tmp_path: Path) -> None:
    project = sections_project(tmp_path)
    project.revision("r2a", "r1", "pass")
    project.revision("r2b", "r1", "pass")
    done = project.alembic("-c", project.ini_arg, "-n", "reporting", "-x", TENANT,
                           "upgrade", "heads")
    assert done.returncode == 0, done.stderr
    project.revision("r3", "r2a",
                     'op.create_table("t3", sa.Column("id", sa.Integer(), primary_key=True))')
    plan = project.sluice("plan", "heads", *project.options())
    assert plan.exit_code == 0, plan.output
    assert "SQL preview unavailable: the database has several heads" in plan.stdout
    sql = _only(printed_commands(plan.stdout, "alembic"), "upgrade", "FROM:TO", "--sql")
    _options_repeated(sql, project)
    rendered = run_printed(project, [w.replace("FROM:TO", "r2a:r3") for w in sql])
    assert rendered.returncode == 0, rendered.stderr
    assert "CREATE TABLE t3" in rendered.stdout


def test_sluice_fix_on_a_locked_file_names_the_lock_of_the_same_section(
        tmp_path: Path) -> None:
    project = sections_project(tmp_path)
    project.revision("r2", "r1", 'op.create_index("ix_ds", "daily_sales", ["id"])',
                     'op.drop_index("ix_ds", table_name="daily_sales")')
    assert project.sluice("lock", *project.options()).exit_code == 0
    fixed = project.sluice("fix", *project.options(), "--dialect", "postgresql",
                           "../conf/reporting/versions/r2.py")
    assert fixed.exit_code == 0, fixed.output
    assert "sluice.reporting.sum records it" in fixed.stderr
    lock = _only(printed_commands(fixed.stderr, "sluice"), "lock")
    _options_repeated(lock, project)
    r2 = project.versions() / "r2.py"
    r2.write_text(r2.read_text() + "# reviewed again\n")
    assert run_printed(project, lock).exit_code == 0
    assert project.sluice("check", *project.options(), "--only", "checksums").exit_code == 0
