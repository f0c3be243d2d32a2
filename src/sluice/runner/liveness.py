"""Whether the run that left audit rows open is still going (for ``sluice history``).

A run writes ``pending``/``running`` rows in ``sluice_history`` while it holds the
migration lock, and its final statuses before it lets go. A run that was SIGKILLed, or
whose machine died, leaves them open until the next run takes the lock and closes them
(:func:`sluice.runner.audit.reconcile_stale`). A reader cannot take the lock to find out,
so it asks what the lock leaves behind, without changing anything:

- the lock holder's row in ``sluice_lock_holder`` (host, pid, since when, and the server
  session of its audit connection, which stays open for the whole run). It belongs to the
  open rows' run when host and pid match and it was written before the rows were;
- on PostgreSQL and MySQL/MariaDB, whether that session still exists on the server
  (``pg_stat_activity``: pid and start; ``information_schema.PROCESSLIST``: id), and
  whether anyone holds the lock (``pg_locks``, ``IS_USED_LOCK``);
- on SQLite, whether the lock file is locked (the OS releases the lock of a process that
  ends, whatever ended it).

Each open run is then ``alive``, ``gone`` (provably: its session no longer exists, nobody
holds the lock, a later run took the lock after the admission check that its sessions
were gone) or ``unknown`` (the role may not read the holder row, or may not see other
users' sessions), with the reason; nothing is claimed that was not seen.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from sluice.owned import LOCK_HOLDER_TABLE, refusal_hint, refused_table
from sluice.runner.audit import OPEN_STATUSES, HistoryEntry
from sluice.runner.database import current_database, first_line, sqlite_path
from sluice.runner.lock_holder import (
    PG_ADVISORY_KEY,
    SESSIONS_HIDDEN,
    Holder,
    advisory_key,
    lock_name,
    session_alive,
    sqlite_lock_file,
)

_PG_LOCK_HELD = (
    "SELECT count(*) FROM pg_locks WHERE database = (SELECT oid FROM pg_database WHERE "
    f"datname = current_database()) AND {PG_ADVISORY_KEY}:k")
@dataclass(frozen=True)
class Liveness:
    """``alive``, ``gone`` or ``unknown``, and what says so."""

    state: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"state": self.state, "reason": self.reason}


def open_runs(conn: Connection, entries: Iterable[HistoryEntry]) -> dict[str, Liveness]:
    """The liveness of each run (by ``run_id``) with a ``pending``/``running`` row in
    ``entries``, read on ``conn`` (any connection to the database; nothing is written)."""
    runs: dict[str, HistoryEntry] = {}
    for e in entries:
        if e.status in OPEN_STATUSES:
            first = runs.get(e.run_id)
            if first is None or (e.started and (first.started is None
                                                or e.started < first.started)):
                runs[e.run_id] = e
    if not runs:
        return {}
    probe = _Probe(conn)
    return {run_id: probe.judge(e) for run_id, e in runs.items()}


class _Probe:
    """What the lock left behind, read once for every open run."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.backend = "mysql" if conn.dialect.name in ("mysql", "mariadb") \
            else conn.dialect.name
        self.name = self._lock_name()
        self.holder: Holder | None = None
        self.holder_error: str | None = None
        self._read_holder()
        self.held = self._lock_held()

    def judge(self, e: HistoryEntry) -> Liveness:
        if self.holder_error is not None:
            return Liveness("unknown", self.holder_error)
        h = self.holder
        mine = h is not None and h.host == e.host and h.pid == e.pid and (
            h.since is None or e.started is None or h.since <= e.started)
        if h is None or not mine:
            if h is not None:
                return Liveness("gone", f"a later run ({h.describe()}) has taken the "
                                "migration lock since, which it gets only once this run's "
                                "sessions are gone")
            if self.held is False:
                return Liveness("gone", "nobody holds the migration lock, and the run's "
                                "holder row is gone")
            return Liveness("gone", "the run's holder row in sluice_lock_holder is gone: "
                            "it let go of the migration lock")
        if self.backend == "sqlite" or not h.session:
            return self._by_lock()
        alive = self._session_alive(h.session)
        if alive is True:
            lost = "" if self.held is not False else (
                " (it lost the migration lock: it stops at its next check)")
            return Liveness("alive", f"its session {h.session} is open{lost}")
        if alive is False:
            return Liveness("gone", f"its database session {h.session}, open for the whole "
                            "run, no longer exists on the server")
        if self.held:
            return Liveness("alive", "its holder row names the session that holds the "
                            f"migration lock (the session {h.session} itself is hidden from "
                            f"this role: {self._hidden})")
        return Liveness("unknown", "nobody holds the migration lock, but whether its "
                        f"session {h.session} is still open is hidden from this role "
                        f"({self._hidden}), so it may have lost the lock and still be "
                        "finishing a statement")

    def _by_lock(self) -> Liveness:
        if self.held is None:
            return Liveness("unknown", "cannot tell whether the migration lock is held")
        if self.held:
            return Liveness("alive", "it holds the migration lock")
        if self.backend == "sqlite":
            return Liveness("gone", "nobody holds the migration lock (the system releases "
                            "it when the process holding it ends)")
        return Liveness("gone", "nobody holds the migration lock")

    @property
    def _hidden(self) -> str:
        return SESSIONS_HIDDEN.get(self.backend, "")

    def _lock_name(self) -> str:
        if self.backend == "sqlite":
            path = sqlite_path(self.conn.engine.url)
            return lock_name(os.path.abspath(path) if path else ":memory:")
        return lock_name(current_database(self.conn))

    def _read_holder(self) -> None:
        try:
            row = self.conn.execute(text(f"SELECT * FROM {LOCK_HOLDER_TABLE} WHERE "
                                         "lock_name = :n"), {"n": self.name}).first()
        except Exception as exc:  # noqa: BLE001 - missing (no holder yet), or refused
            self._end()
            if refused_table(exc, [LOCK_HOLDER_TABLE]):
                grant = refusal_hint(self.conn, LOCK_HOLDER_TABLE, [LOCK_HOLDER_TABLE],
                                     read_only=True)
                self.holder_error = (f"this role may not read {LOCK_HOLDER_TABLE}, where "
                                     "the lock holder is recorded"
                                     + (f" ({grant})" if grant else ""))
            elif not _missing_table(exc):
                self.holder_error = (f"cannot read {LOCK_HOLDER_TABLE}: "
                                     f"{first_line(exc)}")
            return
        self._end()
        if row is None:
            return
        m: Any = row._mapping
        since = m.get("since")
        if isinstance(since, str):  # SQLite keeps the time as text
            since = dt.datetime.fromisoformat(since)
        self.holder = Holder(host=m.get("host") or "?", pid=m.get("pid") or 0,
                             username=m.get("username") or "?",
                             environment=m.get("environment") or "",
                             command=m.get("command") or "", since=since,
                             session=m.get("session"))

    def _lock_held(self) -> bool | None:
        try:
            if self.backend == "postgresql":
                return bool(self.conn.execute(text(_PG_LOCK_HELD),
                                              {"k": advisory_key(self.name)}).scalar())
            if self.backend == "mysql":
                return self.conn.execute(text("SELECT IS_USED_LOCK(:n)"),
                                         {"n": self.name}).scalar() is not None
            return _sqlite_lock_held(sqlite_path(self.conn.engine.url))
        except Exception:  # noqa: BLE001 - not known, then
            return None
        finally:
            self._end()

    def _session_alive(self, session: str) -> bool | None:
        """Whether the server session ``pg:<pid>:<start>``/``my:<id>`` still exists
        (None: this role cannot see it)."""
        try:
            return session_alive(self.conn, self.backend, session)
        except Exception:  # noqa: BLE001 - not known, then
            return None
        finally:
            self._end()

    def _end(self) -> None:
        if self.conn.in_transaction():
            self.conn.rollback()


def _missing_table(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None) or exc
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    args = tuple(getattr(orig, "args", ()))
    return state == "42P01" or (bool(args) and args[0] == 1146) \
        or "no such table" in str(orig)


def _sqlite_lock_held(path: str | None) -> bool | None:
    """Whether a process holds the lock file of the SQLite database at ``path``: it keeps
    an exclusive transaction open on it, which a reader cannot get past. Opened read-only,
    never created; looked at for an instant, so a deploy starting meanwhile waits at most
    its next lock slice."""
    if path is None:
        return None
    lock = sqlite_lock_file(path)
    if not os.path.exists(lock):
        return False
    import sqlite3  # lazy: only for a SQLite database

    try:
        probe = sqlite3.connect(f"{Path(lock).resolve().as_uri()}?mode=ro", uri=True,
                                timeout=0)
    except sqlite3.Error:
        return None
    try:
        probe.execute("SELECT count(*) FROM sqlite_master").fetchall()
        return False
    except sqlite3.OperationalError as exc:
        return True if "locked" in str(exc) or "busy" in str(exc) else None
    finally:
        probe.close()
