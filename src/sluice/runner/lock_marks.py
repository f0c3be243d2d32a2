"""The ``running`` audit marks on PostgreSQL through psycopg 3, sent without waiting.

Before each revision the runner writes the revision's ``running`` mark on the lock's
connection, by a statement that changes the row only while that session holds the lock
(see :meth:`sluice.runner.lock.MigrationLock.mark_running`). Waiting for its answer would
cost a round trip per revision, and even a mark sent without waiting wakes the server
process once per revision, which costs the sender's CPU time too. Here the marks go
through libpq's pipeline mode on a corked socket (``TCP_CORK``):

- each mark is a whole extended-protocol exchange with its own Sync, so the server runs
  and commits each on its own when it arrives;
- each mark is handed to the kernel at once; the kernel holds what the cork gathers for
  at most 200 ms before sending it, so the server wakes for a batch of marks, and a
  revision that runs longer has its mark on the server within 200 ms of its start. A
  process killed meanwhile still has its marks delivered: closing the socket sends what
  is queued;
- before each revision the answers that have arrived are read without waiting: a
  connection the server closed (``idle_session_timeout``, ``pg_terminate_backend``, a
  restart) shows there, and so does a mark that found the lock not held (no row
  changed); the socket turns readable when the server ends the session, so that is seen
  without a round trip too;
- anything else that uses the connection (the lock check before the commit, releasing
  the lock) first sends what is corked, reads every outstanding answer and leaves
  pipeline mode (:meth:`AsyncMarks.settle`): no commit is made on a mark's word alone.

On a Unix socket there is no cork: the marks are sent as they are made. A mark that
arrives after the run wrote its final rows changes nothing: it only touches a row still
``pending``.
"""

from __future__ import annotations

import datetime as dt
import os
import select
import socket
from typing import Any

from sluice.owned import HISTORY_TABLE
from sluice.runner.lock_holder import PG_ADVISORY_KEY

#: $1 started, $2 run id, $3 revision, $4 the lock's advisory key.
MARK_SQL = (
    f"UPDATE {HISTORY_TABLE} SET status = 'running', started = $1::timestamp "
    "WHERE run_id = $2 AND revision = $3 AND status = 'pending' AND EXISTS ("
    f"SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND {PG_ADVISORY_KEY}$4::bigint)"
).encode()


class MarkFailed(Exception):
    """The connection is gone (``gone``), or the last mark changed no row."""

    def __init__(self, message: str, *, gone: bool) -> None:
        super().__init__(message)
        self.gone = gone


def pgconn_of(dbapi_connection: Any) -> Any | None:
    """libpq's connection under a psycopg 3 connection whose libpq has pipeline mode
    (libpq 14+); None for any other driver."""
    if not type(dbapi_connection).__module__.startswith("psycopg"):
        return None
    pgconn = getattr(dbapi_connection, "pgconn", None)
    needed = ("send_query_params", "consume_input", "is_busy", "get_result", "flush", "socket",
              "enter_pipeline_mode", "exit_pipeline_mode", "pipeline_sync")
    if pgconn is None or not all(hasattr(pgconn, name) for name in needed):
        return None
    try:
        from psycopg import pq  # lazy: the driver is loaded when its connection is

        if pq.version() < 140000:
            return None
    except Exception:
        return None
    return pgconn


#: libpq's result statuses (``ExecStatus``) the marks read.
_COMMAND_OK, _PIPELINE_SYNC = 1, 10


class AsyncMarks:
    """Marks on one psycopg 3 connection, pipelined; :meth:`settle` before other use."""

    def __init__(self, pgconn: Any, lock_key: int) -> None:
        self.pgconn = pgconn
        self.lock_key = str(lock_key).encode()
        #: Marks sent whose answers have not been read.
        self.outstanding = 0
        self.sent = 0
        self._pipeline = False
        self._unchanged = 0
        self._failed: str | None = None

    @property
    def pending(self) -> bool:
        return self.outstanding > 0

    def send(self, run_id: str, revision: str, started: dt.datetime | None) -> None:
        """Read the answers that arrived, check the session is still open, send this
        mark. Raises :class:`MarkFailed` for an earlier mark that changed no row."""
        self.check_open()
        when = (started or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
        try:
            if not self._pipeline:
                self.pgconn.enter_pipeline_mode()
                self._pipeline = True
                self._set_cork(True)
            self.pgconn.send_query_params(MARK_SQL, [
                when.isoformat(sep=" ").encode(), run_id.encode(), revision.encode(),
                self.lock_key])
            self.pgconn.pipeline_sync()
            while self.pgconn.flush():  # the rest does not fit the socket buffer yet
                select.select([], [self.pgconn.socket], [], 1.0)
        except MarkFailed:
            raise
        except Exception as exc:
            raise MarkFailed(_message(exc), gone=True) from None
        self.outstanding += 1
        self.sent += 1

    def check_open(self) -> None:
        """Without waiting: read what the server has sent (answers, a notice, its goodbye
        and the end of the stream); raise when the session is gone or an answer read
        says a mark changed no row."""
        try:
            for _ in range(8):
                readable, _, _ = select.select([self.pgconn.socket], [], [], 0)
                if not readable:
                    break
                self.pgconn.consume_input()
                if int(self.pgconn.status) != 0:
                    break
            if int(self.pgconn.status) != 0:  # not CONNECTION_OK
                raise MarkFailed(_message(self.pgconn.error_message), gone=True)
            self._drain()
        except MarkFailed:
            raise
        except Exception as exc:
            raise MarkFailed(_message(exc), gone=True) from None
        self._raise_unchanged()

    def settle(self) -> None:
        """Send what is corked, read every outstanding answer (waiting for it) and leave
        pipeline mode, so the connection can be used again. Raises :class:`MarkFailed`
        when the connection is gone or a mark changed no row."""
        if not self._pipeline:
            return
        try:
            self._set_cork(False)
            while self.pgconn.flush():
                select.select([], [self.pgconn.socket], [], 1.0)
            self._drain()
            while self.outstanding:
                select.select([self.pgconn.socket], [], [], 1.0)
                self.pgconn.consume_input()
                if int(self.pgconn.status) != 0:
                    break
                self._drain()
            if int(self.pgconn.status) != 0:
                raise MarkFailed(_message(self._failed or self.pgconn.error_message),
                                 gone=True)
            self.pgconn.exit_pipeline_mode()
            self._pipeline = False
        except MarkFailed:
            raise
        except Exception as exc:
            raise MarkFailed(_message(exc), gone=True) from None
        self._raise_unchanged()

    def _drain(self) -> None:
        """The answers libpq has read, without waiting for more."""
        while self.outstanding and not self.pgconn.is_busy():
            result = self.pgconn.get_result()
            if result is None:  # the end of one mark's results
                continue
            status = int(result.status)
            if status == _PIPELINE_SYNC:
                self.outstanding -= 1
            elif status == _COMMAND_OK:
                if int(result.command_tuples or 0) != 1:
                    self._unchanged += 1
            else:
                self._failed = _message(result.error_message)
                self._unchanged += 1

    def _raise_unchanged(self) -> None:
        if self._unchanged:
            failed, self._failed, self._unchanged = self._failed, None, 0
            raise MarkFailed(failed or "the mark changed no row", gone=False)

    def _set_cork(self, on: bool) -> None:
        """``TCP_CORK`` on or off, through a duplicate of the socket closed at once (no
        descriptor is kept that could hold the session open after libpq closes it);
        nothing on a Unix socket or a system without it."""
        if not hasattr(socket, "TCP_CORK"):
            return
        try:
            with socket.socket(fileno=os.dup(self.pgconn.socket)) as sock:
                if sock.family in (socket.AF_INET, socket.AF_INET6):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, int(on))
        except OSError:
            pass


def _message(value: Any) -> str:
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "the server closed the connection"
