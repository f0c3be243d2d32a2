"""Which database a run targets, and small per-dialect helpers.

The URL comes from ``--url``, else the environment's ``url`` in config (``${VAR}`` replaced
by the environment variable), else ``sqlalchemy.url`` in alembic.ini. The runner passes it
to env.py as ``sqlalchemy.url``, so env.py, the migration lock and the audit table all talk
to the same database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, create_engine, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import NullPool

from sluice.core.drivers import sync_url
from sluice.core.urls import database_url, expand_vars
from sluice.errors import DatabaseUnavailable, SluiceError, mask_url
from sluice.owned import (
    DATA_PROGRESS_TABLE,
    HISTORY_TABLE,
    LOCK_HOLDER_TABLE,
    refusal_hint,
    refused_table,
)


def resolve_url(
    *,
    cli_url: str | None,
    env_url: str | None,
    ini_url: str | None,
    env_key: str,
    environ: Mapping[str, str] | None = None,
) -> str:
    """``--url``, else the environment's ``url`` (``env_key``: where it is set, for
    messages), else ``sqlalchemy.url``. The first two are checked here
    (:func:`~sluice.core.urls.database_url`); alembic.ini's is left to env.py, which may
    not use it."""
    if cli_url:
        return database_url(cli_url, origin="--url")
    if env_url:
        return database_url(expand_vars(env_url, key=env_key, environ=environ), origin=env_key)
    if ini_url:
        return ini_url
    raise SluiceError(
        "no database URL: pass --url, set url in [tool.sluice.environments.NAME], "
        "or sqlalchemy.url in alembic.ini"
    )


def backend(url: str | URL) -> str:
    """``postgresql``, ``mysql`` (MySQL and MariaDB) or ``sqlite``."""
    name = make_url(url).get_backend_name()
    return "mysql" if name == "mariadb" else name


def make_engine(url: str | URL, *, connect_args: dict[str, Any] | None = None) -> Engine:
    """An engine for Sluice's own connections (lock, audit, sizes): no pool, nothing kept;
    synchronous, also where env.py's URL names an asyncio driver."""
    sync = sync_url(url)
    try:
        return create_engine(sync, poolclass=NullPool, connect_args=connect_args or {})
    except Exception as exc:
        raise DatabaseUnavailable(f"{mask_url(url)}: {first_line(exc)}") from None


def connect(engine: Engine, *, autocommit: bool = True) -> Connection:
    """A connection, or a one-line :class:`DatabaseUnavailable` naming the masked URL."""
    try:
        conn = engine.connect()
        if autocommit:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn
    except Exception as exc:
        raise DatabaseUnavailable(f"{mask_url(engine.url)}: cannot connect: {first_line(exc)}") from None


def first_line(exc: BaseException) -> str:
    """The driver's own message, first line, without SQLAlchemy's background link."""
    orig = getattr(exc, "orig", None)
    text_ = str(orig if orig is not None else exc).strip()
    line = text_.splitlines()[0] if text_ else type(exc).__name__
    return re.sub(r"\s*\(Background on this error at: [^)]*\)", "", line)


def is_mariadb(conn: Connection) -> bool:
    return bool(getattr(conn.dialect, "is_mariadb", False))


def sqlite_path(url: str | URL) -> str | None:
    """The file of a SQLite URL (None for in-memory databases)."""
    u = make_url(url)
    db = u.database
    if not db or db == ":memory:" or db.startswith("file::memory:"):
        return None
    if db.startswith("file:"):
        db = db[5:].split("?", 1)[0]
    return db


def libpq_url(url: str | URL) -> str:
    """``postgresql://user:pw@host:port/db`` (no ``+driver``), as pg_dump and psql take it."""
    u = make_url(url)
    name = u.get_backend_name()
    return u.set(drivername=name).render_as_string(hide_password=False)


def current_database(conn: Connection) -> str:
    name = conn.dialect.name
    if name == "postgresql":
        return str(conn.execute(text("SELECT current_database()")).scalar())
    if name in ("mysql", "mariadb"):
        return str(conn.execute(text("SELECT DATABASE()")).scalar())
    return str(conn.engine.url.database or "")


def quote(conn_or_dialect: Any, name: str) -> str:
    dialect = getattr(conn_or_dialect, "dialect", conn_or_dialect)
    return str(dialect.identifier_preparer.quote(name))


_BIND = re.compile(r"(?<![:\w]):(\w+)")


def driver_sql(conn: Connection, sql: str, values: dict[str, Any]) -> tuple[str, Any]:
    """``sql`` with ``:name`` parameters in the driver's own paramstyle, and its arguments:
    run with ``exec_driver_sql``, it skips SQLAlchemy's compiler (a third of the cost of
    a small statement). ``sql`` must not contain a literal ``%``."""
    style = conn.dialect.paramstyle
    names = _BIND.findall(sql)
    if style in ("named", "pyformat"):
        mark = ":{}" if style == "named" else "%({})s"
        return _BIND.sub(lambda m: mark.format(m.group(1)), sql), values
    if style == "numeric":
        counter = iter(range(1, len(names) + 1))
        return _BIND.sub(lambda m: f":{next(counter)}", sql), tuple(values[n] for n in names)
    mark = "?" if style == "qmark" else "%s"
    return _BIND.sub(lambda m: mark, sql), tuple(values[n] for n in names)


def create_owned_table(conn: Connection, table: Table, *, checkfirst: bool) -> None:
    """Create one of Sluice's own tables; on MySQL/MariaDB in ``utf8mb4`` whatever the
    database's default character set, so that text other than Latin-1 (an error message
    quoting a Chinese column comment, an emoji) fits its text columns."""
    name = conn.dialect.name
    if name in ("mysql", "mariadb"):
        table.dialect_options[name]["charset"] = "utf8mb4"
    table.metadata.create_all(conn, tables=[table], checkfirst=checkfirst)


def ascii_text(text: str | None) -> str | None:
    """:func:`storable_text` with every character beyond ASCII as its Python escape
    (``\\xf6``, ``\\u6f22``, ``\\U0001f600``): what any database column takes, for a table
    whose character set refuses the text itself (see :func:`text_refused`)."""
    stored = storable_text(text)
    if stored is None or stored.isascii():
        return stored
    return stored.encode("ascii", "backslashreplace").decode("ascii")


#: MySQL/MariaDB refusing text the column's character set cannot hold (1366 "Incorrect
#: string value", 1300 "Invalid ... character string"); PostgreSQL the same for the
#: database's encoding (22P05 untranslatable character, 22021 not in repertoire).
_TEXT_REFUSED_CODES = frozenset({1366, 1300})
_TEXT_REFUSED_STATES = frozenset({"22P05", "22021"})


def text_refused(exc: BaseException) -> bool:
    """Whether a write failed only because the database (or the connection's character
    set) cannot hold a character of its text."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, UnicodeEncodeError):
        return True
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state in _TEXT_REFUSED_STATES:
        return True
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    return bool(args) and args[0] in _TEXT_REFUSED_CODES


#: How a text column's value is written: :func:`storable_text` or :func:`ascii_text`.
TextFn = Callable[[str | None], str | None]


def with_text_fallback(conn: Connection, write: Callable[[TextFn], None]) -> None:
    """``write(storable_text)``; when the database refuses a character of that text (a
    table in Latin-1, say), rolled back and done again as ``write(ascii_text)``: the row is
    kept with the characters escaped rather than lost with the run's own error behind a
    database error about it."""
    try:
        write(storable_text)
    except Exception as exc:
        if not text_refused(exc):
            raise
        if conn.in_transaction():
            conn.rollback()
        write(ascii_text)


def storable_text(text: str | None) -> str | None:
    """``text`` as every database's text column takes it: a NUL byte (PostgreSQL refuses
    it) as ``\\x00`` and a lone surrogate (it has no UTF-8) as its ``\\udcXX`` escape; any
    other text as it is. For an error message kept in Sluice's own tables."""
    if text is None or (text.isascii() and "\x00" not in text):
        return text
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


#: Where Sluice's own tables go, and the ways out when the deploy role may not create
#: tables there (PostgreSQL 15 and later: nobody may create in ``public`` by default).
OWN_TABLES_HINT = (
    "Sluice keeps its own tables (sluice_lock_holder, sluice_history, "
    "sluice_data_progress) in the connection's default schema (on PostgreSQL the first "
    "schema of search_path), not in env.py's version_table_schema. Let the deploy role "
    "create tables there, point its search_path at a schema it owns (ALTER ROLE <role> "
    "SET search_path = app), or have an owner run the first `sluice upgrade`.")


def own_tables(progress_table: str = DATA_PROGRESS_TABLE) -> tuple[str, ...]:
    """Sluice's tables in a deploy's database, with the checkpoint table as configured."""
    return (LOCK_HOLDER_TABLE, HISTORY_TABLE, progress_table)


def own_tables_hint(conn: Connection, table: str = LOCK_HOLDER_TABLE, *,
                    progress_table: str = DATA_PROGRESS_TABLE) -> str:
    """What to do when the deploy role was refused on Sluice's ``table``: grant it the
    rows it reads and writes when the table is there already (an owner created it): the
    privileges, and the exact GRANT (:func:`sluice.owned.refusal_hint`); else
    :data:`OWN_TABLES_HINT`."""
    tables = own_tables(progress_table)
    return refusal_hint(conn, table, tables if table in tables else (*tables, table)) \
        or OWN_TABLES_HINT


@contextmanager
def own_table_refusals(conn: Connection, what: str, *, read_only: bool = False,
                       progress_table: str = DATA_PROGRESS_TABLE,
                       after: str = "") -> Iterator[None]:
    """A database refusing ``conn``'s role a privilege on one of Sluice's tables, in the
    block, raised as one line that names the table and what Sluice was doing (``what``:
    "write this run's audit rows"; ``after``: appended, "; the database is at r0003"),
    with the GRANT that lets it (:func:`own_tables_hint`; ``read_only``: SELECT on that
    table alone). Any other error passes unchanged."""
    try:
        yield
    except SluiceError:
        raise
    except Exception as exc:
        table = refused_table(exc, own_tables(progress_table))
        if table is None:
            raise
        hint = refusal_hint(conn, table, (table,), read_only=True) if read_only \
            else own_tables_hint(conn, table, progress_table=progress_table)
        raise SluiceError(f"{mask_url(conn.engine.url)}: cannot {what} in {table}: "
                          f"{first_line(exc)}{after}", hint=hint) from None
