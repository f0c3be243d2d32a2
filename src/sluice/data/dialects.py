"""What differs per database: batch transactions, lock errors and lock timeouts, row
estimates."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import TableClause


def backend_of(conn: Any) -> str:
    name = conn.dialect.name
    return "mysql" if name in ("mysql", "mariadb") else name


def is_lock_error(exc: BaseException) -> bool:
    """A lock wait that timed out, a deadlock or a serialization failure: worth a retry."""
    if not isinstance(exc, sa_exc.DBAPIError) or exc.connection_invalidated:
        return False
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state in ("55P03", "40P01", "40001"):
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in (1205, 1213):  # MySQL lock wait timeout, deadlock
        return True
    return "database is locked" in str(orig) or "database table is locked" in str(orig)


#: MySQL's client flag asking UPDATE to report the rows it matched, not the rows it changed.
_FOUND_ROWS = 2


def counts_matched_rows(conn: Connection) -> bool:
    """Whether an UPDATE's rowcount, executemany included, is the rows it matched.

    SQLAlchemy's dialects say whether the driver reports rowcounts at all
    (``supports_sane_multi_rowcount``: not asyncpg, not psycopg2 in some executemany
    modes). On MySQL/MariaDB a rowcount counts changed rows unless the client set
    ``CLIENT_FOUND_ROWS``, which SQLAlchemy's MySQL dialects always do; a connection made
    without it (a ``creator=`` of one's own) is seen on PyMySQL, whose connection keeps
    its flags, and then counts as unreliable."""
    dialect = conn.dialect
    if not (dialect.supports_sane_rowcount and dialect.supports_sane_multi_rowcount):
        return False
    if backend_of(conn) == "mysql":
        flags = getattr(conn.connection.dbapi_connection, "client_flag", _FOUND_ROWS)
        return isinstance(flags, int) and bool(flags & _FOUND_ROWS)
    return True


def estimate_rows(conn: Connection, table: TableClause, backend: str) -> int | None:
    """Rows in the table: planner statistics where cheap, else a count."""
    try:
        if backend == "postgresql":
            qualified = conn.dialect.identifier_preparer.format_table(table)
            n = conn.execute(sa.text(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"
            ), {"t": qualified}).scalar()
            if n is not None and n >= 0:
                return int(n)
        elif backend == "mysql":
            n = conn.execute(sa.text(
                "SELECT TABLE_ROWS FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = COALESCE(:s, DATABASE()) AND TABLE_NAME = :t"
            ), {"s": table.schema, "t": table.name}).scalar()
            if n is not None:
                return int(n)
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)
    except sa_exc.DBAPIError:
        return None


class Tx:
    """Begin/commit/rollback of one batch transaction."""

    def __init__(self, conn: Connection, backend: str) -> None:
        self.conn = conn
        self.backend = backend
        self._sa: sa.Transaction | None = None

    def begin(self) -> None:
        self._sa = self.conn.begin()

    def commit(self) -> None:
        assert self._sa is not None
        self._sa.commit()
        self._sa = None

    def rollback(self) -> None:
        trans, self._sa = self._sa, None
        if trans is not None and trans.is_active:
            trans.rollback()


class ExplicitTx(Tx):
    """Explicit BEGIN/COMMIT on a connection in AUTOCOMMIT mode (Alembic's autocommit_block).

    The driver sends each statement on its own, so the batch's statements are grouped
    into one transaction with explicit statements. SQLite takes the write lock up front
    (BEGIN IMMEDIATE) so that a batch never fails half-way on a lock upgrade.
    """

    _BEGIN = {"postgresql": "BEGIN", "mysql": "START TRANSACTION", "sqlite": "BEGIN IMMEDIATE"}

    def __init__(self, conn: Connection, backend: str) -> None:
        super().__init__(conn, backend)
        self.open = False

    def begin(self) -> None:
        self.conn.exec_driver_sql(self._BEGIN.get(self.backend, "BEGIN"))
        self.open = True

    def commit(self) -> None:
        self.conn.exec_driver_sql("COMMIT")
        self.open = False

    def rollback(self) -> None:
        if self.open:
            self.open = False
            self.conn.exec_driver_sql("ROLLBACK")


def is_autocommit(conn: Connection) -> bool:
    """Whether the connection runs in AUTOCOMMIT mode (set on it or on its engine)."""
    level = conn.get_execution_options().get("isolation_level")
    if level is None:
        level = getattr(conn.dialect, "_on_connect_isolation_level", None)
    return level == "AUTOCOMMIT"


@contextmanager
def own_transaction(conn: Connection) -> Iterator[None]:
    """A transaction on a plain (non-migration) connection, committed on success."""
    if conn.in_transaction():
        trans = conn.get_transaction()
        yield
        if trans is not None and trans.is_active:
            trans.commit()
    else:
        with conn.begin():
            yield


def quiet_rollback(tx: Tx) -> None:
    try:
        tx.rollback()
    except Exception:
        pass


def session_lock_timeout(conn: Connection, tx: Tx, backend: str,
                         ms: int | None) -> Callable[[], None]:
    """MySQL's lock wait timeouts are per session: set them for the step, restore after."""
    if ms is None or backend != "mysql":
        return lambda: None
    seconds = max(1, math.ceil(ms / 1000))

    def set_timeouts(innodb: int, mdl: int) -> None:
        tx.begin()
        try:
            conn.exec_driver_sql(f"SET SESSION innodb_lock_wait_timeout = {int(innodb)}")
            conn.exec_driver_sql(f"SET SESSION lock_wait_timeout = {int(mdl)}")
            tx.commit()
        except BaseException:
            quiet_rollback(tx)
            raise

    tx.begin()
    old = conn.exec_driver_sql(
        "SELECT @@SESSION.innodb_lock_wait_timeout, @@SESSION.lock_wait_timeout"
    ).one()
    tx.commit()
    set_timeouts(seconds, seconds)

    def restore() -> None:
        try:
            set_timeouts(int(old[0]), int(old[1]))
        except sa_exc.SQLAlchemyError:  # a connection that is gone: PendingRollbackError
            pass

    return restore


def postgres_batch_settings(conn: Connection, lock_timeout_ms: int | None) -> None:
    """Per-batch settings, reset by COMMIT/ROLLBACK.

    ``synchronous_commit = off``: a batch's COMMIT does not wait for the WAL flush.
    That is safe here: the batch and its checkpoint are one transaction, and a server
    crash can only lose a suffix of the WAL, so the lost batches lose their
    checkpoints too and are redone by the rerun. It saves an fsync per batch.
    """
    sql = "SET LOCAL synchronous_commit = off"
    if lock_timeout_ms is not None:
        sql += f"; SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'"
    conn.exec_driver_sql(sql)
