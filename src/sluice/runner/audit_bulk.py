"""The audit rows of a whole run in one statement each, on PostgreSQL.

A run writes one ``pending`` row per revision before it starts and each row's final
status after it ends (:mod:`sluice.runner.audit`). Sent as an ``executemany``, that is one
statement per revision on the server and a parameter set per revision for the driver to
adapt; with hundreds of revisions it is a good part of what the runner adds to Alembic's
own work. Here each batch is one statement whose columns arrive as arrays
(``unnest``): one statement on the server, a handful of parameters for the driver.
The rows written are the same. Other drivers and databases keep the ``executemany``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from sluice.owned import HISTORY_TABLE
from sluice.runner.database import driver_sql

#: Drivers that send a Python list as a PostgreSQL array parameter (psycopg 3; the others
#: keep the executemany).
_ARRAY_DRIVERS = ("psycopg",)

_INSERT = (
    f"INSERT INTO {HISTORY_TABLE} (run_id, revision, from_revision, to_revision, direction, "
    "environment, username, host, pid, via, started, status, checksum) "
    "SELECT :run_id, u.revision, u.from_revision, u.to_revision, u.direction, :environment, "
    ":username, :host, :pid, :via, :started, 'pending', u.checksum "
    "FROM unnest(:revisions::text[], :froms::text[], :tos::text[], :directions::text[], "
    ":checksums::text[]) AS u(revision, from_revision, to_revision, direction, checksum)"
)

_UPDATE = (
    f"UPDATE {HISTORY_TABLE} AS h SET status = u.status, "
    "started = COALESCE(u.started, h.started), finished = u.finished, "
    "duration_ms = u.duration_ms, error = u.error, statements = u.statements "
    "FROM unnest(:runs::text[], :revisions::text[], :statuses::text[], "
    ":starteds::timestamp[], :finisheds::timestamp[], :durations::integer[], "
    ":errors::text[], :statementss::text[]) "
    "AS u(run_id, revision, status, started, finished, duration_ms, error, statements) "
    "WHERE h.run_id = u.run_id AND h.revision = u.revision"
)


def supported(conn: Connection) -> bool:
    """Whether ``conn`` can take a run's rows as one statement."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver in _ARRAY_DRIVERS


def insert_pending(conn: Connection, *, run_id: str, environment: str, username: str,
                   host: str, pid: int, via: str, started: dt.datetime,
                   steps: Sequence[Any]) -> None:
    """The ``pending`` rows of ``steps`` (:class:`~sluice.runner.audit.StepRecord`)."""
    conn.exec_driver_sql(*driver_sql(conn, _INSERT, {
        "run_id": run_id, "environment": environment, "username": username, "host": host,
        "pid": pid, "via": via, "started": started,
        "revisions": [s.revision for s in steps],
        "froms": [s.from_revision for s in steps],
        "tos": [s.to_revision for s in steps],
        "directions": [s.direction for s in steps],
        "checksums": [s.checksum for s in steps],
    }))


def write_final(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Each row's final columns; ``rows`` as :func:`sluice.runner.audit.write_final` builds
    them (a row whose ``b_started`` is None keeps the time it has)."""
    conn.exec_driver_sql(*driver_sql(conn, _UPDATE, {
        "runs": [r["b_run"] for r in rows],
        "revisions": [r["b_rev"] for r in rows],
        "statuses": [r["b_status"] for r in rows],
        "starteds": [r["b_started"] for r in rows],
        "finisheds": [r["b_finished"] for r in rows],
        "durations": [r["b_duration"] for r in rows],
        "errors": [r["b_error"] for r in rows],
        "statementss": [r["b_statements"] for r in rows],
    }))
