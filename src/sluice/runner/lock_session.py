"""The migration lock's connections: kept from looking idle to the server (idle timeouts off
for the session, TCP keep-alives on PostgreSQL), the server session that names them, and
the errors of a lock not taken or lost."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text as sql_text
from sqlalchemy.engine import URL, Connection

from sluice.core.durations import format_duration
from sluice.errors import SluiceError, mask_url
from sluice.owned import refused_table
from sluice.runner.database import first_line, own_tables, own_tables_hint, sqlite_path
from sluice.runner.lock_holder import Holder, sqlite_lock_file

#: Seconds a PostgreSQL lock connection may be silent before TCP keep-alives probe it.
KEEPALIVE_IDLE_S = 30
#: MySQL/MariaDB ``wait_timeout`` for the lock's sessions (one week).
MYSQL_WAIT_TIMEOUT_S = 7 * 24 * 3600


#: ``Connection.info`` key: the server session :func:`never_idle_out` read while setting
#: the connection up (PostgreSQL), so :func:`session_of` needs no statement of its own.
SESSION_INFO = "sluice_session"


def session_of(conn: Connection, kind: str) -> str:
    known = conn.info.get(SESSION_INFO)
    if isinstance(known, str):
        return known
    if kind == "postgresql":
        pid, started = conn.execute(sql_text(
            "SELECT pid, (extract(epoch FROM backend_start) * 1000000)::bigint "
            "FROM pg_stat_activity WHERE pid = pg_backend_pid()")).one()
        return f"pg:{pid}:{started}"
    return f"my:{conn.execute(sql_text('SELECT CONNECTION_ID()')).scalar()}"


def keepalive_args(url: URL) -> dict[str, Any]:
    """TCP keep-alives for libpq-based drivers: a silent lock connection stays known to
    firewalls and NAT, and a dead peer is noticed."""
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("psycopg", "psycopg2"):
        return {"keepalives": 1, "keepalives_idle": KEEPALIVE_IDLE_S,
                "keepalives_interval": 10, "keepalives_count": 3}
    return {}


def never_idle_out(dbapi_connection: Any, record: Any) -> None:
    """Session settings for the lock's connections: the server must not end them for
    being idle (they are, between revisions, by design). On PostgreSQL the same statement
    reads the server session (:data:`SESSION_INFO`), outside a transaction where the
    driver allows it: one round trip for the whole set-up."""
    module = type(dbapi_connection).__module__
    if "psycopg" in module or "pg8000" in module or "asyncpg" in module:
        # idle_session_timeout exists from PostgreSQL 14 on
        statement = (
            "SELECT set_config('idle_in_transaction_session_timeout', '0', false), "
            "CASE WHEN current_setting('server_version_num')::int >= 140000 "
            "THEN set_config('idle_session_timeout', '0', false) END, pg_backend_pid(), "
            "(SELECT (extract(epoch FROM backend_start) * 1000000)::bigint "
            "FROM pg_stat_activity WHERE pid = pg_backend_pid())")
    elif "mysql" in module.lower() or "maria" in module.lower():
        statement = f"SET SESSION wait_timeout = {MYSQL_WAIT_TIMEOUT_S}"
    else:
        return
    # psycopg: no BEGIN before the statement and no COMMIT after it (session settings
    # need no transaction); the connection is handed over as it came, not in autocommit
    autocommit = getattr(dbapi_connection, "autocommit", None)
    switch = autocommit is False and module.startswith("psycopg")
    if switch:
        dbapi_connection.autocommit = True
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(statement)
            row = cursor.fetchone() if cursor.description else None
        finally:
            cursor.close()
    finally:
        if switch:
            dbapi_connection.autocommit = False
    if not switch:
        dbapi_connection.commit()
    if row is not None and len(row) == 4 and row[3] is not None and record is not None:
        record.info[SESSION_INFO] = f"pg:{row[2]}:{row[3]}"


class LockTimeout(SluiceError):
    """Gave up waiting for another process holding the migration lock (exit 1)."""

    exit_code = 1


class LockLost(SluiceError):
    """This process no longer holds the migration lock it took (exit 2)."""

    def __init__(self, url: URL, reason: str) -> None:
        super().__init__(
            f"lost the migration lock on {mask_url(url)}: {reason}",
            hint="Another deploy could take the lock and migrate at the same time, so this "
            "run stopped before its next statement. Check what ends sessions between here "
            "and the database: PostgreSQL idle_session_timeout, a pooler or proxy "
            "(PgBouncer server_idle_timeout, a cloud proxy), MySQL wait_timeout, a firewall "
            "that drops idle TCP connections, or someone ending it (pg_terminate_backend, "
            "KILL).",
        )
        self.reason = reason


class OwnTableRefused(LockLost):
    """The database refused the deploy role a privilege on one of Sluice's own tables
    while the run held the lock (an owner revoked it mid-run): the lock itself is fine,
    but the run cannot keep its audit rows, so it stops the same way (exit 2)."""

    def __init__(self, url: URL, table: str, reason: str, hint: str | None) -> None:
        SluiceError.__init__(
            self, f"{mask_url(url)}: cannot mark the next revision running in {table} "
            f"(the deploy role's privilege on it was refused mid-run): {reason}",
            hint=hint or f"Have an owner grant the deploy role SELECT, INSERT, UPDATE and "
            f"DELETE on {table} again.")
        self.reason = reason


def own_table_refused(url: URL, conn: Connection | None,
                      exc: BaseException) -> OwnTableRefused | None:
    """``exc`` as :class:`OwnTableRefused` when it is a refusal on Sluice's own tables
    (with the GRANT to run, worked out on ``conn``); None for any other error."""
    table = refused_table(exc, own_tables())
    if table is None:
        return None
    try:
        hint = own_tables_hint(conn, table) if conn is not None else None
    except Exception:  # noqa: BLE001 - the refusal is the error to report; the GRANT is a help
        hint = None
    return OwnTableRefused(url, table, first_line(exc), hint)


def timeout_error(url: URL, backend: str, name: str, timeout_ms: int,
                  holder: Holder | None) -> LockTimeout:
    """What a run that gave up waiting for the lock says: who holds it, what to do."""
    who = holder.describe() if holder else "another process (holder not recorded)"
    if holder is not None and holder.lost:
        return LockTimeout(
            f"gave up waiting for the migration lock on {mask_url(url)} after "
            f"{format_duration(timeout_ms)}: it is free, but its last holder "
            f"{who}",
            hint="Nothing was changed by this run. That run stops at its next check; "
            "if its process is gone (a host that vanished), end the session named above "
            "(PostgreSQL: pg_terminate_backend(<pid>); MySQL: KILL <id>) and run again.",
        )
    hint = {
        "postgresql": "If no deploy is running, find the session holding it with "
        "`SELECT pid, application_name, backend_start FROM pg_stat_activity WHERE "
        "application_name LIKE 'sluice lock%'` and end it with pg_terminate_backend(pid).",
        "mysql": f"If no deploy is running, find the session with `SELECT IS_USED_LOCK('{name}')` "
        "and end it with KILL <id>.",
        "sqlite": f"If no deploy is running, a process on this host still has "
        f"{sqlite_lock_file(str(sqlite_path(url)))} open: find it with `fuser` or `lsof` and stop it.",
    }.get(backend, "")
    return LockTimeout(
        f"gave up waiting for the migration lock on {mask_url(url)} after "
        f"{format_duration(timeout_ms)}: held by {who}",
        hint="Another deploy is migrating this database; nothing was changed by this run. "
        "Let it finish, then run again (raise migration_lock_timeout to wait longer). "
        + hint,
    )

