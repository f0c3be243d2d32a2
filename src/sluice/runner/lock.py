"""The migration lock: one deploy migrates a database at a time.

- PostgreSQL: a session-level ``pg_advisory_lock`` on a dedicated connection held for the
  whole run. Advisory locks are scoped to the database and die with the session, so a
  killed deploy releases the lock the moment its connection drops.
- MySQL/MariaDB: ``GET_LOCK('sluice:<database>')`` on a dedicated connection; also
  session-scoped and released when the connection closes. Lock names are server-wide,
  hence the database name inside it.
- SQLite: ``BEGIN EXCLUSIVE`` on a small lock database next to the database file
  (``shop.db`` -> ``shop.db.sluice-lock``). SQLite's own file locks are what the OS releases
  when a process dies, and they work on every platform SQLite runs on. Taking the exclusive
  lock on the database itself would be wrong: it would block the migration's own
  connection and every reader of the application for the whole run.

There is one lock per database, whatever the version table: services that keep their own
version table in one database take turns like everyone else.

The holder writes who it is (host, pid, user, environment, since when, and the server
session of its audit connection) into the ``sluice_lock_holder`` table of the target
database right after acquiring the lock, so a waiting process can say who it is waiting
for. Waiting is done in slices of at most one second so the waiter can report progress
and give up at ``migration_lock_timeout``.

A lock held on a connection can be lost: a server or pooler ends idle sessions
(PostgreSQL ``idle_session_timeout``, MySQL ``wait_timeout``), a firewall drops an idle
TCP connection, someone ends the session. So:

- the lock's connections are set up not to look idle to the server (idle timeouts off for
  the session, TCP keep-alives on PostgreSQL);
- :meth:`MigrationLock.verify` checks that this session still holds the lock; the runner
  checks before each revision (and, where DDL is transactional, before the revision is
  stamped) and stops with :class:`LockLost` when it does not. On PostgreSQL and MySQL the
  check before a revision is :meth:`MigrationLock.mark_running`: one statement on the
  lock's connection that writes the revision's ``running`` audit mark only while that
  session holds the lock, so the check and the mark cost one round trip (on PostgreSQL
  through psycopg 3 it is sent without waiting for the answer: :mod:`sluice.runner.lock_marks`);
- a process that gets the lock also checks the previous holder's row: when that run's
  audit connection is still open on the server, the run lost its lock but may still be
  migrating, and the new process waits for it as if it still held the lock. A run whose
  connections are all gone is provably dead; only then are its audit rows reconciled.
"""


from __future__ import annotations

import math
import os
import re
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, insert, select
from sqlalchemy.engine import URL, Connection, Engine, make_url

from sluice.errors import SluiceError, mask_url
from sluice.runner import audit
from sluice.runner.audit import StepRecord
from sluice.runner.database import (
    TextFn,
    backend,
    connect,
    driver_sql,
    first_line,
    make_engine,
    own_tables_hint,
    sqlite_path,
    with_text_fallback,
)
from sluice.runner.lock_holder import (
    HOLDER_TABLE,
    PG_ADVISORY_KEY,
    SESSIONS_HIDDEN,
    Holder,
    WaitCallback,
    advisory_key,
    current_user,
    ensure_holder_table,
    holder_table,
    lock_name,
    session_alive,
    sqlite_lock_file,
    utcnow,
)
from sluice.runner.lock_marks import AsyncMarks, MarkFailed, pgconn_of
from sluice.runner.lock_session import (
    KEEPALIVE_IDLE_S,
    MYSQL_WAIT_TIMEOUT_S,
    LockLost,
    LockTimeout,
    keepalive_args,
    never_idle_out,
    own_table_refused,
    session_of,
    timeout_error,
)

if TYPE_CHECKING:
    import sqlite3

#: True on the lock's own connection while it holds the lock (``:lock_key``, ``:lock_name``).
_PG_HELD = ("EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND "
            f"{PG_ADVISORY_KEY}:lock_key)")
_MYSQL_HELD = "IS_USED_LOCK(:lock_name) = CONNECTION_ID()"
_READ_HOLDER = (f"SELECT host, pid, username, environment, command, since, session "
                f"FROM {HOLDER_TABLE} WHERE lock_name = :name")

__all__ = [
    "HOLDER_TABLE", "KEEPALIVE_IDLE_S", "MYSQL_WAIT_TIMEOUT_S", "Holder", "LockLost",
    "LockTimeout", "MigrationLock", "WaitCallback", "advisory_key", "current_user",
    "ensure_holder_table", "holder_table", "lock_name", "utcnow",
]


class MigrationLock:
    """Acquire with :meth:`acquire` (or ``with``); :meth:`release` frees it.

    ``on_wait(holder, waited_ms)`` is called about once a second while waiting;
    :class:`LockTimeout` is raised after ``timeout_ms`` (0: try once). ``version_table``
    is accepted for callers' convenience; the lock is the database's, whatever the table.
    While held, :attr:`audit_conn` is a transactional connection of the same holder for
    the audit rows; its server session is what tells others this run is still alive.
    """

    def __init__(
        self,
        url: str | URL,
        *,
        timeout_ms: int,
        holder: Holder | None = None,
        version_table: str = "alembic_version",
        on_wait: WaitCallback | None = None,
        slice_ms: int = 1000,
    ) -> None:
        self.url = make_url(url)
        self.backend = backend(self.url)
        self.timeout_ms = timeout_ms
        self.holder = holder or Holder()
        self.version_table = version_table
        self.on_wait = on_wait
        self.slice_ms = slice_ms
        self.engine: Engine | None = None
        self.conn: Connection | None = None
        self.audit_conn: Connection | None = None
        self._session: str | None = None
        self._sqlite_lock: sqlite3.Connection | None = None
        self._marks: AsyncMarks | None = None
        self.name = ""
        self.acquired = False
        self.waited_ms = 0.0

    # ------------------------------------------------------------------ public

    def __enter__(self) -> MigrationLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def acquire(self) -> None:
        self.engine = make_engine(self.url, connect_args=keepalive_args(self.url))
        event.listen(self.engine, "connect", never_idle_out)
        self.conn = connect(self.engine)
        try:
            self._setup()
            start = time.monotonic()
            deadline = start + self.timeout_ms / 1000
            got = self._try(0)
            while not got:
                self.waited_ms = (time.monotonic() - start) * 1000
                holder = self.read_holder()
                self._wait(holder, deadline)
                remaining = deadline - time.monotonic()
                got = self._try(min(self.slice_ms / 1000, remaining))
            self.acquired = True
            if self.backend == "postgresql":
                pgconn = pgconn_of(self.conn.connection.dbapi_connection)
                if pgconn is not None:
                    self._marks = AsyncMarks(pgconn, advisory_key(self.name))
            self.audit_conn = connect(self.engine, autocommit=False)
            if self.backend != "sqlite":
                self._session = session_of(self.audit_conn, self.backend)
                self.audit_conn.rollback()
            self._admit(start, deadline)
            self.waited_ms = (time.monotonic() - start) * 1000
            self._write_holder()
        except BaseException:
            self.release()
            raise

    def _wait(self, holder: Holder | None, deadline: float) -> None:
        if self.on_wait is not None:
            self.on_wait(holder, self.waited_ms)
        if deadline - time.monotonic() <= 0:
            raise self._timeout_error(holder)

    def _admit(self, start: float, deadline: float) -> None:
        """Wait while the previous holder lost the lock but is still connected.

        Its row stays when it did not release the lock itself; its audit connection's
        server session still being open means the process is alive and may be in the
        middle of a revision. It stops at its next check and closes that connection.
        """
        while True:
            holder = self.read_holder()
            if holder is None or not holder.session or holder.session == self._session:
                return
            assert self.conn is not None
            alive = session_alive(self.conn, self.backend, holder.session)
            if alive is False:
                return
            holder.lost = True  # (a session this role cannot see is waited for too)
            holder.hidden = SESSIONS_HIDDEN.get(self.backend, "?") if alive is None else ""
            self.waited_ms = (time.monotonic() - start) * 1000
            self._wait(holder, deadline)
            time.sleep(max(0.0, min(self.slice_ms / 1000, deadline - time.monotonic())))

    def _held(self) -> tuple[str, dict[str, Any]]:
        """SQL true when the lock's own connection runs it and still holds the lock."""
        if self.backend == "postgresql":
            return _PG_HELD, {"lock_key": advisory_key(self.name)}
        return _MYSQL_HELD, {"lock_name": self.name}

    def verify(self) -> None:
        """Raise :class:`LockLost` unless this session still holds the lock (one round trip)."""
        if not self.acquired or self.conn is None:
            raise LockLost(self.url, "the lock was released")
        self._settle()
        try:
            if self.backend in ("postgresql", "mysql"):
                condition, params = self._held()
                held = self.conn.exec_driver_sql(
                    *audit.driver_sql(self.conn, f"SELECT {condition}", params)).scalar()
            else:
                held = self._sqlite_lock is None or self._sqlite_lock.in_transaction
        except Exception as exc:
            raise self._gone(exc) from None
        if not held:
            raise LockLost(self.url, "its session no longer holds it")

    def mark_running(self, step: StepRecord) -> None:
        """The lock checked and ``step``'s ``running`` audit mark written in one round trip:
        the mark is written on the lock's own connection, by a statement that changes the
        row only while that session holds the lock (and only while the row is still
        ``pending``). Raises :class:`LockLost` (nothing is written then), as :meth:`verify`
        does. On PostgreSQL through psycopg 3 the statement is sent without waiting for
        its answer, which is read before the next use of the connection
        (:mod:`sluice.runner.lock_marks`)."""
        if not self.acquired or self.conn is None:
            raise LockLost(self.url, "the lock was released")
        if self._marks is not None:
            self._send_mark(step)
            return
        if self.backend not in ("postgresql", "mysql"):
            self.verify()
            if self.audit_conn is not None:
                audit.mark_running(self.audit_conn, step)
            return
        condition, params = self._held()
        try:
            changed = audit.mark_running_if(self.conn, step, condition, params)
        except Exception as exc:
            raise self._gone(exc) from None
        if changed != 1:
            self.verify()  # lost, or the row is not there (then there is nothing to mark)

    def _send_mark(self, step: StepRecord) -> None:
        assert self._marks is not None
        for attempt in (1, 2):
            try:
                if step.run_id is None:
                    self._marks.settle()
                    self._marks.check_open()
                else:
                    self._marks.send(step.run_id, step.revision, step.started)
                return
            except MarkFailed as exc:
                if exc.gone or attempt == 2:
                    raise self._gone(exc) from None
                self.verify()  # the previous mark changed nothing: lost, or no row there

    def _settle(self) -> None:
        """The outstanding mark's answer read, so the connection can be used again."""
        if self._marks is None:
            return
        try:
            self._marks.settle()
        except MarkFailed as exc:
            if exc.gone:
                raise self._gone(exc) from None
            refused = own_table_refused(self.url, self.conn, exc)
            if refused is not None:  # the run cannot record itself: stop before the commit
                raise refused from None
            # changed no row: the caller's own check says whether the lock is still held

    def _gone(self, exc: BaseException) -> LockLost:
        refused = own_table_refused(self.url, self.conn, exc)
        if refused is not None:  # a privilege revoked mid-run, not the connection
            return refused
        return LockLost(self.url, "its connection is gone (the server or something in "
                        f"between closed it): {first_line(exc)}")

    def session_id(self) -> str | None:
        """The server session of :attr:`audit_conn` (None on SQLite or before acquiring)."""
        return self._session

    def release(self) -> None:
        try:
            if self._marks is not None:
                try:
                    self._marks.settle()
                except Exception:
                    pass  # a connection that is gone: the deletes below say so
                self._marks = None
            if self.acquired and self.conn is not None:
                self._delete_holder()
                try:
                    self._unlock()
                except Exception:
                    pass  # closing the session below releases it anyway
        finally:
            self.acquired = False
            if self._sqlite_lock is not None:
                self._sqlite_lock.close()
                self._sqlite_lock = None
            for conn in (self.audit_conn, self.conn):
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:
                        pass
            self.audit_conn = self.conn = None
            self._session = None
            if self.engine is not None:
                self.engine.dispose()
                self.engine = None

    def _delete_holder(self) -> None:
        """Our row only (a process that took the lock after we lost it writes its own);
        through the audit connection when the lock connection is gone."""
        sql = f"DELETE FROM {HOLDER_TABLE} WHERE lock_name = :name"
        params: dict[str, Any] = {"name": self.name}
        if self._session is not None:
            sql += " AND session = :session"
            params["session"] = self._session
        for conn in (self.conn, self.audit_conn):
            if conn is None:
                continue
            try:
                if conn.in_transaction() and conn is self.audit_conn:
                    conn.rollback()
                _driver(conn, sql, params)
                if conn.in_transaction():
                    conn.commit()
                return
            except Exception:
                continue

    def read_holder(self) -> Holder | None:
        """The recorded holder of this lock, if any (None when unknown)."""
        assert self.conn is not None
        try:
            if self.backend == "sqlite":  # the time is text there: SQLAlchemy's type reads it
                row = self.conn.execute(
                    select(holder_table).where(holder_table.c.lock_name == self.name)
                ).first()
            else:  # the driver returns the time as it is; nothing to compile first
                row = _driver(self.conn, _READ_HOLDER, {"name": self.name}).first()
        except Exception:
            return None
        if row is None:
            return None
        return Holder(host=row.host or "?", pid=row.pid or 0, username=row.username or "?",
                      environment=row.environment or "", command=row.command or "",
                      since=row.since, session=getattr(row, "session", None))

    # ------------------------------------------------------------------ backends

    def _setup(self) -> None:
        assert self.conn is not None
        if self.backend == "postgresql":
            app = f"sluice lock {self.holder.host}:{self.holder.pid}"[:63]
            database = str(_driver(
                self.conn, "SELECT current_database(), set_config('application_name', :a, false)",
                {"a": app}).one()[0])
            self.name = lock_name(database)
        elif self.backend == "mysql":
            database = str(_driver(self.conn, "SELECT DATABASE()").scalar())
            self.name = lock_name(database)
        elif self.backend == "sqlite":
            path = sqlite_path(self.url)
            self.name = lock_name(os.path.abspath(path) if path else ":memory:")
            if path is not None:
                import sqlite3  # lazy: start-up: the driver only for a SQLite database

                self._sqlite_lock = sqlite3.connect(
                    sqlite_lock_file(path), timeout=0, isolation_level=None,
                    check_same_thread=False,
                )
        else:
            raise SluiceError(
                f"{mask_url(self.url)}: the migration lock supports PostgreSQL, MySQL/MariaDB "
                f"and SQLite, not {self.backend}"
            )

    def _try(self, slice_s: float) -> bool:
        assert self.conn is not None
        if self.backend == "postgresql":
            key = advisory_key(self.name)
            if slice_s <= 0:
                return bool(_driver(
                    self.conn, "SELECT pg_try_advisory_lock(:k)", {"k": key}).scalar())
            _driver(self.conn, f"SET lock_timeout = {max(1, int(slice_s * 1000))}")
            try:
                _driver(self.conn, "SELECT pg_advisory_lock(:k)", {"k": key})
                return True
            except Exception as exc:
                if "lock timeout" in str(exc) or "55P03" in str(getattr(exc, "orig", "")):
                    return False
                raise SluiceError(
                    f"{mask_url(self.url)}: cannot take the migration lock: {first_line(exc)}"
                ) from None
            finally:
                _driver(self.conn, "SET lock_timeout = 0")
        if self.backend == "mysql":
            wait = 0 if slice_s <= 0 else max(1, math.ceil(slice_s))
            got = _driver(self.conn, "SELECT GET_LOCK(:n, :t)",
                          {"n": self.name, "t": wait}).scalar()
            if got is None:
                raise SluiceError(f"{mask_url(self.url)}: GET_LOCK('{self.name}') failed")
            return bool(got)
        # sqlite
        if self._sqlite_lock is None:  # in-memory database: one process only
            return True
        import sqlite3  # lazy: start-up: the driver only for a SQLite database

        self._sqlite_lock.execute(f"PRAGMA busy_timeout = {int(slice_s * 1000)}")
        try:
            self._sqlite_lock.execute("BEGIN EXCLUSIVE")
            return True
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return False
            raise SluiceError(f"{mask_url(self.url)}: cannot take the migration lock: {exc}") from None

    def _unlock(self) -> None:
        assert self.conn is not None
        if self.backend == "postgresql":
            _driver(self.conn, "SELECT pg_advisory_unlock(:k)", {"k": advisory_key(self.name)})
        elif self.backend == "mysql":
            _driver(self.conn, "SELECT RELEASE_LOCK(:n)", {"n": self.name})
        elif self._sqlite_lock is not None:
            self._sqlite_lock.execute("ROLLBACK")

    def _write_holder(self) -> None:
        assert self.conn is not None
        self.holder.since = utcnow()
        conn = self.conn
        holder = self.holder

        def write(text: TextFn) -> None:
            # a character the table cannot hold (one an older Sluice created in Latin-1,
            # a LATIN1 PostgreSQL database) is written escaped (see with_text_fallback)
            row = {"lock_name": self.name, "host": (text(holder.host) or "")[:255],
                   "pid": holder.pid, "username": (text(holder.username) or "")[:255],
                   "environment": (text(holder.environment) or "")[:100],
                   "command": (text(holder.command) or "")[:255], "since": holder.since,
                   "session": self.session_id()}
            _driver(conn, f"DELETE FROM {HOLDER_TABLE} WHERE lock_name = :name",
                    {"name": self.name})
            if self.backend == "sqlite":  # SQLAlchemy stores the time as its type says
                conn.execute(insert(holder_table).values(**row))
            else:  # the driver sends a datetime as the server's own type
                _driver(conn, f"INSERT INTO {HOLDER_TABLE} ({', '.join(row)}) "
                        f"VALUES ({', '.join(':' + k for k in row)})", row)

        try:
            try:  # the table is there, as it is after the first run
                with_text_fallback(conn, write)
            except Exception:  # missing, or created by an older Sluice: make it, then again
                ensure_holder_table(conn)
                with_text_fallback(conn, write)
        except Exception as exc:
            denied = re.search(r"permission denied|command denied", str(exc), re.I)
            raise SluiceError(
                f"{mask_url(self.url)}: cannot record the migration lock holder in "
                f"{HOLDER_TABLE}: {first_line(exc)}",
                hint=own_tables_hint(conn) if denied else None,
            ) from None

    def _timeout_error(self, holder: Holder | None) -> LockTimeout:
        return timeout_error(self.url, self.backend, self.name, self.timeout_ms, holder)


def _driver(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> Any:
    """One of the lock's own statements, sent as the driver's SQL: the lock's engine is new
    in each run, so SQLAlchemy would compile every statement it sends once more."""
    return conn.exec_driver_sql(*driver_sql(conn, sql, params or {}))
