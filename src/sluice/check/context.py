"""What every check receives: the project, its configuration, its history and a database.

The context loads the revision history once (see :mod:`sluice.check.revisions`) and runs
the project's own ``env.py`` for every database step, the way ``alembic upgrade`` does,
so whatever env.py wires up (``target_metadata``, filters, ``version_table``,
``include_schemas``) is respected. Before a single migration runs, the connection env.py
opened is compared with the database Sluice asked for: an env.py that ignores
``sqlalchemy.url`` stops the run instead of migrating someone's real database.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import os
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL, make_url

from sluice.check.database import CheckDatabase, same_database
from sluice.check.model import CheckResult
from sluice.check.revisions import LoadedHistory, load_history
from sluice.config import SluiceConfig, load_config
from sluice.core.alembic_compat import kept_proxies
from sluice.core.drivers import ASYNC_INSTALL, async_url, needs_async_driver
from sluice.core.findings import Finding
from sluice.core.project import (
    alembic_config,
    display_path,
    one_line,
    refuse_multidb,
    require_revisions,
    script_directory,
)
from sluice.core.suggest import Invocation, invocation
from sluice.core.urls import database_url, expand_vars
from sluice.environments import validate_name
from sluice.errors import SluiceError, mask_url

Work = Callable[[tuple[str, ...], MigrationContext], Iterable[Any]]


@dataclass
class CheckOptions:
    """How ``sluice check`` was asked to run (the CLI flags, as data)."""

    #: Database URL (None: ``check.url`` from the config, else a temporary SQLite file).
    url: str | None = None
    #: Where ``url`` came from, for messages: ``--url``, ``SLUICE_CHECK_URL``.
    url_origin: str = "--url"
    #: Create a uniquely named database on the server of ``url`` and drop it afterwards.
    scratch: bool = False
    #: Checks to run (None: ``check.checks`` from the config).
    only: list[str] | None = None
    #: Round-trip only the latest N revisions (None: ``check.roundtrip_last``).
    last: int | None = None
    x_args: tuple[str, ...] = ()
    env: str | None = None
    #: The alembic.ini section of the Alembic environment to check (``-n``, as ``alembic
    #: -n``): its revisions, URL and version table, and its own sum file.
    ini_section: str = "alembic"
    #: Explicit Sluice config file (None: found from alembic.ini's folder).
    config_file: str | None = None
    #: Called with a short message as each check starts (e.g. to print progress).
    progress: Callable[[str], None] | None = None
    #: Let log records below WARNING through while env.py runs (Alembic's
    #: ``INFO [alembic.runtime.migration] Running upgrade ...`` lines, which the logging
    #: config in alembic.ini usually enables); by default they are dropped.
    verbose: bool = False


def check_url(options: CheckOptions, config: SluiceConfig) -> tuple[str | None, str]:
    """The database ``sluice check`` runs on (None: a temporary SQLite file) and where it
    came from, as a setting's name: ``options.url``, else ``check.url`` with ``${VAR}``
    replaced. A URL SQLAlchemy cannot use is a one-line error naming its origin
    (:func:`~sluice.core.urls.database_url`); so is ``scratch`` with no server."""
    url, origin = options.url, options.url_origin
    if url is None and config.check.url:
        where = config.where("check.url")
        url = database_url(expand_vars(config.check.url, key=where), origin=where)
        origin = config.key_path("check.url")
        _refuse_memory(url, where, f"remove {origin} from {config.file_name}")
    elif url is not None:
        database_url(url, origin=origin)
        _refuse_memory(url, origin, f"leave out {origin}")
    elif options.scratch:
        raise SluiceError(
            "--scratch needs --url naming a PostgreSQL or MySQL/MariaDB server (or "
            f"SLUICE_CHECK_URL, or {config.key_path('check.url')} in {config.file_name})")
    return url, origin


def _refuse_memory(url: str, where: str, omit: str) -> None:
    """An in-memory SQLite database lives and dies with the one connection that opened
    it; the check connects many times (env.py, then its own inspection), so each would see
    a new empty database and blame env.py for losing the upgrade."""
    u = make_url(url)
    name = u.database or ""
    if u.get_backend_name() != "sqlite" or not (
            name in ("", ":memory:") or name.startswith("file::memory:")
            or u.query.get("mode") == "memory"):
        return
    shown = url if u.password is None else mask_url(url)
    raise SluiceError(
        f"{where}: {shown}: an in-memory SQLite database belongs to the one "
        "connection that opened it, and sluice check connects many times (env.py, then "
        "its own inspection)",
        hint=f"Use a file (sqlite:///check.db), or {omit} for a temporary SQLite file.")


@dataclass
class StepTracker:
    """Which migration step env.py is running, so a failure names its revision."""

    step: Any = None
    direction: str = "upgrade"

    def revision(self) -> Any:
        return getattr(self.step, "revision", None) if self.step is not None else None


@dataclass
class CheckContext:
    """One run of ``sluice check`` on one project."""

    ini: Path
    config: SluiceConfig
    options: CheckOptions
    stack: ExitStack
    db: CheckDatabase = field(init=False)
    results: dict[str, CheckResult] = field(default_factory=dict)
    _history: LoadedHistory | None = field(default=None, init=False)
    #: env.py runs an async engine: its databases are given through an async driver.
    _async_env: bool = field(default=False, init=False)
    #: Version table name and schema, learnt from env.py's context on the first run.
    version_table: str = field(default="alembic_version", init=False)
    version_table_schema: str | None = field(default=None, init=False)
    #: Problems found while bringing the database to head outside the upgrade check.
    head_problems: list[Finding] | None = field(default=None, init=False)
    #: False (``sluice lock``): no database is used, so none is resolved.
    database: bool = True
    #: What SQLAlchemy warned about while the upgrade ran, as notes.
    migration_notes: list[str] = field(default_factory=list, init=False)
    #: alembic.ini as the command was given it (``-c``; empty: ``ini``), repeated in the
    #: commands messages suggest, which run from the same folder.
    ini_arg: str = ""

    def __post_init__(self) -> None:
        url, origin = check_url(self.options, self.config) if self.database else (None, "")
        self.db = CheckDatabase(self.config, url, scratch=self.options.scratch, stack=self.stack,
                                origin=origin)

    @classmethod
    def open(cls, ini: str | Path, options: CheckOptions, stack: ExitStack) -> CheckContext:
        path = Path(ini)
        if not path.is_file():
            raise SluiceError(f"{path}: no such file (pass -c/--config PATH to alembic.ini)")
        config = load_config(path, path=options.config_file)
        if options.last is not None and options.last < 1:  # as --last and roundtrip_last
            raise SluiceError(f"last: must be 1 or more, got {options.last}")
        cfg = alembic_config(path, stdout=io.StringIO(), ini_section=options.ini_section)
        refuse_multidb(cfg, path, "sluice check")
        try:  # what the deploy reads: a gate passing on it would pass a broken deploy
            cfg.get_main_option("sqlalchemy.url")
        except Exception as exc:  # noqa: BLE001 - configparser's errors, said in one line
            raise SluiceError(f"{path}: cannot read sqlalchemy.url: {one_line(exc)}") from None
        if options.env is not None:  # "" too: an unset variable never means the default
            validate_name(config, options.env, origin="--env")
        return cls(ini=path.resolve(), config=config, options=options, stack=stack,
                   ini_arg=str(ini))

    # ------------------------------------------------------------------ project

    @property
    def root(self) -> Path:
        return self.ini.parent

    def rel(self, path: str | os.PathLike[str]) -> str:
        return display_path(path, self.root)

    def x_args(self) -> list[str]:
        args = list(self.options.x_args)
        if self.options.env and not any(a.startswith("env=") for a in args):
            args.append(f"env={self.options.env}")
        return args

    @property
    def section(self) -> str:
        """The alembic.ini section checked (``-n``)."""
        return self.options.ini_section

    @property
    def given(self) -> Invocation:
        """The options this run was given (``-c``, ``-n``, ``-x``, ``--env``), repeated in
        every command a message suggests (``given.sluice("lock")``, ``given.alembic(
        "upgrade", rev)``). Not ``--url``: the commands suggested either read no database
        (``sluice lock``, ``sluice check --only graph``) or name the one to use, and plain
        Alembic connects where alembic.ini or env.py says."""
        shown = Path(self.ini_arg) if self.ini_arg else self.ini
        if shown.is_absolute():  # as typed from here, when it is under this folder
            with suppress(ValueError, OSError):
                shown = shown.relative_to(Path.cwd())
        return invocation(shown, environment=self.options.env,
                          x_args=self.options.x_args, ini_section=self.section)

    def other_sections(self) -> list[str]:
        """The other Alembic environments of alembic.ini (sections with a
        ``script_location``), which this check does not read."""
        try:
            parser = self.alembic_config().file_config
            return [s for s in parser.sections()
                    if s != self.section and parser.has_option(s, "script_location")]
        except Exception:  # noqa: BLE001 - a file Alembic cannot read fails elsewhere
            return []

    def alembic_config(self, url: str | None = None) -> Config:
        return alembic_config(self.ini, url=url, x_args=self.x_args(), stdout=io.StringIO(),
                              ini_section=self.section)

    def history(self) -> LoadedHistory:
        """The project's revisions, imported once per run."""
        if self._history is None:
            cfg = self.alembic_config()
            script = script_directory(cfg)
            require_revisions(cfg, script, doing="passing on")
            self._history = load_history(script, self.root)
        return self._history

    # ------------------------------------------------------------------ env.py

    def run_env(self, work: Work, *, url: str | None = None) -> None:
        """Run the project's env.py online against ``url`` with ``work`` as the
        migration function (what ``alembic upgrade`` passes as ``fn``).

        An env.py that runs an async engine (``alembic init -t async``) is given the
        database through an async driver: it says so by refusing a synchronous one
        before it connects, and from then on every run of this check gets that driver."""
        target = url or self.db.url
        if self._async_env:
            target = self._async_target(target)
        try:
            self._run_env(work, target)
        except Exception as exc:
            if self._async_env or not needs_async_driver(exc):
                raise
            self._async_env = True
            self._run_env(work, self._async_target(target))

    def _async_target(self, url: str) -> str:
        found = async_url(url)
        if found is None:
            backend = make_url(url).get_backend_name()
            package = ASYNC_INSTALL.get(backend, "an async driver")
            raise SluiceError(
                f"{self.rel(Path(self.history().script.dir) / 'env.py')}: env.py runs an "
                f"async engine, and no async driver for {backend} is installed to give it "
                f"{mask_url(url)}",
                hint=f"pip install {package}, or pass --url with an async driver.")
        return found.render_as_string(hide_password=False)

    def _run_env(self, work: Work, target: str) -> None:
        cfg = self.alembic_config(target)
        script = self.history().script

        def fn(rev: Any, context: MigrationContext) -> Iterable[Any]:
            self.version_table = context.version_table
            self.version_table_schema = context.version_table_schema
            heads = tuple(rev) if isinstance(rev, (tuple, list)) else ((rev,) if rev else ())
            return work(heads, context)

        environment = EnvironmentContext(cfg, script, fn=fn, as_sql=False, starting_rev=None,
                                         destination_rev="heads", tag=None)
        configure = environment.configure

        def guarded_configure(*args: Any, **kwargs: Any) -> None:
            # Check the connection as soon as env.py configures it: Alembic creates the
            # version table before the first migration function is even called.
            # A step function from env.py (Sluice's deploy guard under guard_alembic) would
            # replace the check's own: no migration lock or audit rows on a throwaway
            # database, and the check must see each step as it runs.
            kwargs.pop("fn", None)
            configure(*args, **kwargs)
            self._guard(environment.get_context(), target)

        environment.configure = guarded_configure  # type: ignore[method-assign]
        with kept_proxies(), environment, _quiet_logs(not self.options.verbose):
            script.run_env()

    def _guard(self, context: MigrationContext, expected: str) -> None:
        env_py = self.rel(Path(self.history().script.dir) / "env.py")
        conn = context.connection
        if conn is None or context.as_sql:
            raise SluiceError(
                f"{env_py}: env.py ran in offline mode; sluice check needs a live connection")
        actual = conn.engine.url
        if not same_database(actual, expected):
            raise SluiceError(
                f"{env_py}: env.py connected to {mask_url(actual)}, not to the database "
                f"Sluice passed in sqlalchemy.url ({mask_url(expected)}); stopped before "
                "running any migration",
                hint="Make env.py build its engine from config.get_main_option('sqlalchemy.url') "
                     "(as Alembic's templates do), so checks run on a throwaway database.",
            )

    def stand_in(self) -> tuple[str, str] | None:
        """When the checks run on the temporary SQLite database and the project's own URL
        names another database: that dialect and the command that checks on it (in
        backticks). None otherwise."""
        if self.db.kind != "temporary":
            return None
        try:
            url = self.alembic_config().get_main_option("sqlalchemy.url") or ""
            backend = make_url(url).get_backend_name() if url else "sqlite"
        except Exception:  # noqa: BLE001 - a URL Sluice cannot read names no dialect
            return None
        dialect = {"mariadb": "mysql"}.get(backend, backend)
        if dialect not in ("postgresql", "mysql"):
            return None
        driver = server_driver(make_url(url))
        server = f"{driver}://USER@HOST/postgres" if dialect == "postgresql" \
            else f"{driver}://USER@HOST/"
        return dialect, self.given.sluice("check", "--url", server, "--scratch")

    def stand_in_note(self) -> str | None:
        """What to add to a failure on the temporary SQLite database when the project's
        own URL names another database: SQLite may be what failed, and how to check on
        the project's own kind of server. None otherwise."""
        found = self.stand_in()
        if found is None:
            return None
        dialect, command = found
        return (f"This ran on a temporary SQLite database and the project's URL is "
                f"{dialect}: what only {dialect} has (a schema, a type, an extension, a "
                f"function) fails on SQLite, so the failure may be SQLite's alone. Check on "
                f"{dialect} itself: {command}.")

    def env_failure(self, exc: BaseException, tracker: StepTracker | None = None
                    ) -> tuple[str | None, int | None, str | None]:
        """(path, line, revision id) of the project code an exception came from."""
        rev = tracker.revision() if tracker is not None else None
        rev_path = Path(rev.path).resolve() if rev is not None and getattr(rev, "path", None) \
            else None
        path = line = None
        if isinstance(exc, SyntaxError) and exc.filename \
                and _in_project(Path(exc.filename), self.root):
            return self.rel(Path(exc.filename)), exc.lineno, (rev.revision if rev else None)
        for frame in traceback.extract_tb(exc.__traceback__):
            f = Path(frame.filename)
            if rev_path is not None and f.resolve() == rev_path:
                path, line = self.rel(f), frame.lineno
            elif rev_path is None and _in_project(f, self.root):
                path, line = self.rel(f), frame.lineno
        if path is None and rev_path is not None:
            path = self.rel(rev_path)
        return path, line, (rev.revision if rev is not None else None)

    # ------------------------------------------------------------------ state

    def read_versions(self) -> set[str]:
        """Revision ids recorded in the version table of the current database."""
        engine = self.db.connect()
        try:
            with engine.connect() as conn:
                insp = sa.inspect(conn)
                if not insp.has_table(self.version_table, schema=self.version_table_schema):
                    return set()
                table = sa.table(self.version_table, sa.column("version_num"),
                                 schema=self.version_table_schema)
                return {row[0] for row in conn.execute(sa.select(table.c.version_num))}
        finally:
            engine.dispose()


#: The module each driver imports (synchronous ones first, in the order they are offered).
_DRIVER_MODULES = {
    "postgresql": (("psycopg", "psycopg"), ("psycopg2", "psycopg2"), ("pg8000", "pg8000")),
    "mysql": (("pymysql", "pymysql"), ("mysqldb", "MySQLdb"),
              ("mysqlconnector", "mysql.connector"), ("mariadbconnector", "mariadb")),
}
_ASYNC_DRIVERS = {"asyncpg": "asyncpg", "psycopg_async": "psycopg", "aiomysql": "aiomysql",
                  "asyncmy": "asyncmy"}


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a dotted name whose parent is missing
        return False


def server_driver(url: URL) -> str:
    """``backend+driver`` for a URL naming the project's kind of server, with a driver
    that is installed: the project's own when it is (and synchronous), else the first
    installed one. SQLAlchemy's default for a bare ``postgresql://`` or ``mysql://``
    (psycopg2 before 2.1, mysqlclient) is often not, so a command printed with it would
    fail as typed. With no driver installed, psycopg 3 or PyMySQL (what Sluice's extras
    install), and the command's own error says what to install."""
    backend = url.get_backend_name()
    family = "mysql" if backend == "mariadb" else backend
    choices = _DRIVER_MODULES.get(family, ())
    own = url.drivername.partition("+")[2]
    modules = dict(choices)
    if own and own in modules and _importable(modules[own]):
        return f"{backend}+{own}"
    for driver, module in choices:
        if _importable(module):
            return f"{backend}+{driver}"
    if own in _ASYNC_DRIVERS and _importable(_ASYNC_DRIVERS[own]):
        return f"{backend}+{own}"
    return f"{backend}+{choices[0][0]}" if choices else backend


@contextmanager
def _quiet_logs(quiet: bool) -> Iterator[None]:
    """Drop log records below WARNING while env.py runs: its ``fileConfig`` (Alembic's
    template sets the alembic logger to INFO) would put a line per migration step before
    the report. Warnings and errors still show."""
    if not quiet:
        yield
        return
    previous = logging.root.manager.disable
    logging.disable(max(previous, logging.INFO))
    try:
        yield
    finally:
        logging.disable(previous)


def _in_project(path: Path, root: Path) -> bool:
    text = str(path)
    if "site-packages" in text or text.startswith("<"):
        return False
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True
