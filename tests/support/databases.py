"""A fresh PostgreSQL database for each test, made while the test before it runs.

Each test still gets a database of its own, new and empty, made and dropped with the same
statements as ``sluice.scratch.scratch_database`` (``CREATE DATABASE "<name>"``, ``DROP
DATABASE IF EXISTS "<name>" WITH (FORCE)``) under a scratch name (``sluice_t_<host>_<pid>
_<time>_<random>``, so a run killed outright leaves databases the next sweep recognises).
What changes is when: ``CREATE DATABASE`` copies the template and waits for its WAL to
reach the disk (0.1-0.5 s, several hundred times a run), so :class:`DatabasePool` sends
it for the next test when it hands a database out, and sends the drop of a test's database
when the test is done, without waiting for either. The statements go, one at a time, over
two connections to the server's maintenance database that only this pool uses (libpq's
asynchronous calls: no thread).
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import Iterator

from sqlalchemy.engine import URL, make_url

from sluice.scratch import scratch_name, sweep_stale

__all__ = ["DatabasePool"]

PREFIX = "sluice_t"


class _Link:
    """One connection to the maintenance database, one statement in flight at most."""

    def __init__(self, server: URL) -> None:
        from psycopg import pq
        from psycopg.conninfo import make_conninfo

        self._pq = pq
        info = make_conninfo(host=server.host, port=server.port, user=server.username,
                             password=server.password, dbname=server.database or "postgres",
                             **{k: str(v) for k, v in server.query.items()})
        self.conn = pq.PGconn.connect(info.encode())
        if self.conn.status != pq.ConnStatus.OK:
            raise RuntimeError(self.conn.error_message.decode(errors="replace"))
        self.pending: str | None = None

    def send(self, sql: str) -> None:
        self.finish()
        self.conn.send_query(sql.encode())
        self.pending = sql

    def finish(self) -> None:
        """Wait for the statement in flight; raise its error."""
        if self.pending is None:
            return
        sql, self.pending = self.pending, None
        while True:
            self.conn.consume_input()
            if not self.conn.is_busy():
                break
            select.select([self.conn.socket], [], [])
        errors = []
        while (result := self.conn.get_result()) is not None:
            if result.status != self._pq.ExecStatus.COMMAND_OK:
                errors.append(result.error_message.decode(errors="replace").strip())
        if errors:
            raise RuntimeError(f"{sql}: {'; '.join(errors)}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.finish()
        self.conn.finish()


class DatabasePool:
    """Databases on the PostgreSQL server of ``server_url``: :meth:`fresh` hands one out
    (made ahead) and drops it after; :meth:`close` waits for the statements in flight and
    drops the database made for a test that did not come."""

    def __init__(self, server_url: str) -> None:
        self.server = make_url(server_url)
        with contextlib.suppress(Exception):  # a courtesy, as scratch_database's
            sweep_stale(self.server, PREFIX)
        self._creates = _Link(self.server)
        self._drops = _Link(self.server)
        self._next: str | None = None

    def _create_next(self) -> None:
        self._next = scratch_name(PREFIX)
        self._creates.send(f'CREATE DATABASE "{self._next}"')

    @contextlib.contextmanager
    def fresh(self) -> Iterator[str]:
        """The URL of a new, empty database, dropped after the block."""
        if self._next is None:
            self._create_next()
        name, self._next = self._next, None
        assert name is not None
        self._creates.finish()  # made while the test before ran (or just now)
        self._create_next()
        try:
            yield self.server.set(database=name).render_as_string(hide_password=False)
        finally:
            self._drops.send(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self._next is not None:
            with contextlib.suppress(Exception):
                self._creates.finish()
            self._drops.send(f'DROP DATABASE IF EXISTS "{self._next}" WITH (FORCE)')
            self._next = None
        self._drops.close()
        self._creates.close()
