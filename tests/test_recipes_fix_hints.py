"""``sluice fix`` on a project whose sum file is broken (a merge conflict) stops and names
``sluice check --only checksums`` and ``sluice lock``; the commands repeat the options the
fix was given (``-c``, ``-n``, ``-x``, ``--env``), so that copied they act on the same
alembic.ini section. ``sluice fix -c ../conf/alembic.ini -n reporting -x tenant=acme --env
test`` printed ``sluice check --only checksums -n reporting`` and ``sluice lock -n
reporting``: run from the working folder, they found no alembic.ini. The test runs the
printed commands exactly as printed."""

from __future__ import annotations

from pathlib import Path

from tests.support.sections import TENANT, printed_commands, run_printed, sections_project


def test_a_broken_sum_file_points_fix_at_commands_on_the_same_section(
        tmp_path: Path) -> None:
    project = sections_project(tmp_path)
    toml = project.conf / "sluice.toml"
    toml.write_text(toml.read_text() + '\n[lint]\ndialects = ["postgresql"]\n')
    project.revision("r2", "r1", 'op.create_index("ix_ds", "daily_sales", ["id"])',
                     'op.drop_index("ix_ds", table_name="daily_sales")')
    assert project.sluice("lock", *project.options()).exit_code == 0
    sum_file = project.conf / "sluice.reporting.sum"
    text = sum_file.read_text()
    sum_file.write_text(f"<<<<<<< HEAD\n{text}=======\n{text}>>>>>>> other\n")
    done = project.sluice("fix", *project.options(), "--diff")
    out = done.stdout + done.stderr
    assert done.exit_code == 2, out
    found = printed_commands(out, "sluice")
    check = [a for a in found if "checksums" in a]
    lock = [a for a in found if a[:2] == ["sluice", "lock"]]
    assert len(check) == 1 and len(lock) == 1, found
    for argv in (check[0], lock[0]):
        line = " ".join(argv)
        assert f"-c {project.ini_arg}" in line and "-n reporting" in line, argv
        assert f"-x {TENANT}" in line and "--env test" in line, argv
    checked = run_printed(project, check[0])
    assert checked.exit_code == 1 and "sluice.reporting.sum" in checked.output, checked.output
    assert run_printed(project, lock[0]).exit_code == 0
    assert "<<<<<<<" not in sum_file.read_text()
    again = project.sluice("fix", *project.options(), "--diff")
    assert again.exit_code == 0, again.stdout + again.stderr
