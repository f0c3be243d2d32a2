"""Throwaway databases on a PostgreSQL or MySQL/MariaDB server (and SQLite files).

Used by ``sluice check --scratch``, ``sluice trace`` and the test suite. Every scratch
database has a unique name, so concurrent runs on one server never collide, and it is
dropped on the way out, also when the body fails or is interrupted (Ctrl-C, SIGTERM).

A process killed outright (SIGKILL, a lost CI runner) cannot drop its database, so the
name says who made it and when: ``<prefix>_<host>_<pid>_<unix time>_<random>``, where
``<host>`` is a short hash of the host name, boot and PID namespace. Before creating a
new one, :func:`sweep_stale` drops the databases of the same prefix whose process is
gone: made on this host by a pid that no longer runs, or older than
:data:`STALE_AFTER_S` whoever made them. A database of a live process, or of another
host within that time, is never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from sluice.core.drivers import sync_url
from sluice.errors import DatabaseUnavailable, SluiceError, mask_url
from sluice.notices import notice

#: A scratch database this old is stale whoever made it (no check or trace runs a day).
STALE_AFTER_S = 24 * 3600


def host_id() -> str:
    """8 hex digits naming this host, boot and PID namespace (pids mean the same there)."""
    parts = [socket.gethostname()]
    for path in ("/proc/sys/kernel/random/boot_id", "/proc/self/ns/pid"):
        with contextlib.suppress(OSError):
            parts.append(Path(path).read_text().strip() if "random" in path
                         else str(os.stat(path).st_ino))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]


def scratch_name(prefix: str = "sluice") -> str:
    return f"{prefix}_{host_id()}_{os.getpid()}_{int(time.time())}_{uuid.uuid4().hex[:6]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def is_stale(name: str, prefix: str, *, now: float | None = None,
             host: str | None = None) -> bool:
    """Whether ``name`` is a scratch database of ``prefix`` whose maker is gone."""
    m = re.fullmatch(re.escape(prefix) + r"_([0-9a-f]{8})_(\d+)_(\d+)_[0-9a-f]{6}", name)
    if m is None:
        return False
    made_by, pid, created = m.group(1), int(m.group(2)), int(m.group(3))
    if (now if now is not None else time.time()) - created > STALE_AFTER_S:
        return True
    return made_by == (host or host_id()) and pid != os.getpid() and not _pid_alive(pid)


def list_databases(url: str | URL, prefix: str) -> list[str]:
    """Databases on the server of ``url`` whose name starts with ``prefix_``."""
    u = make_url(url)
    engine = server_engine(u)
    pattern = prefix.replace("_", "\\_") + "\\_%"
    try:
        with engine.connect() as conn:
            if u.get_backend_name() == "postgresql":
                rows = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE "
                                         ":p"), {"p": pattern})
            else:
                rows = conn.execute(text("SHOW DATABASES LIKE :p"), {"p": pattern})
            return sorted(str(r[0]) for r in rows)
    finally:
        engine.dispose()


def sweep_stale(url: str | URL, prefix: str) -> list[str]:
    """Drop the stale scratch databases of ``prefix`` (see :func:`is_stale`); their names."""
    dropped = []
    for name in list_databases(url, prefix):
        if is_stale(name, prefix):
            with contextlib.suppress(Exception):  # another sweeper got there first
                drop_database(url, name)
                dropped.append(name)
    return dropped


def server_engine(url: str | URL) -> Any:
    """An AUTOCOMMIT engine on the server's maintenance database."""
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "postgresql":
        u = u.set(database=u.database or "postgres")
    elif backend in ("mysql", "mariadb"):
        u = u._replace(database=None)  # (URL.set ignores None: the URL's database stayed)
    else:
        raise SluiceError(f"{mask_url(u)}: scratch databases need PostgreSQL or MySQL/MariaDB")
    return create_engine(sync_url(u), isolation_level="AUTOCOMMIT", pool_pre_ping=False)


def check_reachable(url: str | URL) -> None:
    """Raise :class:`DatabaseUnavailable` with a one-line reason when the server is down."""
    engine = create_engine(sync_url(url))
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


class _Signals:
    """SIGTERM (what CI sends a cancelled job) ends the run like Ctrl-C: a
    ``KeyboardInterrupt`` naming the signal, so the scratch database is dropped on the way
    out and the command reports ``interrupted (SIGTERM)`` with exit 143. While the
    database is being dropped, both signals are held (and raised afterwards), so a second
    one cannot stop the drop half way."""

    def __init__(self) -> None:
        self.holding = False
        self.held: str | None = None

    def handler(self, signum: int, frame: Any) -> None:
        name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
        if self.holding:
            self.held = self.held or name
            return
        raise KeyboardInterrupt(name)

    @contextmanager
    def installed(self) -> Iterator[None]:
        previous: dict[signal.Signals, Any] = {}
        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self.handler)
        except ValueError:  # not the main thread: signals are not ours to handle
            pass
        try:
            yield
        finally:
            for sig, handler in previous.items():
                if handler is not None:  # None: set outside Python, cannot be put back
                    signal.signal(sig, handler)

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold signals in the block; one that came is raised when it ends (unless the
        block raised already)."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.held is not None:
            name, self.held = self.held, None
            raise KeyboardInterrupt(name)


@contextmanager
def scratch_database(url: str | URL | None = None, *, prefix: str = "sluice") -> Iterator[URL]:
    """A new, uniquely named database on the server of ``url`` (None: a temporary SQLite
    file); yields its URL and drops it afterwards, whatever happens inside.

    From before the database is created until it is dropped, SIGTERM is handled like
    Ctrl-C (:class:`_Signals`): a signal that arrives while ``CREATE DATABASE`` runs still
    drops the database (if the server made it), and one during the drop waits for it."""
    if url is None or make_url(url).get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"{prefix}_") as tmp:
            yield make_url(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        return
    signals = _Signals()
    with signals.installed():
        with contextlib.suppress(Exception):  # sweeping is a courtesy; creating is the job
            sweep_stale(url, prefix)
        name = scratch_name(prefix)
        try:
            scratch_url = create_database(url, name)
        except Exception:
            raise  # the server refused: there is nothing to drop
        except BaseException:  # interrupted: the server may have made it all the same
            with signals.hold(), contextlib.suppress(Exception):
                drop_database(url, name)
            raise
        try:
            yield scratch_url
        except BaseException:
            with signals.hold():
                left = _drop_or_say(url, name)
            if left is not None:  # the body's error is the one to raise
                notice(f"sluice: warning: {left}")
            raise
        with signals.hold():
            left = _drop_or_say(url, name)
        if left is not None:
            raise left


def _drop_or_say(url: str | URL, name: str) -> SluiceError | None:
    """Drop scratch database ``name``; when the server refuses, the one-line error naming
    it and the statement that drops it (run by a user who may)."""
    try:
        drop_database(url, name)
    except Exception as exc:
        u = make_url(url)
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        drop = (f'DROP DATABASE "{name}";' if u.get_backend_name() == "postgresql"
                else f"DROP DATABASE `{name}`;")
        return SluiceError(f"{mask_url(u)}: cannot drop scratch database {name}: {reason}; "
                           f"it is left behind, drop it as a user who may: {drop}")
    return None
