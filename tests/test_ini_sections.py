"""`-n/--name SECTION` on every command that reads the Alembic project, as `alembic -n`.

The multi-service example keeps the reporting service in a section of its own
(`[reporting]`: its own versions folder and version table). Before `-n`, only `sluice graph`
and `sluice heads` could read it: `sluice check`, `lint` and `lock` saw the three revisions
of `[alembic]` and passed while `r0001` was edited, and `sluice upgrade -n reporting` was
"No such option". Each section now has its own sum file (`sluice.reporting.sum`), so
locking one never drops another's entries.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sluice.core.sumfile import parse_sum, section_sum_file
from sluice.lint.engine import lint_project
from tests.support.cli import run_cli
from tests.support.db import tables, versions

R0001 = "migrations/versions/reporting/r0001_daily_sales.py"
S0001 = "migrations/versions/shared/s0001_users.py"


@pytest.mark.parametrize("section, expected", [
    ("alembic", "sluice.sum"),
    ("reporting", "sluice.reporting.sum"),
    ("a b/c", "sluice.a_b_c.sum"),
])
def test_each_section_has_its_own_sum_file(section: str, expected: str) -> None:
    assert section_sum_file("sluice.sum", section) == expected
    assert section_sum_file("db/locks.sum", "reporting") == "db/locks.reporting.sum"
    assert section_sum_file("LOCK", "reporting") == "LOCK.reporting"


def test_an_edit_to_a_section_revision_is_caught_after_locking_it(multiservice: Path) -> None:
    shared_sum = (multiservice / "sluice.sum").read_text()
    (multiservice / "sluice.reporting.sum").unlink()  # the example ships it locked
    locked = run_cli(["lock", "-n", "reporting"], cwd=multiservice)
    assert locked.exit_code == 0, locked.output
    assert "sluice.reporting.sum (1 revision files; heads: r0001)" in locked.stdout
    recorded = parse_sum((multiservice / "sluice.reporting.sum").read_text())
    assert list(recorded.files) == [R0001] and recorded.heads == ["r0001"]
    # locking reporting keeps the other section's entries as they were ...
    assert (multiservice / "sluice.sum").read_text() == shared_sum
    passed = run_cli(["check", "-n", "reporting", "--only", "graph,checksums"], cwd=multiservice)
    assert passed.exit_code == 0, passed.output
    assert re.search(r"✓ checksums +1 revision file match(es)? sluice\.reporting\.sum",
                     passed.stdout), passed.stdout

    with (multiservice / R0001).open("a", encoding="utf-8") as fh:
        fh.write("# edited after it was locked\n")
    caught = run_cli(["check", "-n", "reporting", "--only", "graph,checksums"], cwd=multiservice)
    assert caught.exit_code == 1, caught.output
    assert R0001 in caught.stdout and "changed after it was locked" in caught.stdout
    assert "sluice lock -n reporting" in caught.stdout

    # ... and locking the default section leaves reporting's file (and its record) alone
    before = (multiservice / "sluice.reporting.sum").read_text()
    again = run_cli(["lock"], cwd=multiservice)
    assert again.exit_code == 0, again.output
    assert (multiservice / "sluice.reporting.sum").read_text() == before
    assert R0001 not in (multiservice / "sluice.sum").read_text()
    assert run_cli(["check", "-n", "reporting", "--only", "checksums"],
                   cwd=multiservice).exit_code == 1


def test_lint_reads_the_section_revisions(multiservice: Path) -> None:
    def linted(*args: str) -> set[str]:
        result = run_cli(["lint", "--all", "--format", "json", "--no-cache", *args],
                         cwd=multiservice)
        assert result.exit_code in (0, 1), result.output
        return {Path(r["path"]).name for r in json.loads(result.stdout)["revisions"]}

    assert linted("-n", "reporting") == {Path(R0001).name}
    assert Path(R0001).name not in linted()
    assert Path(S0001).name in linted()


def test_lint_counts_the_section_locked_revisions_as_reviewed(multiservice: Path) -> None:
    result = run_cli(["lint", "-n", "reporting", "--no-cache"], cwd=multiservice)
    assert result.exit_code == 0, result.output
    assert "1 revision recorded in sluice.reporting.sum not linted" in result.stdout
    (multiservice / "sluice.reporting.sum").unlink()
    result = run_cli(["lint", "-n", "reporting", "--no-cache"], cwd=multiservice)
    assert "run `sluice lock -n reporting` and commit sluice.reporting.sum" in result.stdout


def test_upgrade_plan_history_and_downgrade_run_the_section(multiservice: Path) -> None:
    url = f"sqlite:///{multiservice / 'sections.db'}"
    (multiservice / "sections.db").touch()  # plan reads it: a missing file is exit 2
    plan = run_cli(["plan", "-n", "reporting", "--url", url, "--no-sql"], cwd=multiservice)
    assert plan.exit_code == 0, plan.output
    assert "r0001" in plan.stdout and "s0001" not in plan.stdout

    done = run_cli(["upgrade", "-n", "reporting", "--url", url, "--yes"], cwd=multiservice)
    assert done.exit_code == 0, done.output
    found = tables(url)
    assert "report_daily_sales" in found and "users" not in found
    assert versions(url, "reporting_version") == {"r0001"}
    assert "alembic_version" not in found

    history = run_cli(["history", "-n", "reporting", "--url", url, "--format", "json"],
                      cwd=multiservice)
    assert history.exit_code == 0, history.output
    assert [e["revision"] for e in json.loads(history.stdout)["entries"]] == ["r0001"]

    back = run_cli(["downgrade", "-n", "reporting", "base", "--url", url, "--yes"],
                   cwd=multiservice)
    assert back.exit_code == 0, back.output
    assert "report_daily_sales" not in tables(url)
    assert versions(url, "reporting_version") == set()


def test_the_example_section_passes_every_check(multiservice: Path) -> None:
    result = run_cli(["check", "-n", "reporting"], cwd=multiservice)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "All 5 checks passed.", result.output
    assert re.search(r"1 revision file match(es)? sluice\.reporting\.sum", result.stdout)
    # expected_heads names the [alembic] branches: not this section's heads, not unknown
    assert "expected_heads" not in result.stdout
    assert "section [alembic] is another Alembic environment, not read here: `sluice " \
           "check` checks it" in result.stdout


def test_heads_of_a_section_reads_expected_heads_as_check_does(multiservice: Path) -> None:
    result = run_cli(["heads", "-n", "reporting"], cwd=multiservice)
    assert result.exit_code == 0, result.output
    assert "r0001 on branch reporting" in result.stdout


def test_a_section_lint_keeps_its_own_cache(multiservice: Path) -> None:
    ini = multiservice / "alembic.ini"
    first = lint_project(ini, render=False)
    assert first.cache_misses == 3
    section = lint_project(ini, render=False, ini_section="reporting")
    assert (section.cache_hits, section.cache_misses) == (0, 1)
    # the section's lint did not prune the default section's entries, nor the other way
    again = lint_project(ini, render=False)
    assert (again.cache_hits, again.cache_misses) == (3, 0)
    assert lint_project(ini, render=False, ini_section="reporting").cache_hits == 1


def test_the_default_section_says_which_sections_it_does_not_read(multiservice: Path) -> None:
    result = run_cli(["check", "--only", "graph,checksums"], cwd=multiservice)
    assert result.exit_code == 0, result.output
    assert "note: alembic.ini section [reporting] is another Alembic environment, not read " \
           "here: `sluice check -n reporting` checks it" in result.stdout


@pytest.mark.parametrize("args", [
    ["lint"], ["lint", "--all"], ["check", "--only", "graph"], ["lock"], ["plan"],
    ["upgrade", "--yes"], ["downgrade", "base", "--yes"], ["history"], ["fix", "--diff"],
    ["graph"], ["heads"], ["trace", "--url", "postgresql://u@localhost:1/postgres"],
])
def test_a_section_that_does_not_exist_is_one_line(multiservice: Path,
                                                   args: list[str]) -> None:
    result = run_cli([*args, "-n", "nope"], cwd=multiservice)
    assert result.exit_code == 2, result.output
    first, *rest = result.stderr.splitlines()
    assert first == ("sluice: error: alembic.ini: no section [nope] (sections with a "
                     "script_location: alembic, reporting)"), result.stderr
    assert len(rest) <= 1 and "Traceback" not in result.output
    assert not (multiservice / "sluice.nope.sum").exists()


def test_service_option_for_a_version_table_service_points_at_the_section(
        multiservice: Path) -> None:
    result = run_cli(["check", "-x", "service=reporting", "--only", "upgrade"],
                     cwd=multiservice)
    assert result.exit_code == 2, result.output
    assert "that environment is section [reporting]: run it with -n reporting, not " \
           "-x service=reporting" in result.stderr
    assert "`sluice check -n reporting`" in result.stderr
