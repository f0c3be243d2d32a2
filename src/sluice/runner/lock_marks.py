"""The ``running`` audit marks on PostgreSQL through psycopg 3, sent without waiting.

Before each revision the runner writes the revision's ``running`` mark on the lock's
connection, by a statement that changes the row only while that session holds the lock
(see :meth:`sluice.runner.lock.MigrationLock.mark_running`). Waiting for its answer would
cost a round trip per revision: the process sleeps, the server runs, the process wakes.
Here the statement is sent with libpq's asynchronous API and its answer is read before the
next use of the connection, when it has long arrived:

- the statement is a whole extended-protocol exchange (Sync included), so the server runs
  and commits it on its own the moment it arrives; a process killed right after sending
  still has it delivered (the kernel sends what is queued before closing the socket);
- before the next revision the previous answer is read: a connection the server closed
  (``idle_session_timeout``, ``pg_terminate_backend``, a restart) shows there, and so does
  a mark that found the lock not held (no row changed);
- a session the server ended since then is seen without a round trip: its socket turns
  readable (the server's last message and the end of the stream are waiting in it);
- anything else that uses the connection (the lock check before the commit, releasing the
  lock) reads the outstanding answer first (:meth:`AsyncMarks.settle`).

A mark that arrives after the run wrote its final rows changes nothing: it only touches a
row still ``pending``.
"""

from __future__ import annotations

import datetime as dt
import select
from typing import Any

from sluice.owned import HISTORY_TABLE

#: $1 started, $2 run id, $3 revision, $4 the lock's advisory key.
MARK_SQL = (
    f"UPDATE {HISTORY_TABLE} SET status = 'running', started = $1::timestamp "
    "WHERE run_id = $2 AND revision = $3 AND status = 'pending' AND EXISTS ("
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
    "AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $4::bigint)"
).encode()


class MarkFailed(Exception):
    """The connection is gone (``gone``), or the last mark changed no row."""

    def __init__(self, message: str, *, gone: bool) -> None:
        super().__init__(message)
        self.gone = gone


def pgconn_of(dbapi_connection: Any) -> Any | None:
    """libpq's connection under a psycopg 3 connection (None for any other driver)."""
    if not type(dbapi_connection).__module__.startswith("psycopg"):
        return None
    pgconn = getattr(dbapi_connection, "pgconn", None)
    needed = ("send_query_params", "consume_input", "is_busy", "get_result", "flush", "socket")
    if pgconn is None or not all(hasattr(pgconn, name) for name in needed):
        return None
    return pgconn


class AsyncMarks:
    """Marks on one psycopg 3 connection; at most one answer outstanding."""

    def __init__(self, pgconn: Any, lock_key: int) -> None:
        self.pgconn = pgconn
        self.lock_key = str(lock_key).encode()
        self.pending = False
        self.sent = 0

    def send(self, run_id: str, revision: str, started: dt.datetime | None) -> None:
        """Read the previous answer, check the session is still open, send this mark."""
        self.settle()
        self.check_open()
        when = (started or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
        try:
            self.pgconn.send_query_params(MARK_SQL, [
                when.isoformat(sep=" ").encode(), run_id.encode(), revision.encode(),
                self.lock_key])
            while self.pgconn.flush():  # the rest does not fit the socket buffer yet
                select.select([], [self.pgconn.socket], [], 1.0)
        except Exception as exc:
            raise MarkFailed(_message(exc), gone=True) from None
        self.pending = True
        self.sent += 1

    def check_open(self) -> None:
        """Without a round trip: has the server closed the session since the last answer?"""
        try:
            for _ in range(8):  # a notice, or the server's goodbye and then end of stream
                readable, _, _ = select.select([self.pgconn.socket], [], [], 0)
                if not readable:
                    break
                self.pgconn.consume_input()
                if int(self.pgconn.status) != 0:
                    break
            if int(self.pgconn.status) != 0:  # not CONNECTION_OK
                raise MarkFailed(_message(self.pgconn.error_message), gone=True)
        except MarkFailed:
            raise
        except Exception as exc:
            raise MarkFailed(_message(exc), gone=True) from None

    def settle(self) -> None:
        """Read the outstanding answer (waiting for it if it has not arrived). Raises
        :class:`MarkFailed` when the connection is gone or the mark changed no row."""
        if not self.pending:
            return
        self.pending = False
        changed = 0
        failed: str | None = None
        try:
            self.pgconn.consume_input()
            while self.pgconn.is_busy():
                select.select([self.pgconn.socket], [], [], 1.0)
                self.pgconn.consume_input()
            while (result := self.pgconn.get_result()) is not None:
                if int(result.status) == 1:  # PGRES_COMMAND_OK
                    changed += int(result.command_tuples or 0)
                else:
                    failed = _message(result.error_message)
        except Exception as exc:
            raise MarkFailed(_message(exc), gone=True) from None
        if int(self.pgconn.status) != 0:
            raise MarkFailed(_message(failed or self.pgconn.error_message), gone=True)
        if changed != 1:
            raise MarkFailed(failed or "the mark changed no row", gone=False)


def _message(value: Any) -> str:
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "the server closed the connection"
