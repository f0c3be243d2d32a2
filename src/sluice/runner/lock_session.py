"""The migration lock's connections: kept from looking idle to the server (idle timeouts off
for the session, TCP keep-alives on PostgreSQL), the server session that names them, and
the errors of a lock not taken or lost."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text as sql_text
from sqlalchemy.engine import URL, Connection

from sluice.errors import SluiceError, mask_url

#: Seconds a PostgreSQL lock connection may be silent before TCP keep-alives probe it.
KEEPALIVE_IDLE_S = 30
#: MySQL/MariaDB ``wait_timeout`` for the lock's sessions (one week).
MYSQL_WAIT_TIMEOUT_S = 7 * 24 * 3600


def session_of(conn: Connection, kind: str) -> str:
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
    being idle (they are, between revisions, by design)."""
    module = type(dbapi_connection).__module__
    statements: list[str] = []
    if "psycopg" in module or "pg8000" in module or "asyncpg" in module:
        # one round trip; idle_session_timeout exists from PostgreSQL 14 on
        statements = [
            "SELECT set_config('idle_in_transaction_session_timeout', '0', false), "
            "CASE WHEN current_setting('server_version_num')::int >= 140000 "
            "THEN set_config('idle_session_timeout', '0', false) END"]
    elif "mysql" in module.lower() or "maria" in module.lower():
        statements = [f"SET SESSION wait_timeout = {MYSQL_WAIT_TIMEOUT_S}"]
    if not statements:
        return
    cursor = dbapi_connection.cursor()
    try:
        for statement in statements:
            cursor.execute(statement)
    finally:
        cursor.close()
    dbapi_connection.commit()


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
            "KILL). `sluice history` shows what this run did; then run the upgrade again.",
        )
        self.reason = reason
