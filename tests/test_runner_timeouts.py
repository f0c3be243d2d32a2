"""Lock and statement timeouts (per environment, per revision), retries with backoff, and
MySQL/MariaDB partial failures, against real PostgreSQL and MariaDB servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sluice.runner.run import MigrationFailed
from tests.support.cli import run_cli
from tests.support.db import tables
from tests.support.runner import SLUICE_TOML, Rev, chain, go, make, rows, version, with_env

ADD_X = Rev("r0002", 'op.add_column("t0001", sa.Column("x", sa.Integer()))',
            'op.drop_column("t0001", "x")')


class Blocker:
    """Another session reading t0001 in an open transaction: the ALTER has to wait."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.conn = self.engine.connect()
        self.conn.begin()
        self.conn.execute(text("SELECT * FROM t0001"))

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()
        self.engine.dispose()


def _project(tmp_path: Path, url: str, settings: str, revs: list[Rev]) -> Path:
    ini = make(tmp_path, [*chain(1), *revs], toml=with_env(SLUICE_TOML, "dev", settings))
    go(ini, url, target="r0001")
    return ini


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_lock_timeout_is_retried_with_backoff(tmp_path: Path, backend: str,
                                              request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_url" if backend == "postgresql" else "mysql_url")
    lock_timeout = "300ms" if backend == "postgresql" else "1s"  # MySQL counts whole seconds
    ini = _project(tmp_path, url, f'lock_timeout = "{lock_timeout}"\nlock_retries = 3\n'
                                  'lock_retry_backoff = "200ms"', [ADD_X])
    blocker = Blocker(url)

    class Messages(list[str]):
        def append(self, message: str) -> None:
            super().append(message)
            if "Retry 1 of 3" in message:
                blocker.release()  # the other session finishes while the runner backs off

    msgs = Messages()
    try:
        result = go(ini, url, msgs=msgs)
    finally:
        if not blocker.conn.closed:
            blocker.release()
    assert result.status == "applied" and result.attempts == 2
    assert any("Retry 1 of 3" in m and "lock timeout" in m for m in msgs)
    attempts = [e for e in rows(url) if e.revision == "r0002"]
    assert attempts[0].status == "succeeded"
    assert all(e.status == "failed" and "lock timeout" in (e.error or "") for e in attempts[1:])


def test_lock_timeout_gives_up_after_the_retries(tmp_path: Path, pg_url: str) -> None:
    ini = _project(tmp_path, pg_url, 'lock_timeout = "100ms"\nlock_retries = 1\n'
                                     'lock_retry_backoff = "100ms"', [ADD_X])
    blocker = Blocker(pg_url)
    try:
        with pytest.raises(MigrationFailed) as err:
            go(ini, pg_url)
    finally:
        blocker.release()
    assert err.value.result.attempts == 2
    assert "lock timeout (100ms) tripped" in str(err.value)
    assert "every retry" in (err.value.hint or "") and "pg_stat_activity" in (err.value.hint or "")
    assert version(pg_url) == ["r0001"]


def test_revision_marker_overrides_the_environment(tmp_path: Path, pg_url: str) -> None:
    marked = Rev("r0002", ADD_X.upgrade, ADD_X.downgrade,
                 header='sluice_timeouts = {"lock_timeout": "150ms"}')
    ini = _project(tmp_path, pg_url, "lock_retries = 0", [marked])
    plan = json.loads(run_cli(["plan", "-c", str(ini), "--url", pg_url, "--format", "json"],
                              catch_exceptions=False).stdout)
    assert plan["revisions"][0]["timeouts"]["lock_timeout_ms"] == 150
    blocker = Blocker(pg_url)
    try:
        with pytest.raises(MigrationFailed, match=r"lock timeout \(150ms\)") as err:
            go(ini, pg_url)
    finally:
        blocker.release()
    assert err.value.result.attempts == 1


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_statement_timeout_fails_without_retry(tmp_path: Path, backend: str,
                                               request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_url" if backend == "postgresql" else "mysql_url")
    sleep = "SELECT pg_sleep(3)" if backend == "postgresql" else "SELECT SLEEP(3)"
    slow = Rev("r0002", f'op.execute("{sleep}")',
               header='sluice_timeouts = {"statement_timeout": "200ms"}')
    ini = _project(tmp_path, url, 'lock_timeout = "5s"', [slow])
    with pytest.raises(MigrationFailed, match=r"statement timeout \(200ms\) tripped") as err:
        go(ini, url)
    assert err.value.result.attempts == 1
    assert "batches" in (err.value.hint or "")
    # the environment's lock timeout was reset after the run (MySQL session settings)
    assert version(url) == ["r0001"]


PARTIAL = Rev("r0002", """\
op.create_table("pf", sa.Column("id", sa.Integer(), primary_key=True))
op.add_column("pf", sa.Column("a", sa.Integer()))
op.add_column("t0001", sa.Column("name", sa.String(10)))
op.create_index("ix_pf_a", "pf", ["a"])""", 'op.drop_table("pf")')


def test_mariadb_partial_failure_is_reported_and_recorded(tmp_path: Path, mysql_url: str) -> None:
    ini = _project(tmp_path, mysql_url, "", [PARTIAL])
    res = run_cli(["upgrade", "-c", str(ini), "--url", mysql_url], catch_exceptions=False)
    assert res.exit_code == 1
    err = res.stderr
    assert "revision r0002 failed part way" in err and "Duplicate column" in err
    applied = err.split("applied:")[1].split("failed (not applied):")[0]
    assert "CREATE TABLE pf" in applied and "ALTER TABLE pf ADD COLUMN a" in applied
    failed = err.split("failed (not applied):")[1].split("not applied:")[0]
    assert "ALTER TABLE t0001 ADD COLUMN name" in failed
    assert "CREATE INDEX ix_pf_a" in err.split("not applied:")[-1]
    assert "stamp r0002" in err and "Do not re-run" in err
    assert "pf" in tables(mysql_url) and version(mysql_url) == ["r0001"]
    entry = next(e for e in rows(mysql_url) if e.revision == "r0002")
    assert entry.status == "failed" and entry.statements is not None
    assert len(entry.statements["applied"]) == 2
    assert entry.statements["not_applied"] == ["CREATE INDEX ix_pf_a ON pf (a)"]
    hist = run_cli(["history", "-c", str(ini), "--url", mysql_url], catch_exceptions=False)
    assert "partially applied: 2 statement(s) applied, 1 not applied" in hist.stdout


def test_mariadb_partial_failure_under_plain_alembic_is_recorded(
        tmp_path: Path, mysql_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The env.py guard of plain ``alembic upgrade`` reports and records a partially
    applied revision through the same flow as ``sluice upgrade``."""
    from alembic import command

    from tests.support.project import cfg

    ini = _project(tmp_path, mysql_url, "", [PARTIAL])
    with pytest.raises(Exception, match="Duplicate column"):
        command.upgrade(cfg(ini.parent, mysql_url, "env=prod"), "head")
    err = capsys.readouterr().err
    assert "CREATE TABLE pf" in err.split("applied:")[1]
    assert "CREATE INDEX ix_pf_a" in err.split("not applied:")[-1]
    entry = next(e for e in rows(mysql_url) if e.revision == "r0002")
    assert entry.status == "failed" and entry.via == "alembic upgrade"
    assert entry.statements is not None and len(entry.statements["applied"]) == 2
    assert entry.statements["not_applied"] == ["CREATE INDEX ix_pf_a ON pf (a)"]
    assert version(mysql_url) == ["r0001"]


def test_mariadb_lock_timeout_after_applied_statements_is_not_retried(
        tmp_path: Path, mysql_url: str) -> None:
    rev = Rev("r0002", 'op.create_table("early", sa.Column("id", sa.Integer(), primary_key=True))\n'
                       + ADD_X.upgrade)
    ini = _project(tmp_path, mysql_url, 'lock_timeout = "1s"\nlock_retries = 3', [rev])
    blocker = Blocker(mysql_url)
    try:
        with pytest.raises(MigrationFailed, match="failed part way") as err:
            go(ini, mysql_url)
    finally:
        blocker.release()
    result = err.value.result
    assert result.attempts == 1  # retrying would create "early" twice
    assert result.partial is not None and result.partial.applied[0].startswith("CREATE TABLE early")
    assert result.partial.not_applied == []
