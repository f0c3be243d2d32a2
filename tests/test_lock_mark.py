"""``MigrationLock.mark_running``: the lock check before a revision and its ``running``
audit mark in one statement on the lock's connection. The mark is written only while that
session holds the lock; otherwise :class:`LockLost` says why and the row stays as it was.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from sluice.runner import audit
from sluice.runner.lock import LockLost, MigrationLock


@pytest.fixture(params=["postgresql", "mysql"])
def server_db(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url" if request.param == "postgresql" else "mysql_url"))


@pytest.fixture
def held(server_db: str) -> Iterator[tuple[MigrationLock, audit.RunRecord]]:
    lock = MigrationLock(server_db, timeout_ms=0)
    lock.acquire()
    assert lock.audit_conn is not None
    run = audit.RunRecord(audit.new_run_id(), "dev", "ci", "host", 1, "sluice upgrade", [
        audit.StepRecord("r0001", "upgrade", None, "r0001", None),
        audit.StepRecord("r0002", "upgrade", "r0001", "r0002", None),
    ])
    audit.ensure_table(lock.audit_conn)
    audit.insert_pending(lock.audit_conn, run)
    try:
        yield lock, run
    finally:
        lock.release()


def statuses(url: str, run_id: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {r.revision: r.status for r in conn.execute(
                text("SELECT revision, status FROM sluice_history WHERE run_id = :r"),
                {"r": run_id})}
    finally:
        engine.dispose()


def end_session(url: str, lock: MigrationLock) -> None:
    """What an idle timeout or an operator does to the lock's session."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    assert lock.conn is not None
    try:
        with engine.connect() as conn:
            if url.startswith("postgresql"):
                pid = lock.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
                conn.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
            else:
                cid = lock.conn.exec_driver_sql("SELECT CONNECTION_ID()").scalar()
                conn.execute(text(f"KILL {int(cid)}"))
    finally:
        engine.dispose()


def test_the_mark_is_written_while_the_lock_is_held(server_db: str, held: Any) -> None:
    """Written without any further call on the lock: a revision that runs for long has
    its mark on the server (on PostgreSQL the marks are corked for at most 200 ms)."""
    lock, run = held
    run.steps[0].started = audit.utcnow()
    lock.mark_running(run.steps[0])
    deadline = time.monotonic() + 5
    while statuses(server_db, run.run_id)["r0001"] != "running" \
            and time.monotonic() < deadline:
        time.sleep(0.02)
    assert statuses(server_db, run.run_id) == {"r0001": "running", "r0002": "pending"}


def test_a_session_that_was_ended_writes_nothing(server_db: str, held: Any) -> None:
    lock, run = held
    end_session(server_db, lock)
    with pytest.raises(LockLost, match="its connection is gone"):
        lock.mark_running(run.steps[0])
    assert statuses(server_db, run.run_id) == {"r0001": "pending", "r0002": "pending"}


def test_a_session_that_no_longer_holds_the_lock_writes_nothing(server_db: str,
                                                                 held: Any) -> None:
    lock, run = held
    lock._unlock()  # the session lives on, without the lock
    with pytest.raises(LockLost, match="its session no longer holds it"):
        lock.mark_running(run.steps[0])
        # PostgreSQL through psycopg 3: the mark was sent without waiting, its answer
        # (no row changed) is read by the next check at the latest: the next revision's
        # mark, or the check before the commit
        lock.verify()
    assert statuses(server_db, run.run_id) == {"r0001": "pending", "r0002": "pending"}


def test_a_late_mark_never_overwrites_a_final_status(server_db: str, held: Any) -> None:
    lock, run = held
    run.steps[0].status = "failed"
    run.steps[0].error = "boom"
    assert lock.audit_conn is not None
    audit.write_final(lock.audit_conn, run.steps[:1])
    lock.mark_running(run.steps[0])  # arrives after the run wrote its final rows
    lock.verify()  # the lock is held: the mark that changed nothing is no lost lock
    assert statuses(server_db, run.run_id)["r0001"] == "failed"


def test_postgresql_marks_are_sent_without_waiting(pg_url: str) -> None:
    from sluice.runner.lock_marks import AsyncMarks

    lock = MigrationLock(pg_url, timeout_ms=0)
    lock.acquire()
    try:
        assert isinstance(lock._marks, AsyncMarks)  # psycopg 3: libpq's asynchronous API
        assert lock.audit_conn is not None
        run = audit.RunRecord(audit.new_run_id(), "dev", "ci", "host", 1, "sluice upgrade",
                              [audit.StepRecord(f"r{i}", "upgrade", None, None, None)
                               for i in range(3)])
        audit.ensure_table(lock.audit_conn)
        audit.insert_pending(lock.audit_conn, run)
        for step in run.steps:
            lock.mark_running(step)
            assert lock._marks.pending  # sent, its answer not read yet
        lock.verify()  # reads the last answer first
        assert not lock._marks.pending and lock._marks.sent == 3
        assert set(statuses(pg_url, run.run_id).values()) == {"running"}
    finally:
        lock.release()


def test_a_missing_row_is_not_a_lost_lock(server_db: str, held: Any) -> None:
    lock, _ = held
    stray = audit.StepRecord("r9999", "upgrade", None, "r9999", None, run_id="nosuchrun")
    lock.mark_running(stray)  # nothing to mark, and the lock is still held: no error


class _Dialect:
    def __init__(self, paramstyle: str) -> None:
        self.paramstyle = paramstyle


class _Conn:
    def __init__(self, paramstyle: str) -> None:
        self.dialect = _Dialect(paramstyle)


@pytest.mark.parametrize("style, sql, args", [
    ("pyformat", "x = %(a)s AND y::int = %(b)s AND z = %(a)s", {"a": 1, "b": 2}),
    ("named", "x = :a AND y::int = :b AND z = :a", {"a": 1, "b": 2}),
    ("format", "x = %s AND y::int = %s AND z = %s", (1, 2, 1)),
    ("qmark", "x = ? AND y::int = ? AND z = ?", (1, 2, 1)),
    ("numeric", "x = :1 AND y::int = :2 AND z = :3", (1, 2, 1)),
])
def test_driver_sql_speaks_each_paramstyle(style: str, sql: str, args: Any) -> None:
    out = audit.driver_sql(_Conn(style), "x = :a AND y::int = :b AND z = :a",  # type: ignore[arg-type]
                           {"a": 1, "b": 2})
    assert out == (sql, args)
