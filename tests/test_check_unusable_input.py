"""``sluice check`` fails closed on input it cannot use (exit 2, one line): an in-memory
SQLite URL, a revision history Alembic cannot load, a database with tables in another
schema."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from sluice.errors import SluiceError
from tests.support.check import overlay, run
from tests.support.cli import Result, run_cli


def sluice(project: Path, *args: str, env: dict[str, str | None] | None = None) -> Result:
    return run_cli(["check", "-c", str(project / "alembic.ini"), *args], env=env)


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://"])
def test_in_memory_sqlite_url_is_exit_2(shop: Path, url: str) -> None:
    result = sluice(shop, "--url", url)
    assert result.exit_code == 2, result.output
    first, hint = result.stderr.splitlines()
    assert first == (f"sluice: error: --url: {url}: an in-memory SQLite database belongs "
                     "to the one connection that opened it, and sluice check connects many "
                     "times (env.py, then its own inspection)")
    assert hint == "Use a file (sqlite:///check.db), or leave out --url for a temporary " \
                   "SQLite file."
    assert result.stdout == ""


def test_in_memory_sqlite_from_the_environment_or_config_is_exit_2(shop: Path) -> None:
    result = sluice(shop, env={"SLUICE_CHECK_URL": "sqlite:///:memory:"})
    assert result.exit_code == 2
    assert result.stderr.startswith("sluice: error: SLUICE_CHECK_URL: sqlite:///:memory:: "
                                    "an in-memory SQLite database"), result.stderr
    assert "env.py probably never commits" not in result.output
    with (shop / "sluice.toml").open("a") as fh:
        fh.write('\n[check]\nurl = "sqlite:///:memory:"\n')
    with pytest.raises(SluiceError, match=r"sluice\.toml:\d+: check\.url: sqlite:///:memory:: "
                                          r"an in-memory SQLite database") as err:
        run(shop, "upgrade")
    assert "remove check.url from sluice.toml" in (err.value.hint or "")


def test_a_graph_alembic_cannot_load_is_exit_2_after_the_report(shop: Path) -> None:
    overlay(shop, "missing_parent")
    result = sluice(shop, "--only", "graph")
    assert result.exit_code == 2, result.output
    assert "down_revision '0099' of revision 0003 does not exist" in result.stdout
    assert result.stdout.splitlines()[-1] == "1 of 1 check did not pass: graph (could not run)"


def test_the_fix_for_a_missing_parent_lists_only_heads_it_could_point_at(shop: Path) -> None:
    overlay(shop, "missing_parent")
    [problem] = run(shop, "graph").result("graph").problems
    assert "(current heads: 0002)" in (problem.fix or ""), problem.fix


def test_database_checks_without_the_graph_check_fail_closed_too(shop: Path) -> None:
    """`--only upgrade` on a history that does not load was a pass (a skipped check)."""
    overlay(shop, "cycle")
    report = run(shop, "upgrade", "drift")
    assert report.exit_code == 2
    upgrade, drift = report.results
    assert upgrade.status == "error"
    assert upgrade.problems[0].message.startswith("the revision graph does not load (")
    assert drift.status == "skip"  # said once is enough


def test_a_multiple_heads_finding_is_still_exit_1(shop: Path) -> None:
    overlay(shop, "two_heads")
    report = run(shop, "graph")
    assert report.result("graph").status == "fail"
    assert report.exit_code == 1


def test_tables_in_another_schema_make_the_database_non_empty(shop: Path, pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE SCHEMA billing"))
            conn.execute(sa.text("CREATE TABLE billing.invoices (id integer primary key)"))
    finally:
        engine.dispose()
    with pytest.raises(SluiceError, match=r"database is not empty \(1 table: "
                                          r"billing\.invoices\)"):
        run(shop, "upgrade", url=pg_url)
