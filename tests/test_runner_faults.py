"""Faults that production meets every week, on real PostgreSQL and MariaDB processes:
the migration lock's connection killed or timed out mid-run while a second deploy waits,
two services with their own version tables racing, SIGINT/SIGTERM at random moments.

A few trials each; bench/fault_lock.py runs the same trials 30 (20) times per backend.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.support import faults
from tests.support.servers import server_url


@pytest.fixture(params=["postgresql", "mysql"])
def server_db(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url" if request.param == "postgresql" else "mysql_url"))


def test_lost_lock_stops_the_run_and_the_next_deploy_waits_for_it(tmp_path: Path,
                                                                  server_db: str) -> None:
    out = faults.lock_kill_trial(tmp_path, server_db)
    assert out.problems == []
    assert (out.concurrent, out.wrong_credit, out.open_rows, out.tracebacks) == (0, 0, 0, 0)
    a_err = (tmp_path / "a.err").read_text()
    assert a_err.count("sluice: error: lost the migration lock on ") == 1
    assert "its connection is gone (the server or something in between closed it)" in a_err
    if server_db.startswith("postgresql"):  # the whole run is one transaction: rolled back
        assert ("; stopped before r0003 ran: its transaction was rolled back, nothing was "
                "applied; the database is at base") in a_err
    else:  # r0002's DDL was committed: it is stamped, and the run stops before r0003
        assert ("; stopped before r0003 ran: r0001, r0002 were applied and stamped before "
                "that; the database is at r0002") in a_err
    assert "idle_session_timeout" in a_err and "Run again: `sluice upgrade head -c " in a_err
    assert f" --url {shlex.quote(server_db)} --env test`" in a_err  # the same database, not alembic.ini's
    runs: dict[str, dict[str, tuple[str, str]]] = {}
    for e in faults.history(server_db):
        runs.setdefault(e.run_id, {})[e.revision] = (e.status, e.error or "")
    a_rows = next(r for r in runs.values() if any("lost the migration lock" in x for _, x in
                                                  r.values()))
    if server_db.startswith("postgresql"):
        assert [a_rows[r][0] for r in ("r0001", "r0002", "r0003")] == [
            "rolled_back", "rolled_back", "skipped"]
        assert a_rows["r0002"][1].startswith(
            "rolled back: the run stopped because it lost the migration lock")
    else:
        assert [a_rows[r][0] for r in ("r0001", "r0002", "r0003")] == [
            "succeeded", "succeeded", "skipped"]
    assert a_rows["r0003"][1].startswith("not started: ")
    assert "lost its lock connection but still has session" in (tmp_path / "b.err").read_text()


def test_lock_lost_in_the_last_revision_is_caught_before_the_commit(tmp_path: Path,
                                                                     pg_url: str) -> None:
    out = faults.lock_kill_trial(tmp_path, pg_url, at="r0003")
    assert out.problems == []
    assert ("; stopped after r0003 ran, before it was stamped: its transaction was rolled back, "
            "nothing was applied; the database is at base") in (tmp_path / "a.err").read_text()
    assert {e.status for e in faults.history(pg_url) if "lost the migration lock" in (e.error or "")
            } == {"rolled_back"}


def test_idle_session_timeout_does_not_drop_the_lock(tmp_path: Path, pg_url: str) -> None:
    """With idle_session_timeout = 1s for every new session of the database, the lock's
    connection stays (it turns the timeout off for itself) while a revision takes longer."""
    out = faults.idle_timeout_trial(tmp_path, pg_url)
    assert out.problems == []
    assert (out.concurrent, out.wrong_credit, out.tracebacks) == (0, 0, 0)


def test_services_with_their_own_version_tables_take_turns(tmp_path: Path,
                                                           server_db: str) -> None:
    out = faults.services_trial(tmp_path, server_db)
    assert out.problems == []
    assert "waiting for the migration lock" in (tmp_path / "b.err").read_text()


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_interrupts_close_every_audit_row_without_a_traceback(tmp_path: Path, backend: str,
                                                              signame: str) -> None:
    import signal

    for i, delay in enumerate((0.05, 0.2, 0.45)):
        with faults.fresh_db(server_url(backend)) as url:
            out = faults.interrupt_trial(tmp_path / str(i), url, getattr(signal, signame), delay)
            assert out.problems == [], f"delay {delay}"


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGKILL"])
def test_mariadb_rerun_after_a_stop_past_the_ddl_tells_what_is_in_the_database(
        tmp_path: Path, mysql_url: str, signame: str) -> None:
    """The signal lands after r0002's CREATE TABLE and CREATE INDEX were committed, before
    alembic_version says r0002. The interrupted run shows what ran (SIGTERM); the rerun
    must not say "nothing of r0002 was applied" but show the record and the way out."""
    import signal

    ini = faults.make_project(tmp_path / "p", faults.instrumented_chain(3))
    faults.create_ran_table(mysql_url)
    a = faults.start(ini, mysql_url, tmp_path, "a", SLUICE_FAULT_PAUSE_AFTER="r0002")
    faults.wait_until(lambda: (tmp_path / "paused").exists(), "A past r0002's DDL", [a])
    a.send_signal(getattr(signal, signame))
    assert a.wait(timeout=60) != 0
    a.communicate()
    err = (tmp_path / "a.err").read_text()
    assert "Traceback" not in err
    if signame == "SIGTERM":
        assert "interrupted in r0002" in err
        assert "revision r0002 failed after 2 of its statements had been applied" in err
        assert "CREATE TABLE t0002" in err
    assert {"t0001", "t0002"} <= faults.table_names(mysql_url)
    rerun = faults.start(ini, mysql_url, tmp_path, "rerun")
    assert rerun.wait(timeout=60) == 1
    rerun.communicate()
    text_ = (tmp_path / "rerun.err").read_text()
    assert "nothing of r0002 was applied" not in text_ and "Traceback" not in text_
    assert "was interrupted inside r0002 and left part of it applied" in text_
    assert "the database is at r0001" in text_
    assert f"`alembic -c {ini} -x env=test stamp r0002`" in text_
    if signame == "SIGTERM":
        assert "(2 statements)" in text_ and "  1. CREATE TABLE t0002" in text_
        assert "  2. CREATE INDEX ix_t0002_name ON t0002 (name)" in text_
    else:
        assert "Which of its statements completed is not recorded" in text_
    assert [e.status for e in faults.history(mysql_url) if e.revision == "r0002"
            ] == ["failed", "failed"]


def test_plain_alembic_under_the_env_guard_stops_when_the_lock_is_lost(
        tmp_path: Path, server_db: str) -> None:
    import subprocess
    import sys

    from tests.support.runner import SLUICE_TOML

    toml = SLUICE_TOML.replace("[environments.test]\n",
                               "[environments.test]\nguard_alembic = true\n")
    ini = faults.make_project(tmp_path / "p", faults.instrumented_chain(3), toml=toml)
    ini.write_text(ini.read_text().replace("sqlite:///%(here)s/app.db", server_db))
    faults.create_ran_table(server_db)
    (tmp_path / "go_kill").write_text("go")
    (tmp_path / "go_on").write_text("go")
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("alembic")), "-c", str(ini), "-x", "env=test",
         "upgrade", "head"], capture_output=True, text=True, check=False,
        env=faults.env_for(tmp_path, SLUICE_FAULT_KILL="r0002"))
    assert proc.returncode != 0 and "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout.startswith("FAILED: lost the migration lock on ")
    assert "sluice: lost the migration lock on " in proc.stderr
    status = {e.revision: e.status for e in faults.history(server_db)}
    kept = "rolled_back" if server_db.startswith("postgresql") else "succeeded"
    assert status == {"r0001": kept, "r0002": kept, "r0003": "skipped"}
    wrong, problems = faults.credit_problems(server_db)
    assert (wrong, problems) == (0, [])


def test_a_run_killed_inside_a_revision_is_attributed_to_it(tmp_path: Path,
                                                            pg_url: str) -> None:
    """SIGKILL the moment r0002 starts, well inside the 200 ms its ``running`` mark may
    wait corked: closing the socket still delivers the mark, so the next run records
    r0002 as the revision the dead run was in, r0001 as rolled back with it."""
    import signal

    ini = faults.make_project(tmp_path / "p", faults.instrumented_chain(3))
    faults.create_ran_table(pg_url)
    a = faults.start(ini, pg_url, tmp_path, "a", SLUICE_FAULT_PAUSE="r0002")
    faults.wait_until(lambda: (tmp_path / "paused").exists(), "A to start r0002", [a])
    a.send_signal(signal.SIGKILL)
    assert a.wait(timeout=60) == -signal.SIGKILL
    a.communicate()
    rerun = faults.start(ini, pg_url, tmp_path, "rerun")
    assert rerun.wait(timeout=60) == 0, (tmp_path / "rerun.err").read_text()
    rerun.communicate()
    first = min(faults.history(pg_url), key=lambda e: e.id).run_id
    assert {e.revision: e.status for e in faults.history(pg_url) if e.run_id == first} == {
        "r0001": "rolled_back", "r0002": "failed", "r0003": "skipped"}


def test_a_lock_lost_before_a_revision_commits_part_of_itself_commits_nothing(
        tmp_path: Path, pg_url: str) -> None:
    """r0003 enters an autocommit block (as a sluice.data step or a concurrent index build
    does), which commits everything the run did so far, after the lock's session was
    killed: the lock is checked before that commit, so nothing of the run is committed
    unguarded, and the report does not say part of r0003 stayed."""
    revs = faults.instrumented_chain(3)
    revs[2].upgrade += "\nwith op.get_context().autocommit_block():\n    pass"
    ini = faults.make_project(tmp_path / "p", revs)
    faults.create_ran_table(pg_url)
    (tmp_path / "go_kill").write_text("go")
    (tmp_path / "go_on").write_text("go")
    proc = faults.start(ini, pg_url, tmp_path, "a", SLUICE_FAULT_KILL="r0003")
    code = proc.wait(timeout=120)
    proc.communicate()
    err = (tmp_path / "a.err").read_text()
    assert code == 2, err
    assert "Traceback" not in err and "lost the migration lock on " in err, err
    assert "stays committed" not in err and "committed part" not in err, err
    assert "the database is at base" in err, err
    engine = faults.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert not faults.inspect(conn).has_table("t0003")
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {faults.RAN_TABLE}").scalar() == 0
    finally:
        engine.dispose()
    status = {e.revision: e.status for e in faults.history(pg_url)}
    assert status == {"r0001": "rolled_back", "r0002": "rolled_back", "r0003": "rolled_back"}
