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
    runs (statements that commit on their own release their locks before they return).

    Besides which locks were seen, it keeps how long each was held without a break: a
    lock seen granted in polls i..j was taken after poll i-1 began (it was absent then)
    and released before poll j+1 ended, so ``end(j+1) - start(i-1)`` bounds that stretch
    from above (the sampler's start and stop stand in for polls that did not happen).
    :meth:`held_for` is the longest such stretch of one lock.
    """

    def __init__(self, poll: Callable[[], list[RawLock]], interval: float = 0.001) -> None:
        self._poll = poll
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: dict[tuple[Hashable, str], RawLock] = {}
        self.samples = 0
        self.error: str | None = None
        #: Per lock: where its current unbroken stretch began (the start of the poll
        #: before the first one that saw it granted), and its longest closed stretch.
        self._open: dict[tuple[Hashable, str], float] = {}
        self._longest: dict[tuple[Hashable, str], float] = {}
        self._prev_poll = 0.0

    def start(self) -> None:
        self._stop.clear()
        self._seen = {}
        self.samples = 0
        self._open = {}
        self._longest = {}
        self._prev_poll = now()
        self._thread = threading.Thread(target=self._run, name="sluice-trace-sampler",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                began = now()
                granted: set[tuple[Hashable, str]] = set()
                for lock in self._poll():
                    key = (lock.key, lock.mode)
                    known = self._seen.get(key)
                    if known is None or (lock.granted and not known.granted):
                        self._seen[key] = lock
                    if lock.granted:
                        granted.add(key)
                self._spans(granted, self._prev_poll, now())
                self._prev_poll = began
                self.samples += 1
            except Exception as exc:  # the sampler must never break the traced run
                self.error = str(exc).strip().splitlines()[0] if str(exc) else type(exc).__name__
                return
            if self._stop.wait(self._interval):
                return

    def _spans(self, granted: set[tuple[Hashable, str]], before: float, ended: float) -> None:
        """Open a stretch for each lock newly seen (from ``before``, the start of the
        previous poll) and close those no longer seen (at ``ended``, this poll's end)."""
        for key in granted:
            self._open.setdefault(key, before)
        for key in [k for k in self._open if k not in granted]:
            self._close(key, ended)

    def _close(self, key: tuple[Hashable, str], ended: float) -> None:
        span = ended - self._open.pop(key)
        self._longest[key] = max(span, self._longest.get(key, 0.0))

    def held_for(self, key: Hashable, mode: str) -> float | None:
        """Seconds: the longest unbroken stretch the lock was seen held (an upper bound,
        see the class docs); None when it was never seen granted. Call after :meth:`stop`."""
        return self._longest.get((key, mode))

    def stop(self) -> list[RawLock]:
        if self._thread is None:
            return []
        self._stop.set()
        self._thread.join(timeout=5)
        self._thread = None
        ended = now()
        for key in list(self._open):
            self._close(key, ended)  # still held when the statement returned
        return list(self._seen.values())


def now() -> float:
    return time.perf_counter()
