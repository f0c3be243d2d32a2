"""Throwaway databases on a PostgreSQL or MySQL/MariaDB server (and SQLite files).

Used by ``sluice check --scratch``, ``sluice trace`` and the test suite. Every scratch
database has a unique name, so concurrent runs on one server never collide, and it is
dropped on the way out, also when the body fails or is interrupted (Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import os
import signal
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from sluice.errors import DatabaseUnavailable, SluiceError, mask_url


def scratch_name(prefix: str = "sluice") -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"


def server_engine(url: str | URL) -> Any:
    """An AUTOCOMMIT engine on the server's maintenance database."""
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "postgresql":
        u = u.set(database=u.database or "postgres")
    elif backend in ("mysql", "mariadb"):
        u = u.set(database=None)
    else:
        raise SluiceError(f"{mask_url(u)}: scratch databases need PostgreSQL or MySQL/MariaDB")
    return create_engine(u, isolation_level="AUTOCOMMIT", pool_pre_ping=False)


def check_reachable(url: str | URL) -> None:
    """Raise :class:`DatabaseUnavailable` with a one-line reason when the server is down."""
    engine = create_engine(make_url(url))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseUnavailable(f"{mask_url(url)}: cannot connect: {reason}") from None
    finally:
        engine.dispose()


def create_database(url: str | URL, name: str) -> URL:
    u = make_url(url)
    engine = server_engine(u)
    try:
        with engine.connect() as conn:
            if u.get_backend_name() == "postgresql":
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    except Exception as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise DatabaseUnavailable(f"{mask_url(u)}: cannot create database {name}: {reason}") from None
    finally:
        engine.dispose()
    return u.set(database=name)


def drop_database(url: str | URL, name: str) -> None:
    u = make_url(url)
    engine = server_engine(u)
    try:
        with engine.connect() as conn:
            if u.get_backend_name() == "postgresql":
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    finally:
        engine.dispose()


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except ValueError:  # pragma: no cover - not the main thread
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def scratch_database(url: str | URL | None = None, *, prefix: str = "sluice") -> Iterator[URL]:
    """A new, uniquely named database on the server of ``url`` (None: a temporary SQLite
    file); yields its URL and drops it afterwards, whatever happens inside."""
    if url is None or make_url(url).get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"{prefix}_") as tmp:
            yield make_url(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        return
    name = scratch_name(prefix)
    scratch_url = create_database(url, name)
    try:
        with _sigterm_as_interrupt():
            yield scratch_url
    finally:
        drop_database(url, name)
