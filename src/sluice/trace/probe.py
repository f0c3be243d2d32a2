"""What a backend probe reads, and the sampler that watches a statement while it runs.

A probe works on raw DB-API connections (never through SQLAlchemy's ``Connection``), so
its catalog queries fire no SQLAlchemy events and never show up as traced statements.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Rel:
    """A relation in the scratch database."""

    key: Hashable
    name: str
    kind: str
    #: For an index: its table.
    table: str | None = None
    #: Physical storage identity (PostgreSQL relfilenode, InnoDB table id); a change
    #: means the relation was rewritten. None when the server does not expose it.
    storage: Any = None


@dataclass(frozen=True)
class RawLock:
    key: Hashable
    name: str | None
    kind: str | None
    table: str | None
    mode: str
    granted: bool


class Probe(Protocol):
    backend: str
    #: False when the server cannot show locks (the reason is in ``unavailable_reason``).
    locks_available: bool
    #: False when storage ids cannot be read, so rewrites cannot be seen.
    rewrites_available: bool
    unavailable_reason: str | None

    def server_version(self, dbapi_conn: Any) -> str: ...

    def session_id(self, dbapi_conn: Any) -> Any: ...

    def is_autocommit(self, dbapi_conn: Any) -> bool: ...

    def implicit_commit(self, sql: str) -> bool: ...

    def samples_always(self) -> bool: ...

    def relations(self, dbapi_conn: Any) -> dict[Hashable, Rel]: ...

    def held_locks(self, dbapi_conn: Any) -> list[RawLock]: ...

    def after_statement(self, dbapi_conn: Any, with_relations: bool
                        ) -> tuple[list[RawLock], dict[Hashable, Rel] | None]: ...

    def sample_once(self, session_id: Any) -> list[RawLock]: ...

    def sampler(self, session_id: Any, sql: str, existing: dict[Hashable, Rel]) -> Sampler: ...

    def close(self) -> None: ...


def query(dbapi_conn: Any, sql: str, params: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
    """Run a catalog query on a raw DB-API connection and return all rows."""
    cur = dbapi_conn.cursor()
    try:
        cur.execute(sql, params) if params is not None else cur.execute(sql)
        return list(cur.fetchall())
    finally:
        cur.close()


class Sampler:
    """Polls a probe for one session's locks from a second connection while a statement
    runs (statements that commit on their own release their locks before they return)."""

    def __init__(self, poll: Callable[[], list[RawLock]], interval: float = 0.001) -> None:
        self._poll = poll
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: dict[tuple[Hashable, str], RawLock] = {}
        self.samples = 0
        self.error: str | None = None

    def start(self) -> None:
        self._stop.clear()
        self._seen = {}
        self.samples = 0
        self._thread = threading.Thread(target=self._run, name="sluice-trace-sampler",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                for lock in self._poll():
                    key = (lock.key, lock.mode)
                    known = self._seen.get(key)
                    if known is None or (lock.granted and not known.granted):
                        self._seen[key] = lock
                self.samples += 1
            except Exception as exc:  # the sampler must never break the traced run
                self.error = str(exc).strip().splitlines()[0] if str(exc) else type(exc).__name__
                return
            if self._stop.wait(self._interval):
                return

    def stop(self) -> list[RawLock]:
        if self._thread is None:
            return []
        self._stop.set()
        self._thread.join(timeout=5)
        self._thread = None
        return list(self._seen.values())


def now() -> float:
    return time.perf_counter()
