"""The audit rows of a whole run in one statement each, on PostgreSQL.

A run writes one ``pending`` row per revision before it starts and each row's final
status after it ends (:mod:`sluice.runner.audit`). Sent as an ``executemany``, that is one
statement per revision on the server and a parameter set per revision for the driver to
adapt; with hundreds of revisions it is a good part of what the runner adds to Alembic's
own work. Here each batch is one statement whose rows arrive as one JSON document
(``json_to_recordset``): one statement on the server, and one string parameter for the
driver, encoded by :mod:`json` in C (a column sent as an array costs the driver an
adaptation per element). The rows written are the same. Other drivers and databases
keep the ``executemany``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from sluice.owned import HISTORY_TABLE
from sluice.runner.database import TextFn, driver_sql, storable_text

#: Drivers whose batches go as one statement (psycopg 3; the others keep the executemany).
_BATCH_DRIVERS = ("psycopg",)

#: Changes no row, but is refused to a role without UPDATE on the table: the statuses a
#: run writes after its pending rows need it, so a role that may only add rows is refused
#: before anything changes (in :data:`_INSERT`; elsewhere sent on its own).
MAY_UPDATE = f"UPDATE {HISTORY_TABLE} SET status = status WHERE 1 = 0"

_INSERT = (
    f"WITH may_update AS ({MAY_UPDATE}) "
    f"INSERT INTO {HISTORY_TABLE} (run_id, revision, from_revision, to_revision, direction, "
    "environment, username, host, pid, via, started, status, checksum) "
    "SELECT :run_id, u.revision, u.from_revision, u.to_revision, u.direction, :environment, "
    ":username, :host, :pid, :via, :started, 'pending', u.checksum "
    "FROM json_to_recordset(:rows::json) AS u(revision text, from_revision text, "
    "to_revision text, direction text, checksum text)"
)

_UPDATE = (
    f"UPDATE {HISTORY_TABLE} AS h SET status = u.status, "
    "started = COALESCE(u.started, h.started), finished = u.finished, "
    "duration_ms = u.duration_ms, error = u.error, statements = u.statements "
    "FROM json_to_recordset(:rows::json) AS u(run_id text, revision text, status text, "
    "started timestamp, finished timestamp, duration_ms integer, error text, "
    "statements text) WHERE h.run_id = u.run_id AND h.revision = u.revision"
)


def supported(conn: Connection) -> bool:
    """Whether ``conn`` can take a run's rows as one statement."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver in _BATCH_DRIVERS


def insert_pending(conn: Connection, *, run_id: str, environment: str, username: str,
                   host: str, pid: int, via: str, started: dt.datetime | None,
                   steps: Sequence[Any],
                   text: TextFn = storable_text) -> None:
    """The ``pending`` rows of ``steps`` (:class:`~sluice.runner.audit.StepRecord`); the
    run's own columns come as given, ``text`` writes the steps' revision ids."""
    conn.exec_driver_sql(*driver_sql(conn, _INSERT, {
        "run_id": run_id, "environment": environment, "username": username, "host": host,
        "pid": pid, "via": via, "started": started,
        "rows": _json([{"revision": text(s.revision), "from_revision": text(s.from_revision),
                        "to_revision": text(s.to_revision), "direction": s.direction,
                        "checksum": s.checksum} for s in steps]),
    }))


def write_final(conn: Connection, steps: Sequence[Any], now: dt.datetime,
                text: TextFn = storable_text) -> None:
    """The final columns of ``steps`` (:class:`~sluice.runner.audit.StepRecord` with a run
    id), as :func:`sluice.runner.audit.write_final` writes them: a step without a start
    keeps the time its row has, one without an end gets ``now``; ``text`` writes the
    error and the revision id."""
    conn.exec_driver_sql(*driver_sql(conn, _UPDATE, {"rows": _json([
        {"run_id": s.run_id, "revision": text(s.revision), "status": s.status,
         "started": _timestamp(s.started), "finished": _timestamp(s.finished or now),
         "duration_ms": s.duration_ms, "error": text(s.error),
         "statements": json.dumps(s.statements) if s.statements else None}
        for s in steps])}))


def _timestamp(value: dt.datetime | None) -> str | None:
    """A naive UTC time as PostgreSQL reads a ``timestamp`` (microseconds kept)."""
    return None if value is None else value.isoformat(sep=" ")


def _json(rows: list[dict[str, Any]]) -> str:
    """The rows as JSON; text other than ASCII stays as it is (PostgreSQL reads ``\\u``
    escapes of it only where the database's encoding is UTF-8)."""
    return json.dumps(rows, ensure_ascii=False)
