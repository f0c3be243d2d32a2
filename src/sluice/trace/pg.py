"""PostgreSQL probe: ``pg_locks`` of the migrating backend, ``relfilenode`` for rewrites.

Inside a transaction every relation lock is held until commit, so reading ``pg_locks``
for ``pg_backend_pid()`` on the migrating connection right after a statement shows every
lock it took. The probe's own catalog reads take ACCESS SHARE locks on system catalogs
only, which are filtered out with the rest of ``pg_catalog``. Statements in an
``autocommit_block()`` release their locks before they return: those are sampled from a
second connection while they run.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from sluice.trace.probe import RawLock, Rel, Sampler, query

_KINDS = {
    "r": "table",
    "p": "partitioned table",
    "i": "index",
    "I": "partitioned index",
    "S": "sequence",
    "v": "view",
    "m": "materialized view",
    "f": "foreign table",
}

_USER_NS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"
)


def _qualified(alias: str, ns: str) -> str:
    return (f"CASE WHEN {ns}.nspname = current_schema() THEN {alias}.relname "
            f"ELSE {ns}.nspname || '.' || {alias}.relname END")


_RELATIONS = f"""
SELECT c.oid, {_qualified('c', 'n')}, c.relkind, c.relfilenode, {_qualified('tc', 'tn')}
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
LEFT JOIN pg_class tc ON tc.oid = i.indrelid
LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
WHERE {_USER_NS} AND c.relkind IN ('r', 'p', 'i', 'I', 'S', 'v', 'm', 'f')
"""

_LOCKS = f"""
SELECT l.relation, {_qualified('c', 'n')}, c.relkind, {_qualified('tc', 'tn')}, l.mode, l.granted
FROM pg_locks l
LEFT JOIN pg_class c ON c.oid = l.relation
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
LEFT JOIN pg_class tc ON tc.oid = i.indrelid
LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
WHERE l.pid = {{pid}} AND l.locktype = 'relation'
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND (n.nspname IS NULL OR ({_USER_NS}))
"""


_BOTH = f"""
SELECT 'L', l.relation, {_qualified('c', 'n')}, c.relkind, {_qualified('tc', 'tn')}, l.mode,
       l.granted, NULL::oid
FROM pg_locks l
LEFT JOIN pg_class c ON c.oid = l.relation
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
LEFT JOIN pg_class tc ON tc.oid = i.indrelid
LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND (n.nspname IS NULL OR ({_USER_NS}))
UNION ALL
SELECT 'R', c.oid, {_qualified('c', 'n')}, c.relkind, {_qualified('tc', 'tn')}, NULL, NULL,
       c.relfilenode
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
LEFT JOIN pg_class tc ON tc.oid = i.indrelid
LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
WHERE {_USER_NS} AND c.relkind IN ('r', 'p', 'i', 'I', 'S', 'v', 'm', 'f')
"""


class PgProbe:
    backend = "postgresql"
    locks_available = True
    rewrites_available = True
    unavailable_reason: str | None = None

    def __init__(self, url: URL) -> None:
        self.url = url
        self._engine: Any = None
        self._sampler_conn: Any = None
        self._pids: dict[int, int] = {}

    # ------------------------------------------------------------------ the session
    def server_version(self, dbapi_conn: Any) -> str:
        return str(query(dbapi_conn, "SHOW server_version")[0][0])

    def session_id(self, dbapi_conn: Any) -> int:
        key = id(dbapi_conn)
        if key not in self._pids:
            self._pids[key] = int(query(dbapi_conn, "SELECT pg_backend_pid()")[0][0])
        return self._pids[key]

    def is_autocommit(self, dbapi_conn: Any) -> bool:
        return bool(getattr(dbapi_conn, "autocommit", False))

    def implicit_commit(self, sql: str) -> bool:
        return False

    def samples_always(self) -> bool:
        return False

    # ------------------------------------------------------------------ catalog reads
    def relations(self, dbapi_conn: Any) -> dict[Hashable, Rel]:
        out: dict[Hashable, Rel] = {}
        for oid, name, relkind, filenode, table in query(dbapi_conn, _RELATIONS):
            kind = _KINDS.get(relkind, relkind)
            # partitioned tables and views have no storage of their own (relfilenode 0)
            storage = filenode if filenode else None
            out[int(oid)] = Rel(key=int(oid), name=name, kind=kind, table=table, storage=storage)
        return out

    def after_statement(self, dbapi_conn: Any, with_relations: bool
                        ) -> tuple[list[RawLock], dict[Hashable, Rel] | None]:
        """The session's locks and (optionally) the relations, in one round trip."""
        if not with_relations:
            return self.held_locks(dbapi_conn), None
        locks: list[RawLock] = []
        rels: dict[Hashable, Rel] = {}
        for tag, oid, name, relkind, table, mode, granted, filenode in query(dbapi_conn, _BOTH):
            kind = _KINDS.get(relkind, relkind) if relkind else None
            if tag == "L":
                locks.append(RawLock(key=int(oid), name=name, kind=kind, table=table,
                                     mode=str(mode), granted=bool(granted)))
            else:
                rels[int(oid)] = Rel(key=int(oid), name=name, kind=kind or "relation",
                                     table=table, storage=int(filenode) if filenode else None)
        return locks, rels

    def held_locks(self, dbapi_conn: Any) -> list[RawLock]:
        return self._locks(dbapi_conn, "pg_backend_pid()")

    def _sampler_connection(self) -> Any:
        if self._sampler_conn is None:
            self._engine = create_engine(self.url, poolclass=NullPool,
                                         isolation_level="AUTOCOMMIT")
            self._sampler_conn = self._engine.raw_connection()
        return self._sampler_conn

    def sample_once(self, session_id: Any) -> list[RawLock]:
        return self._locks(self._sampler_connection(), str(int(session_id)))

    def sampler(self, session_id: Any, sql: str, existing: dict[Hashable, Rel]) -> Sampler:
        self._sampler_connection()  # connect now, not while the statement runs
        return Sampler(lambda: self.sample_once(session_id))

    def _locks(self, dbapi_conn: Any, pid: str) -> list[RawLock]:
        out = []
        for oid, name, relkind, table, mode, granted in query(dbapi_conn, _LOCKS.format(pid=pid)):
            out.append(RawLock(key=int(oid), name=name,
                               kind=_KINDS.get(relkind, relkind) if relkind else None,
                               table=table, mode=str(mode), granted=bool(granted)))
        return out

    def close(self) -> None:
        if self._sampler_conn is not None:
            try:
                self._sampler_conn.close()
            except Exception:
                pass
            self._sampler_conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
