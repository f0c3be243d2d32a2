"""Where ``sluice check`` runs migrations: a temporary SQLite file, a scratch database on a
server, or a database the user names (which must be empty).

Sluice never drops anything it did not create. A given ``--url`` is inspected first and
refused unless it holds no tables (tables matched by ``exclude_tables`` are allowed: they
belong to someone else and every check ignores them). Scratch databases and temporary
files are removed on the way out, also when a check fails or the run is interrupted.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from sluice.check.snapshot import Snapshot, take_snapshot
from sluice.config import SluiceConfig
from sluice.core.drivers import sync_url
from sluice.errors import DatabaseUnavailable, SluiceError, mask_url
from sluice.filters import table_excluded
from sluice.owned import sluice_tables
from sluice.scratch import scratch_database

Kind = Literal["temporary", "scratch", "given"]
#: What the database holds right now, as far as the run knows.
State = Literal["empty", "head", "used"]


def same_database(a: str | URL, b: str | URL) -> bool:
    """Whether two URLs name the same database (driver, user and password ignored)."""
    ua, ub = make_url(a), make_url(b)
    if ua.get_backend_name() != ub.get_backend_name():
        return False
    if ua.get_backend_name() == "sqlite":
        da, db = ua.database or "", ub.database or ""
        if da in ("", ":memory:") or db in ("", ":memory:"):
            return da == db
        return Path(da).resolve() == Path(db).resolve()
    return (
        (ua.host or "localhost") == (ub.host or "localhost")
        and ua.port == ub.port
        and ua.database == ub.database
    )


def _other_schemas(conn: Any, known: list[str | None]) -> list[str]:
    """The PostgreSQL schemas of the database besides ``known`` (system schemas aside):
    a table there makes the database just as non-empty. MySQL's schemas are other
    databases, SQLite's attached files: none of them counts."""
    if conn.dialect.name != "postgresql":
        return []
    default = conn.dialect.default_schema_name
    return [s for s in sa.inspect(conn).get_schema_names()
            if s not in known and s != default and s != "information_schema"
            and not s.startswith("pg_")]


def url_text(url: str | URL) -> str:
    return make_url(url).render_as_string(hide_password=False)


class CheckDatabase:
    """The database of one ``sluice check`` run, opened lazily on first use.

    ``fresh()`` switches to a new empty database when the kind allows it (temporary and
    scratch); a given URL cannot be replaced, so callers bring it back themselves.
    """

    def __init__(self, config: SluiceConfig, url: str | None, *, scratch: bool,
                 stack: ExitStack, origin: str = "--url") -> None:
        self.config = config
        self.requested = url
        #: Where ``url`` came from (``--url``, ``SLUICE_CHECK_URL``, ``check.url``).
        self.origin = origin
        self.scratch = scratch
        self.stack = stack
        self.kind: Kind = "temporary"
        if url is not None:
            backend = make_url(url).get_backend_name()
            self.kind = "scratch" if scratch and backend != "sqlite" else "given"
            if scratch and backend == "sqlite":
                self.kind = "temporary"
        self._url: str | None = None
        self._tmpdir: Path | None = None
        self._count = 0
        self.state: State = "empty"
        #: Tables found in a given database before anything ran (excluded ones only).
        self.preexisting: list[str] = []
        #: Schema of a given database before anything ran (what a full downgrade restores).
        self.initial: Snapshot = {}
        #: One line for each scratch database the server refused to drop, naming it and
        #: the statement that drops it (filled in when the run's ExitStack closes).
        self.left_behind: list[str] = []

    # ------------------------------------------------------------------ lifecycle

    @property
    def opened(self) -> bool:
        return self._url is not None

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = self._open()
        return self._url

    @property
    def backend(self) -> str:
        if self.requested is not None:
            return make_url(self.requested).get_backend_name()
        return "sqlite"

    def describe(self) -> str:
        """Where the checks run, for the report header (password masked)."""
        if self.kind == "temporary":
            return "a temporary SQLite database"
        if self.kind == "scratch":
            assert self.requested is not None
            return f"scratch databases on {mask_url(make_url(self.requested)._replace(database=None))}"
        return mask_url(self.requested)

    def _new_temporary(self) -> str:
        if self._tmpdir is None:
            self._tmpdir = Path(self.stack.enter_context(
                tempfile.TemporaryDirectory(prefix="sluice_check_")))
        self._count += 1
        return f"sqlite:///{self._tmpdir / f'check_{self._count}.db'}"

    def _new_scratch(self) -> str:
        assert self.requested is not None
        made = scratch_database(self.requested, prefix="sluice_check")
        url = made.__enter__()

        def drop(exc_type: Any, exc: Any, tb: Any) -> bool:
            if exc_type is not None:  # the run's error stays the one raised
                return bool(made.__exit__(exc_type, exc, tb))
            try:
                made.__exit__(None, None, None)
            except SluiceError as refused:  # the server would not drop it: the report stays
                self.left_behind.append(str(refused))
            return False

        self.stack.push(drop)
        return url_text(url)

    def _open(self) -> str:
        if self.kind == "temporary":
            return self._new_temporary()
        if self.kind == "scratch":
            return self._new_scratch()
        assert self.requested is not None
        self._refuse_non_empty(self.requested)
        return self.requested

    def fresh(self) -> bool:
        """Switch to a new empty database; False when the kind cannot (a given URL)."""
        if self.kind == "given":
            return False
        self._url = self._new_temporary() if self.kind == "temporary" else self._new_scratch()
        self.state = "empty"
        return True

    # ------------------------------------------------------------------ inspection

    def schemas(self) -> list[str | None]:
        return [None, *self.config.include_schemas]

    def _refuse_non_empty(self, url: str) -> None:
        engine = sa.create_engine(sync_url(url))
        try:
            try:
                conn = engine.connect()
            except Exception as exc:
                reason = str(getattr(exc, "orig", exc)).strip().splitlines()
                raise DatabaseUnavailable(
                    f"{mask_url(url)}: cannot connect: "
                    f"{reason[0] if reason else type(exc).__name__}") from None
            with conn:
                insp = sa.inspect(conn)
                found: list[str] = []
                excluded: list[str] = []
                for schema in [*self.schemas(), *_other_schemas(conn, self.schemas())]:
                    for name in insp.get_table_names(schema=schema):
                        full = f"{schema}.{name}" if schema else name
                        if table_excluded(self.config, name, schema):
                            excluded.append(full)
                        else:
                            found.append(full)
                if excluded and not found:
                    # what a full downgrade must give back: the tables that were already there
                    # in every schema: the round trip compares those env.py compares
                    self.initial = take_snapshot(
                        conn, schemas=[*self.schemas(), *_other_schemas(conn, self.schemas())],
                        skip=set(sluice_tables(self.config)))
        finally:
            engine.dispose()
        if found:
            shown = ", ".join(sorted(found)[:5]) + (", ..." if len(found) > 5 else "")
            raise SluiceError(
                f"{mask_url(url)}: database is not empty ({len(found)} table"
                f"{'s' if len(found) != 1 else ''}: {shown}); sluice check upgrades from an "
                "empty database and never drops what it did not create: pass --scratch to "
                "let Sluice create (and drop) a throwaway database on that server, or point "
                f"{self.origin} at an empty database")
        self.preexisting = sorted(excluded)

    def connect(self) -> Any:
        """A new engine on the current database (caller disposes), synchronous."""
        return sa.create_engine(sync_url(self.url))
