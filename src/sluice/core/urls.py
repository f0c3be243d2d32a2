"""Database URLs as users give them (``--url``, an environment variable, a config key):
``${VAR}`` replaced from the environment, and checked before anything connects.

:func:`database_url` is the one check every command that takes a URL applies: a string
SQLAlchemy cannot parse, or whose dialect or driver it cannot load (``postgres://``, which
SQLAlchemy 1.4 stopped accepting), is a one-line :class:`~sluice.core.errors.SluiceError`
naming where the URL came from, instead of a failure inside env.py or a check.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from sluice.core.errors import ConfigError, SluiceError, mask_url

__all__ = ["database_url", "existing_database", "expand_vars", "missing_sqlite_file"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: Dialect names SQLAlchemy no longer takes (Heroku and others still give
#: ``postgres://``), and its name for each.
_ALIASES = {"postgres": "postgresql"}
_EXAMPLES = "postgresql://user@host:5432/dbname, mysql+pymysql://user@host/dbname, " \
            "sqlite:///path/to/file.db"


def expand_vars(value: str, *, key: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace ``${VAR}`` by the environment variable; a missing one is an error naming
    ``key`` (``file:line: key``, as :meth:`~sluice.config.SluiceConfig.where` gives it)."""
    environ = os.environ if environ is None else environ

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in environ:
            raise ConfigError(f"{key}: environment variable {name} is not set")
        return environ[name]

    return _VAR.sub(repl, value)


def database_url(url: str, *, origin: str) -> str:
    """``url`` unchanged when SQLAlchemy can parse it and load its dialect and driver;
    else a :class:`SluiceError` of one line starting with ``origin`` (``--url``,
    ``SLUICE_CHECK_URL``, ``file:line: check.url``), the URL with its password masked, and
    what to write instead. Nothing connects: an unreachable server is said later."""
    from sqlalchemy.engine import make_url  # lazy: SQLAlchemy only where a URL is given

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - ArgumentError, ValueError (a bad port): said in one line
        raise SluiceError(f"{origin}: {_masked(url)!r} is not a database URL SQLAlchemy can "
                          f"read; write one like {_EXAMPLES}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.host:  # sqlite://app.db
        path = "/".join(p for p in (parsed.host, parsed.database) if p)
        raise SluiceError(f"{origin}: {mask_url(parsed)}: a SQLite URL has no host ('{parsed.host}'"
                          f"); the file path follows three slashes: write sqlite:///{path} "
                          "(four for an absolute path, sqlite:////srv/app.db)")
    try:
        parsed.get_dialect()
    except Exception as exc:  # noqa: BLE001 - NoSuchModuleError, a plugin's ImportError
        backend, _, driver = parsed.drivername.partition("+")
        shown = mask_url(parsed)
        right = _ALIASES.get(backend.lower())
        if right is not None:
            fixed = mask_url(parsed.set(drivername=right + (f"+{driver}" if driver else "")))
            raise SluiceError(f"{origin}: {shown}: SQLAlchemy has no dialect '{backend}'; "
                              f"write {right}:// ({fixed})") from None
        what = f"driver '{driver}' for {backend}" if driver and _loads(backend) \
            else f"dialect '{backend}'"
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SluiceError(f"{origin}: {shown}: SQLAlchemy cannot load the {what} ({reason}); "
                          f"write one like {_EXAMPLES}, or install the package that "
                          "provides it") from None
    return url


def missing_sqlite_file(url: str) -> str | None:
    """The file a SQLite URL names when it does not exist; None for any other URL, an
    in-memory database or a file that exists. Relative paths are the working directory's,
    as SQLite reads them."""
    from sqlalchemy.engine import make_url  # lazy: as in database_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - not a URL: database_url says so
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    db = parsed.database or ""
    if not db or db == ":memory:" or db.startswith("file::memory:") or \
            "mode=memory" in db:
        return None
    if db.startswith("file:"):
        db = db[5:].split("?", 1)[0]
    return None if os.path.exists(db) else db


def existing_database(url: str, *, origin: str) -> str:
    """:func:`database_url`, and for a read-only command (graph, history, plan) a SQLite
    file that must exist: connecting would create an empty one and report it as a
    database at base. A missing file is a :class:`SluiceError` naming it (exit 2)."""
    database_url(url, origin=origin)
    path = missing_sqlite_file(url)
    if path is not None:
        raise missing_database_error(url, path, origin=origin)
    return url


def missing_database_error(url: str, path: str, *, origin: str) -> SluiceError:
    return SluiceError(f"{origin}: {mask_url(url)}: no SQLite database file {path} (a "
                       "read-only command does not create one); check the path, or create "
                       "the database with `sluice upgrade`")


def _loads(backend: str) -> bool:
    """Whether SQLAlchemy loads the dialect ``backend`` with its default driver."""
    from sqlalchemy.engine import make_url  # lazy: as in database_url

    try:
        make_url(f"{backend}://").get_dialect()
    except Exception:  # noqa: BLE001 - whatever stops it, the dialect does not load
        return False
    return True


def _masked(text: str) -> str:
    """A string that is not a URL SQLAlchemy parses, with what looks like a password
    (``scheme://user:PASSWORD@``) hidden."""
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)
