"""The migration lock: one deploy migrates a database at a time.

- PostgreSQL: a session-level ``pg_advisory_lock`` on a dedicated connection held for the
  whole run. Advisory locks are scoped to the database and die with the session, so a
  killed deploy releases the lock the moment its connection drops.
- MySQL/MariaDB: ``GET_LOCK('sluice:<database>:<version table>')`` on a dedicated
  connection; also session-scoped and released when the connection closes. Lock names are
  server-wide, hence the database name inside it.
- SQLite: ``BEGIN EXCLUSIVE`` on a small lock database next to the database file
  (``shop.db`` -> ``shop.db.sluice-lock``). SQLite's own file locks are what the OS releases
  when a process dies, and they work on every platform SQLite runs on. Taking the exclusive
  lock on the database itself would be wrong: it would block the migration's own
  connection and every reader of the application for the whole run.

The holder writes who it is (host, pid, user, environment, since when) into the
``sluice_lock_holder`` table of the target database right after acquiring the lock, so a
waiting process can say who it is waiting for. Waiting is done in slices of at most one
second so the waiter can report progress and give up at ``migration_lock_timeout``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import math
import os
import socket
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, delete, insert, select
from sqlalchemy import text as sql_text
from sqlalchemy.engine import URL, Connection, Engine, make_url

from sluice.errors import SluiceError, mask_url
from sluice.owned import LOCK_HOLDER_TABLE
from sluice.runner.database import backend, connect, first_line, make_engine, sqlite_path
from sluice.runner.durations import format_duration

HOLDER_TABLE = LOCK_HOLDER_TABLE

_metadata = MetaData()
holder_table = Table(
    HOLDER_TABLE,
    _metadata,
    Column("lock_name", String(190), primary_key=True),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("username", String(255)),
    Column("environment", String(100)),
    Column("command", String(255)),
    Column("since", DateTime),
)


class LockTimeout(SluiceError):
    """Gave up waiting for another process holding the migration lock (exit 1)."""

    exit_code = 1


def utcnow() -> dt.datetime:
    """Naive UTC, as stored in Sluice's tables."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


@dataclass
class Holder:
    """Who holds (or wants) the lock."""

    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    username: str = field(default_factory=current_user)
    environment: str = ""
    command: str = ""
    since: dt.datetime | None = None

    def describe(self, now: dt.datetime | None = None) -> str:
        who = f"{self.username}@{self.host} pid {self.pid}"
        extra = ", ".join(x for x in (f"env {self.environment}" if self.environment else "",
                                      self.command) if x)
        if extra:
            who += f" ({extra})"
        if self.since is not None:
            ago = ((now or utcnow()) - self.since).total_seconds() * 1000
            who += f" since {self.since:%Y-%m-%d %H:%M:%S} UTC ({format_duration(max(ago, 0))} ago)"
        return who


WaitCallback = Callable[[Holder | None, float], None]


def lock_name(database: str, version_table: str = "alembic_version") -> str:
    name = f"sluice:{database}:{version_table}"
    if len(name) > 64:  # MySQL's limit for GET_LOCK names
        name = "sluice:" + hashlib.sha256(name.encode()).hexdigest()[:40]
    return name


def advisory_key(name: str) -> int:
    """A signed 64-bit key for ``pg_advisory_lock`` derived from the lock name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class MigrationLock:
    """Acquire with :meth:`acquire` (or ``with``); :meth:`release` frees it.

    ``on_wait(holder, waited_ms)`` is called about once a second while waiting;
    :class:`LockTimeout` is raised after ``timeout_ms`` (0: try once).
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
        self._sqlite_lock: sqlite3.Connection | None = None
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
        self.engine = make_engine(self.url)
        self.conn = connect(self.engine)
        try:
            self._setup()
            start = time.monotonic()
            deadline = start + self.timeout_ms / 1000
            got = self._try(0)
            while not got:
                self.waited_ms = (time.monotonic() - start) * 1000
                holder = self.read_holder()
                if self.on_wait is not None:
                    self.on_wait(holder, self.waited_ms)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timeout_error(holder)
                got = self._try(min(self.slice_ms / 1000, remaining))
            self.waited_ms = (time.monotonic() - start) * 1000
            self.acquired = True
            self._write_holder()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        try:
            if self.acquired and self.conn is not None:
                try:
                    self.conn.execute(
                        delete(holder_table).where(holder_table.c.lock_name == self.name)
                    )
                except Exception:
                    pass
                try:
                    self._unlock()
                except Exception:
                    pass  # closing the session below releases it anyway
        finally:
            self.acquired = False
            if self._sqlite_lock is not None:
                self._sqlite_lock.close()
                self._sqlite_lock = None
            if self.conn is not None:
                self.conn.close()
                self.conn = None
            if self.engine is not None:
                self.engine.dispose()
                self.engine = None

    def read_holder(self) -> Holder | None:
        """The recorded holder of this lock, if any (None when unknown)."""
        assert self.conn is not None
        try:
            row = self.conn.execute(
                select(holder_table).where(holder_table.c.lock_name == self.name)
            ).first()
        except Exception:
            return None
        if row is None:
            return None
        return Holder(host=row.host or "?", pid=row.pid or 0, username=row.username or "?",
                      environment=row.environment or "", command=row.command or "",
                      since=row.since)

    # ------------------------------------------------------------------ backends

    def _setup(self) -> None:
        assert self.conn is not None
        if self.backend == "postgresql":
            database = str(self.conn.execute(sql_text("SELECT current_database()")).scalar())
            self.name = lock_name(database, self.version_table)
            app = f"sluice lock {self.holder.host}:{self.holder.pid}"[:63]
            self.conn.execute(sql_text("SELECT set_config('application_name', :a, false)"),
                              {"a": app})
        elif self.backend == "mysql":
            database = str(self.conn.execute(sql_text("SELECT DATABASE()")).scalar())
            self.name = lock_name(database, self.version_table)
        elif self.backend == "sqlite":
            path = sqlite_path(self.url)
            self.name = lock_name(os.path.abspath(path) if path else ":memory:",
                                  self.version_table)
            if path is not None:
                self._sqlite_lock = sqlite3.connect(
                    f"{path}.sluice-lock", timeout=0, isolation_level=None,
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
                return bool(self.conn.execute(
                    sql_text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            self.conn.execute(sql_text(f"SET lock_timeout = {max(1, int(slice_s * 1000))}"))
            try:
                self.conn.execute(sql_text("SELECT pg_advisory_lock(:k)"), {"k": key})
                return True
            except Exception as exc:
                if "lock timeout" in str(exc) or "55P03" in str(getattr(exc, "orig", "")):
                    return False
                raise SluiceError(
                    f"{mask_url(self.url)}: cannot take the migration lock: {first_line(exc)}"
                ) from None
            finally:
                self.conn.execute(sql_text("SET lock_timeout = 0"))
        if self.backend == "mysql":
            wait = 0 if slice_s <= 0 else max(1, math.ceil(slice_s))
            got = self.conn.execute(
                sql_text("SELECT GET_LOCK(:n, :t)"), {"n": self.name, "t": wait}
            ).scalar()
            if got is None:
                raise SluiceError(f"{mask_url(self.url)}: GET_LOCK('{self.name}') failed")
            return bool(got)
        # sqlite
        if self._sqlite_lock is None:  # in-memory database: one process only
            return True
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
            self.conn.execute(sql_text("SELECT pg_advisory_unlock(:k)"),
                              {"k": advisory_key(self.name)})
        elif self.backend == "mysql":
            self.conn.execute(sql_text("SELECT RELEASE_LOCK(:n)"), {"n": self.name})
        elif self._sqlite_lock is not None:
            self._sqlite_lock.execute("ROLLBACK")

    def _write_holder(self) -> None:
        assert self.conn is not None
        self.holder.since = utcnow()
        try:
            ensure_holder_table(self.conn)
            self.conn.execute(delete(holder_table).where(holder_table.c.lock_name == self.name))
            self.conn.execute(insert(holder_table).values(
                lock_name=self.name, host=self.holder.host[:255], pid=self.holder.pid,
                username=self.holder.username[:255], environment=self.holder.environment[:100],
                command=self.holder.command[:255], since=self.holder.since,
            ))
        except Exception as exc:
            raise SluiceError(
                f"{mask_url(self.url)}: cannot record the migration lock holder in "
                f"{HOLDER_TABLE}: {first_line(exc)}"
            ) from None

    def _timeout_error(self, holder: Holder | None) -> LockTimeout:
        who = holder.describe() if holder else "another process (holder not recorded)"
        hint = {
            "postgresql": "If no deploy is running, find the session holding it with "
            "`SELECT pid, application_name, backend_start FROM pg_stat_activity WHERE "
            "application_name LIKE 'sluice lock%'` and end it with pg_terminate_backend(pid).",
            "mysql": f"If no deploy is running, find the session with `SELECT IS_USED_LOCK('{self.name}')` "
            "and end it with KILL <id>.",
            "sqlite": f"If no deploy is running, a process on this host still has "
            f"{sqlite_path(self.url)}.sluice-lock open: find it with `fuser` or `lsof` and stop it.",
        }.get(self.backend, "")
        return LockTimeout(
            f"gave up waiting for the migration lock on {mask_url(self.url)} after "
            f"{format_duration(self.timeout_ms)}: held by {who}",
            hint="Another deploy is migrating this database; nothing was changed by this run. "
            "Let it finish, then run again (raise migration_lock_timeout to wait longer). "
            + hint,
        )


def ensure_holder_table(conn: Connection) -> None:
    _metadata.create_all(conn, tables=[holder_table], checkfirst=True)
