"""Synchronous and asynchronous drivers for one database URL.

An asyncio project (``alembic init -t async``) names an async driver in its URL
(``sqlite+aiosqlite``, ``postgresql+asyncpg``, ``mysql+aiomysql``) and its env.py runs
``async_engine_from_config``. Sluice's own connections (the migration lock, the audit
table, ``sluice check``'s inspection, scratch databases) are synchronous:
:func:`sync_url` gives them the same database through a synchronous driver. The other
way round, :func:`async_url` gives such an env.py a database Sluice made (``sluice
check``'s temporary SQLite file, a scratch database) through an async driver.
"""

from __future__ import annotations

import importlib.util

from sqlalchemy.engine import URL, make_url

from sluice.core.errors import SluiceError, mask_url

#: Per backend, the drivers to try, best first: (driver in the URL, module it imports).
_SYNC = {
    "sqlite": (("pysqlite", "sqlite3"),),
    "postgresql": (("psycopg", "psycopg"), ("psycopg2", "psycopg2"), ("pg8000", "pg8000")),
    "mysql": (("pymysql", "pymysql"), ("mysqldb", "MySQLdb"), ("mysqlconnector", "mysql")),
    "mariadb": (("pymysql", "pymysql"), ("mysqldb", "MySQLdb"), ("mysqlconnector", "mysql")),
}
_ASYNC = {
    "sqlite": (("aiosqlite", "aiosqlite"),),
    # psycopg 3 serves both: SQLAlchemy's async engine picks its async variant
    "postgresql": (("psycopg", "psycopg"), ("asyncpg", "asyncpg")),
    "mysql": (("aiomysql", "aiomysql"), ("asyncmy", "asyncmy")),
    "mariadb": (("aiomysql", "aiomysql"), ("asyncmy", "asyncmy")),
}
#: What to install for a synchronous driver (SQLite's is in the standard library).
_INSTALL = {"postgresql": "'psycopg[binary]'", "mysql": "pymysql", "mariadb": "pymysql"}
#: What to install for an asyncio driver.
ASYNC_INSTALL = {"sqlite": "aiosqlite", "postgresql": "'psycopg[binary]'",
                 "mysql": "aiomysql", "mariadb": "aiomysql"}


def is_async(url: str | URL) -> bool:
    """Whether the URL's driver is an asyncio one (False when SQLAlchemy cannot load it)."""
    try:
        return bool(getattr(make_url(url).get_dialect(), "is_async", False))
    except Exception:
        return False


def sync_url(url: str | URL) -> URL:
    """``url`` as Sluice's own synchronous connections take it: unchanged unless its
    driver is an asyncio one, which is replaced by an installed synchronous driver of the
    same database (one-line :class:`SluiceError` when there is none)."""
    u = make_url(url)
    if not is_async(u):
        return u
    backend = u.get_backend_name()
    driver = _installed(_SYNC.get(backend, ()))
    if driver is None:
        raise SluiceError(
            f"{mask_url(u)}: Sluice's own connections (migration lock, audit table, "
            f"inspection) need a synchronous driver for {backend}, and none is installed",
            hint=f"pip install {_INSTALL.get(backend, 'a synchronous driver')} "
                 "(env.py keeps its async driver).")
    return u.set(drivername=f"{backend}+{driver}")


def async_url(url: str | URL) -> URL | None:
    """The same database through an installed asyncio driver (``url`` itself when its
    driver is one already); None when none is installed."""
    u = make_url(url)
    if is_async(u):
        return u
    backend = u.get_backend_name()
    driver = _installed(_ASYNC.get(backend, ()))
    return None if driver is None else u.set(drivername=f"{backend}+{driver}")


def needs_async_driver(exc: BaseException) -> bool:
    """The error SQLAlchemy raises when an async engine is given a synchronous driver."""
    return type(exc).__name__ == "InvalidRequestError" and "requires an async driver" in str(exc)


def _installed(choices: tuple[tuple[str, str], ...]) -> str | None:
    for driver, module in choices:
        if importlib.util.find_spec(module) is not None:
            return driver
    return None
