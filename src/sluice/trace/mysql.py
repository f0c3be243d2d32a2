"""MySQL/MariaDB probe: metadata locks, table copies and rebuilds.

Three sources, each used when the server offers it:

- ``performance_schema.metadata_locks`` (needs ``performance_schema=ON`` and the
  ``wait/lock/metadata/sql/mdl`` instrument): the metadata locks of the migrating thread.
  DDL commits implicitly and releases its locks before it returns, so a second
  connection samples them while the statement runs. An ``ALTER`` holds
  SHARED_UPGRADABLE for most of its run and upgrades to EXCLUSIVE for a moment to swap the
  new definition in; a moment is too short to sample, so before each DDL statement a
  third connection opens a transaction reading (``LIMIT 0``) the existing tables the
  statement names. The upgrade then waits for it, shows up as PENDING, and the holder
  commits at once: the exclusive lock is observed every time, for a millisecond of delay.
- ``information_schema.PROCESSLIST.STATE`` (always there): ``copy to tmp table`` and
  ``Enabling keys`` mean ALGORITHM=COPY, which on MariaDB (before 11.2) and MySQL blocks writes for the whole
  copy with a table lock that ``metadata_locks`` does not show.
- InnoDB's table id (``INNODB_SYS_TABLES`` on MariaDB, ``INNODB_TABLES`` on MySQL): it
  changes when a table is rebuilt.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Hashable
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from sluice.trace.probe import RawLock, Rel, Sampler, now, query

MDL_INSTRUMENT = "wait/lock/metadata/sql/mdl"
#: Thread states of ALGORITHM=COPY only: copying rows, rebuilding the copy's indexes,
#: swapping it in (an in-place ALTER shows "altering table" instead).
COPY_STATES = frozenset({"copy to tmp table", "enabling keys", "rename result table"})

_DDL = re.compile(r"^\s*(?:/\*.*?\*/\s*)*(CREATE|ALTER|DROP|RENAME|TRUNCATE)\b(?!\s+TEMPORARY)",
                  re.I | re.S)
_TARGET = re.compile(
    r"^\s*(?:ALTER\s+(?:ONLINE\s+)?(?:IGNORE\s+)?TABLE|OPTIMIZE\s+TABLE)\s+([`\"\w.$]+)"
    r"|^\s*CREATE\s+(?:UNIQUE\s+|FULLTEXT\s+|SPATIAL\s+)?INDEX\s+\S+\s+(?:USING\s+\w+\s+)?ON\s+([`\"\w.$]+)",
    re.I,
)


def enable_hint() -> str:
    return (
        "enable it with performance_schema=ON and "
        f"performance-schema-instrument='{MDL_INSTRUMENT}=ON' in the [mysqld] section of "
        "my.cnf, then restart the server (the instrument alone can be switched on at run "
        "time: UPDATE performance_schema.setup_instruments SET ENABLED='YES', TIMED='YES' "
        f"WHERE NAME='{MDL_INSTRUMENT}')"
    )


def lock_tracing_status(performance_schema: Any, instrument_enabled: str | None,
                        readable: bool = True) -> str | None:
    """None when metadata locks can be traced, else why not and how to enable it."""
    if not performance_schema or str(performance_schema) in ("0", "OFF"):
        return ("lock tracing is not available on this server: performance_schema is OFF, "
                "so its metadata locks cannot be read; " + enable_hint())
    if not readable:
        return ("lock tracing is not available on this server: this user cannot read "
                "performance_schema.metadata_locks (GRANT SELECT ON performance_schema.* TO it)")
    if instrument_enabled is None:
        return (f"lock tracing is not available on this server: the {MDL_INSTRUMENT} "
                "instrument does not exist; " + enable_hint())
    if str(instrument_enabled).upper() != "YES":
        return (f"lock tracing is not available on this server: the {MDL_INSTRUMENT} "
                "instrument is disabled; " + enable_hint())
    return None


def statement_target(sql: str) -> str | None:
    """The table an ALTER TABLE / CREATE INDEX statement changes."""
    m = _TARGET.match(sql)
    if not m:
        return None
    name = (m.group(1) or m.group(2) or "").replace("`", "").replace('"', "")
    return name.split(".")[-1] or None


class MySQLProbe:
    backend = "mysql"

    def __init__(self, url: URL, dbapi_conn: Any) -> None:
        self.url = url
        self.database = url.database or ""
        version = str(query(dbapi_conn, "SELECT VERSION()")[0][0])
        self._version = version
        self.backend = "mariadb" if "mariadb" in version.lower() else "mysql"
        ps = query(dbapi_conn, "SELECT @@performance_schema")[0][0]
        instrument: str | None = None
        readable = True
        if ps and str(ps) not in ("0", "OFF"):
            try:  # a user without SELECT on performance_schema is refused both
                rows = query(dbapi_conn, "SELECT ENABLED FROM performance_schema."
                                         "setup_instruments WHERE NAME = %s", (MDL_INSTRUMENT,))
                instrument = str(rows[0][0]) if rows else None
                query(dbapi_conn, "SELECT 1 FROM performance_schema.metadata_locks LIMIT 1")
            except Exception:
                readable = False
        self.unavailable_reason = lock_tracing_status(ps, instrument, readable)
        self.locks_available = self.unavailable_reason is None
        self._innodb_table = ("information_schema.INNODB_SYS_TABLES"
                              if self.backend == "mariadb" else "information_schema.INNODB_TABLES")
        self.rewrites_available = True
        self._engine: Any = None
        self._conns: dict[str, Any] = {}
        self._sessions: dict[int, tuple[int, int | None]] = {}

    # ------------------------------------------------------------------ the session
    def server_version(self, dbapi_conn: Any) -> str:
        return self._version

    def session_id(self, dbapi_conn: Any) -> tuple[int, int | None]:
        """(processlist id, performance_schema thread id)."""
        key = id(dbapi_conn)
        if key not in self._sessions:
            cid = int(query(dbapi_conn, "SELECT CONNECTION_ID()")[0][0])
            tid = None
            if self.locks_available:
                rows = query(dbapi_conn, "SELECT THREAD_ID FROM performance_schema.threads "
                                         "WHERE PROCESSLIST_ID = CONNECTION_ID()")
                tid = int(rows[0][0]) if rows else None
            self._sessions[key] = (cid, tid)
        return self._sessions[key]

    def is_autocommit(self, dbapi_conn: Any) -> bool:
        getter = getattr(dbapi_conn, "get_autocommit", None)
        return bool(getter()) if getter else False

    def implicit_commit(self, sql: str) -> bool:
        return bool(_DDL.match(sql))

    def samples_always(self) -> bool:
        return True

    # ------------------------------------------------------------------ catalog reads
    def relations(self, dbapi_conn: Any) -> dict[Hashable, Rel]:
        storage: dict[str, Any] = {}
        if self.rewrites_available:
            try:
                for name, table_id in query(
                    dbapi_conn, f"SELECT NAME, TABLE_ID FROM {self._innodb_table} WHERE NAME LIKE %s",
                    (self.database.replace("_", "\\_") + "/%",),
                ):
                    storage[str(name).split("/", 1)[1]] = int(table_id)
            except Exception:
                self.rewrites_available = False  # no PROCESS privilege: rebuilds cannot be seen
        out: dict[Hashable, Rel] = {}
        for name, ttype in query(dbapi_conn, "SELECT TABLE_NAME, TABLE_TYPE FROM "
                                             "information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                                 (self.database,)):
            kind = {"BASE TABLE": "table", "VIEW": "view", "SEQUENCE": "sequence"}.get(
                str(ttype), str(ttype).lower())
            out[str(name)] = Rel(key=str(name), name=str(name), kind=kind,
                                 storage=storage.get(str(name)))
        return out

    def after_statement(self, dbapi_conn: Any, with_relations: bool
                        ) -> tuple[list[RawLock], dict[Hashable, Rel] | None]:
        return (self.held_locks(dbapi_conn),
                self.relations(dbapi_conn) if with_relations else None)

    def held_locks(self, dbapi_conn: Any) -> list[RawLock]:
        if not self.locks_available:
            return []
        rows = query(
            dbapi_conn,
            "SELECT OBJECT_NAME, LOCK_TYPE, LOCK_STATUS FROM performance_schema.metadata_locks "
            "WHERE OWNER_THREAD_ID = (SELECT THREAD_ID FROM performance_schema.threads "
            "WHERE PROCESSLIST_ID = CONNECTION_ID()) AND OBJECT_TYPE = 'TABLE' "
            "AND OBJECT_SCHEMA = %s",
            (self.database,),
        )
        return [_raw(r) for r in rows]

    def _conn(self, role: str, autocommit: bool = True) -> Any:
        if role not in self._conns:
            if self._engine is None:
                self._engine = create_engine(self.url, poolclass=NullPool)
            conn = self._engine.raw_connection()
            conn.autocommit(autocommit)
            self._conns[role] = conn
        return self._conns[role]

    def sample_once(self, session_id: Any) -> list[RawLock]:
        cid, tid = session_id
        conn = self._conn("sampler")
        out: list[RawLock] = []
        if self.locks_available and tid is not None:
            rows = query(conn, "SELECT OBJECT_NAME, LOCK_TYPE, LOCK_STATUS FROM "
                               "performance_schema.metadata_locks WHERE OWNER_THREAD_ID = %s "
                               "AND OBJECT_TYPE = 'TABLE' AND OBJECT_SCHEMA = %s",
                         (tid, self.database))
            out.extend(_raw(r) for r in rows)
        return out

    def state(self, session_id: Any) -> str | None:
        rows = query(self._conn("sampler"),
                     "SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = %s",
                     (session_id[0],))
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def sampler(self, session_id: Any, sql: str, existing: dict[Hashable, Rel]) -> Sampler:
        hold: list[str] = []
        if self.locks_available and self.implicit_commit(sql):
            hold = [r.name for r in existing.values() if r.kind == "table"
                    and not r.name.startswith("#")
                    and re.search(r"(?<![\w$])" + re.escape(r.name) + r"(?![\w$])", sql, re.I)]
        self._conn("sampler")  # connect now, not while the statement runs
        return _MySQLSampler(self, session_id, statement_target(sql), hold)

    def close(self) -> None:
        for conn in self._conns.values():
            try:
                conn.close()
            except Exception:
                pass
        self._conns.clear()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _raw(row: tuple[Any, ...]) -> RawLock:
    name, mode, status = row
    return RawLock(key=str(name), name=str(name), kind="table", table=None, mode=str(mode),
                   granted=str(status).upper() == "GRANTED")


class _MySQLSampler(Sampler):
    """Samples metadata locks and the thread's state; holds shared metadata locks on the
    tables the DDL names until the DDL asks for a conflicting one (see module docs)."""

    def __init__(self, probe: MySQLProbe, session_id: Any, target: str | None,
                 hold: list[str]) -> None:
        super().__init__(self._poll)
        self.probe = probe
        self.session = session_id
        self.target = target
        self.hold = hold
        self._holding = False
        self._hold_lock = threading.Lock()
        #: Seconds the statement waited for the holder (subtracted from its duration).
        self.induced_wait = 0.0
        self._pending_seen: float | None = None

    def start(self) -> None:
        if self.hold:
            conn = self.probe._conn("holder", autocommit=False)
            parts = " UNION ALL ".join(f"(SELECT 1 FROM `{t.replace('`', '``')}` LIMIT 0 FOR UPDATE)"
                                       for t in self.hold)
            query(conn, "START TRANSACTION")
            query(conn, parts)
            self._holding = True
        super().start()

    def _release(self) -> None:
        with self._hold_lock:
            if self._holding:
                self.probe._conn("holder", autocommit=False).commit()
                self._holding = False
                if self._pending_seen is not None:
                    self.induced_wait = now() - self._pending_seen

    def _poll(self) -> list[RawLock]:
        try:
            locks = self.probe.sample_once(self.session)
            if self._holding and any(not lk.granted for lk in locks):
                self._pending_seen = now()
                self._release()
                # the request was granted as soon as the holder let go
                locks = [RawLock(lk.key, lk.name, lk.kind, lk.table, lk.mode, True)
                         if not lk.granted else lk for lk in locks]
            state = self.probe.state(self.session)
            if state and state.lower() in COPY_STATES and self.target:
                locks.append(RawLock(key=self.target, name=self.target, kind="table", table=None,
                                     mode="COPY", granted=True))
            return locks
        except Exception:
            self._release()
            raise

    def stop(self) -> list[RawLock]:
        try:
            return super().stop()
        finally:
            self._release()
