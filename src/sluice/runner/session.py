"""The hooks one runner invocation puts into Alembic's own run of env.py.

The runner calls ``alembic.command.upgrade``/``downgrade``/``current`` itself; env.py's
``configure_options(config)`` finds the :class:`Session` in ``config.attributes`` and
returns its ``fn`` (the function Alembic's MigrationContext asks for the steps to run).
That ``fn`` computes the steps exactly as ``alembic.command.upgrade`` does
(``sluice.core.alembic_compat.upgrade_steps``) and wraps each revision's ``upgrade()``/``downgrade()``
with the per-revision guards: the migration lock check, timeouts, statement capture,
timing and audit progress. Everything else (connection, transactions, version table) stays Alembic's and env.py's.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection

from sluice.core.alembic_compat import downgrade_steps, upgrade_steps
from sluice.core.durations import format_duration
from sluice.errors import SluiceError
from sluice.owned import DATA_PROGRESS_TABLE
from sluice.runner.audit import StepRecord, mark_running
from sluice.runner.capture import StatementCapture, StepCapture
from sluice.runner.database import first_line
from sluice.runner.lock import LockLost
from sluice.runner.lock_holder import utcnow
from sluice.runner.timeouts import (
    TimeoutApplier,
    Timeouts,
    is_lock_timeout,
    is_statement_timeout,
    module_timeouts,
)

#: The key of ``MigrationContext.opts`` holding the check a data step makes before each
#: batch (raises when the migration lock is gone).
BETWEEN_BATCHES = "sluice_between_batches"


class DryRunRollback(Exception):
    """Raised after the last revision of a dry run so Alembic rolls everything back."""


class DryRunCommit(SluiceError):
    """A revision of a dry run was about to commit part of itself: raised before that
    commit, so everything is rolled back and the dry run stops."""


@dataclass
class DbState:
    """What the probe learned from env.py's own connection."""

    heads: tuple[str, ...] = ()
    version_table: str = "alembic_version"
    version_table_schema: str | None = None
    dialect: str = ""
    mariadb: bool = False
    #: SQLAlchemy's ``server_version_info`` of the connection (None offline).
    server_version: tuple[Any, ...] | None = None
    transactional_ddl: bool = False
    #: Whether the version table was there before the run (looked up on SQLite only, where
    #: a dry run drops the one it made; True elsewhere).
    version_table_exists: bool = True
    url: str | None = None

    @property
    def lint_dialect(self) -> str:
        return "mysql" if self.dialect in ("mysql", "mariadb") else self.dialect


@dataclass
class Failure:
    index: int
    revision: str
    exc: BaseException
    capture: StepCapture | None
    lock_timeout: bool
    statement_timeout: bool
    #: The revision committed part of itself before it failed (it entered an
    #: ``autocommit_block``, as ``sluice.data`` steps do, or committed Alembic's
    #: connection): that part stays, whatever the DDL's transactions.
    committed: bool = False


@dataclass
class Session:
    """Mode ``probe`` (learn heads and dialect), ``run`` (guarded steps) or ``offline``."""

    mode: str = "probe"
    direction: str = "upgrade"
    target: str = "head"
    planned: list[str] = field(default_factory=list)
    #: The runner's already loaded ScriptDirectory (None: the command's own).
    script: Any = None
    #: ``(heads, steps)`` computed while planning; used when the heads still match.
    precomputed: tuple[tuple[str, ...], list[Any] | None] | None = None
    records: list[StepRecord] = field(default_factory=list)
    env_timeouts: Timeouts = field(default_factory=Timeouts)
    dry_run: bool = False
    audit_conn: Connection | None = None
    #: Write ``running`` marks while the migration runs (not on SQLite: one writer).
    mid_run_audit: bool = False
    on_step: Callable[[StepRecord], None] | None = None
    #: Raises LockLost when this process no longer holds the migration lock; called before
    #: each revision and, where DDL is transactional, before the transaction commits.
    check_lock: Callable[[], None] | None = None
    #: Writes a revision's ``running`` mark and checks the lock in one round trip (raises
    #: LockLost, writing nothing, when the lock is gone); used instead of ``check_lock``
    #: before each revision when ``mid_run_audit``, else the mark goes through ``audit_conn``.
    mark_running: Callable[[StepRecord], None] | None = None
    #: Set when ``check_lock`` stopped the run.
    lock_lost: LockLost | None = None
    #: A context manager factory holding SIGINT/SIGTERM around Sluice's own writes.
    hold: Callable[[], AbstractContextManager[Any]] = nullcontext
    state: DbState | None = None
    hooked: bool = False
    failure: Failure | None = None
    capture: StatementCapture | None = None
    applier: TimeoutApplier | None = None
    _conn: Connection | None = None
    _sqlite_listener: Any = None
    _check_after: bool = False
    _commit_each: bool = False
    #: ``(index, capture)`` of the last revision that finished running.
    last_ran: tuple[int, StepCapture | None] | None = None
    #: The revision running now, and the revisions that committed part of themselves.
    _running: int | None = None
    autocommitted: set[int] = field(default_factory=set)
    _commit_listener: tuple[Connection, Callable[[Connection], None]] | None = None
    #: Module namespaces of env.py's runs (see :mod:`sluice.runner.leftopen`).
    namespaces: list[dict[str, Any]] = field(default_factory=list)
    #: ``[tool.sluice.data] progress_table``: where a failed revision's data steps are read.
    progress_table: str = DATA_PROGRESS_TABLE

    # ------------------------------------------------------------- env.py side

    def configure_options(self) -> dict[str, Any]:
        """What ``configure_options`` in env.py adds for this session."""
        if self.mode == "probe":
            return {"fn": self._probe_fn}
        if self.mode == "run":
            options: dict[str, Any] = {"fn": self._run_fn}
            if self.dry_run:
                options["transactional_ddl"] = True  # one transaction, rolled back at the end
            return options
        return {}

    def _probe_fn(self, heads: Any, ctx: Any) -> list[Any]:
        self.hooked = True
        conn = ctx.connection
        state = DbState(
            heads=tuple(heads or ()),
            version_table=ctx.version_table,
            version_table_schema=ctx.version_table_schema,
            dialect=ctx.dialect.name,
            mariadb=bool(getattr(ctx.dialect, "is_mariadb", False)),
            server_version=getattr(ctx.dialect, "server_version_info", None)
            if conn is not None and not ctx.as_sql else None,
            transactional_ddl=bool(ctx.impl.transactional_ddl),
        )
        if conn is not None and not ctx.as_sql:
            state.url = conn.engine.url.render_as_string(hide_password=False)
        if conn is not None and not ctx.as_sql and state.dialect == "sqlite":
            # only a dry run on SQLite needs it (the version table it made is dropped again)
            try:
                state.version_table_exists = inspect(conn).has_table(
                    ctx.version_table, schema=ctx.version_table_schema)
            except Exception:
                state.version_table_exists = True
        self.state = state
        return []

    def _steps(self, heads: Any, ctx: Any) -> list[Any]:
        if self.precomputed is not None:
            planned_heads, steps = self.precomputed
            self.precomputed = None
            if steps is not None and tuple(heads or ()) == planned_heads:
                return steps
        # Same computation as alembic.command.upgrade/downgrade; on the runner's own
        # ScriptDirectory when it has one (already loaded: loading hundreds of revision
        # files twice would double the runner's cost).
        script = self.script if self.script is not None else ctx.script
        if self.direction == "upgrade":
            return upgrade_steps(script, self.target, heads)
        return downgrade_steps(script, self.target, heads)

    def _run_fn(self, heads: Any, ctx: Any) -> list[Any]:
        self.hooked = True
        if ctx.as_sql:
            return self._steps(heads, ctx)
        steps = self._steps(heads, ctx)
        revs = [s.revision.revision for s in steps]
        if revs != self.planned:
            raise SluiceError(
                "the database changed between planning and running (planned "
                f"{', '.join(self.planned) or 'nothing'}, now {', '.join(revs) or 'nothing'}): "
                "something migrated it without taking Sluice's migration lock; nothing was run"
            )
        if self.dry_run and ctx.opts.get("transaction_per_migration"):
            raise SluiceError(
                "--dry-run needs the whole run in one transaction, but env.py configures "
                "transaction_per_migration=True; nothing was run"
            )
        self.install(steps, ctx)
        return steps

    def install(self, steps: list[Any], ctx: Any) -> None:
        """Wrap each step's migration function with the per-revision guards."""
        conn: Connection = ctx.connection
        self._conn = conn
        # what ran of a failed revision only matters where DDL is not transactional
        transactional = bool(ctx.impl.transactional_ddl) or conn.dialect.name == "sqlite"
        # where DDL is transactional nothing is kept before the commit: check before each
        # commit (the end of the run, or of each revision with transaction_per_migration)
        self._check_after = transactional
        self._commit_each = bool(ctx.opts.get("transaction_per_migration"))
        self.capture = StatementCapture(conn, active=not transactional)
        self.applier = TimeoutApplier(conn, mariadb=bool(getattr(ctx.dialect, "is_mariadb", False)))
        if conn.dialect.name == "sqlite":
            self._sqlite_listener = _sqlite_begin
            event.listen(conn, "begin", _sqlite_begin)
        for i, step in enumerate(steps):
            step.migration_fn = self._wrap(step, i, len(steps))
        self._track_autocommit(ctx)
        # a sluice.data step calls it before each batch (see sluice.data.step)
        ctx.opts[BETWEEN_BATCHES] = self._between_batches

    def _between_batches(self) -> None:
        """Stop a data step before its next batch when the migration lock is gone: each
        batch commits, so a step that went on would migrate unguarded. What it committed
        stays, with its checkpoint; a rerun resumes."""
        index = self._running
        if self.check_lock is None or index is None:
            return
        record = self.records[index]
        try:
            self.check_lock()
        except LockLost as exc:
            self.lock_lost = exc
            record.error = f"stopped between two batches of a sluice.data step: {exc}"
            self.failure = Failure(index, record.revision, exc, None, False, False,
                                   committed=True)
            raise

    def _track_autocommit(self, ctx: Any) -> None:
        """Note each revision that commits part of itself: it enters
        ``ctx.autocommit_block()`` (what ran before commits, what runs inside commits as it
        goes) or commits Alembic's connection itself (``op.get_bind().commit()``)."""
        block = ctx.autocommit_block

        def tracked() -> Any:
            index = self._running
            if index is not None and self._check_after and not self.dry_run:
                # entering commits what ran so far: not without the lock, nor with a
                # running mark the database refused (read here on PostgreSQL)
                self._verify_lock(index, self.records[index], before=False)
            self._committed_now("enters an autocommit block")
            return block()

        ctx.autocommit_block = tracked
        event.listen(ctx.connection, "commit", self._on_commit)
        self._commit_listener = (ctx.connection, self._on_commit)

    def _on_commit(self, conn: Connection) -> None:
        self._committed_now("commits Alembic's connection")

    def _committed_now(self, how: str) -> None:
        """A revision is about to commit part of itself (called before the commit)."""
        if self._running is None:  # Alembic's own commit after a revision
            return
        if self.dry_run:  # the rehearsal promises that nothing is committed: stop first
            raise DryRunCommit(
                f"a dry run cannot rehearse it: it {how} (as sluice.data steps and "
                "concurrent index builds do), which would commit the rehearsal for real; "
                "stopped before that commit, everything rolled back")
        self.autocommitted.add(self._running)

    def _wrap(self, step: Any, index: int, total: int) -> Callable[..., Any]:
        original = step.migration_fn
        record = self.records[index]
        script = step.revision

        @functools.wraps(original)
        def guarded(**kw: Any) -> Any:
            assert self.capture is not None and self.applier is not None
            conn = self._conn
            assert conn is not None
            record.started = utcnow()
            marks = self.mid_run_audit and self.audit_conn is not None
            if marks and self.mark_running is not None:
                self._mark_and_verify(index, record)
            else:
                self._verify_lock(index, record, before=True)
            record.ran = True
            t0 = time.perf_counter()
            timeouts = module_timeouts(script.module, script.path).over(self.env_timeouts)
            cap: StepCapture | None = None
            try:  # an interrupt anywhere from here on is this revision's failure
                if marks and self.mark_running is None and self.audit_conn is not None:
                    record.status = "running"
                    with self.hold():
                        mark_running(self.audit_conn, record)
                if conn.dialect.name == "sqlite":
                    self.capture.run_quietly(lambda: _sqlite_ensure_transaction(conn))
                self.capture.run_quietly(lambda: self.applier.apply(timeouts))  # type: ignore[union-attr]
                cap = self.capture.begin(script.revision)
                self._running = index
                result = original(**kw)
                if self._check_after and (self._commit_each or index == total - 1):
                    self._verify_lock(index, record, before=False)  # before the commit
            except LockLost:
                raise
            except BaseException as exc:
                if not isinstance(exc, DryRunRollback):
                    lock_to = is_lock_timeout(exc)
                    stmt_to = is_statement_timeout(exc)
                    record.error = describe_failure(exc, timeouts, lock_to, stmt_to)
                    self.failure = Failure(index, script.revision, exc, cap, lock_to, stmt_to,
                                           committed=index in self.autocommitted)
                raise
            finally:
                self._running = None
                self.capture.end()
                self.last_ran = (index, cap)
                record.finished = utcnow()
                record.duration_ms = int((time.perf_counter() - t0) * 1000)
                if self.failure is not None or index == total - 1:
                    self.capture.run_quietly(self.applier.reset)
                if self.on_step is not None:
                    self.on_step(record)
            if self.dry_run and index == total - 1:
                raise DryRunRollback()
            return result

        return guarded

    def interrupted_between(self, exc: BaseException) -> None:
        """An interrupt that landed outside a revision's body (while Alembic stamped the
        last one that ran): that revision is the one the run stopped in."""
        if self.failure is not None or self.last_ran is None:
            return
        index, cap = self.last_ran
        record = self.records[index]
        kind = "SIGTERM" if "SIGTERM" in str(exc) else "Ctrl-C"
        record.error = f"interrupted ({kind}) after it ran, before it was stamped"
        self.failure = Failure(index, record.revision, exc, cap, False, False)

    def _mark_and_verify(self, index: int, record: StepRecord) -> None:
        """The ``running`` mark and the lock check of a revision about to start, in one
        round trip. A signal that arrives meanwhile (held until the mark is written) is
        this revision's interruption, as when it arrives in the revision's body."""
        record.status = "running"
        try:
            with self.hold():
                self._verify_lock(index, record, before=True, mark=True)
        except KeyboardInterrupt as exc:
            record.ran = True
            record.error = describe_failure(exc, Timeouts(), False, False)
            record.finished = utcnow()
            record.duration_ms = 0
            self.failure = Failure(index, record.revision, exc, None, False, False)
            self.last_ran = (index, None)
            if self.on_step is not None:
                self.on_step(record)
            raise

    def _verify_lock(self, index: int, record: StepRecord, *, before: bool,
                     mark: bool = False) -> None:
        """Stop before the next statement when the migration lock is gone."""
        check: Callable[[], None] | None = self.check_lock
        if mark and self.mark_running is not None:
            check = functools.partial(self.mark_running, record)
        if check is None:
            return
        try:
            check()
        except LockLost as exc:
            self.lock_lost = exc
            if before:
                record.error = f"not started: {exc}"
                record.finished = record.started
                record.duration_ms = 0
            else:
                # it ran; its transaction is rolled back, so nothing is stamped unguarded
                record.error = f"rolled back, not stamped: {exc}"
            self.failure = Failure(index, record.revision, exc, None, False, False,
                                   committed=index in self.autocommitted)
            if self.on_step is not None and before:
                self.on_step(record)
            raise

    def detach(self) -> None:
        if self.capture is not None:
            self.capture.detach()
        if self._sqlite_listener is not None and self._conn is not None:
            try:
                event.remove(self._conn, "begin", self._sqlite_listener)
            except Exception:
                pass
        self._sqlite_listener = None
        if self._commit_listener is not None:
            with contextlib.suppress(Exception):
                event.remove(self._commit_listener[0], "commit", self._commit_listener[1])
            self._commit_listener = None


def _sqlite_ensure_transaction(conn: Connection) -> None:
    """Open a real SQLite transaction so the revision's DDL is inside it.

    Python's sqlite3 driver only opens transactions before INSERT/UPDATE/DELETE; DDL runs in
    autocommit and a failed revision would leave half its tables behind. SQLite itself has
    transactional DDL, so Sluice emits BEGIN (SQLAlchemy's documented recipe for pysqlite).
    """
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and not getattr(dbapi, "in_transaction", True):
        conn.exec_driver_sql("BEGIN")


def _sqlite_begin(conn: Connection) -> None:
    _sqlite_ensure_transaction(conn)


def interruption(exc: BaseException | None) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM behind ``exc``: ``exc`` itself, or one whose clean-up raised
    ``exc`` (a driver refusing to roll back mid-statement, SQLAlchemy's
    ``PendingRollbackError``): the run was interrupted, not broken."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__context__ or exc.__cause__
    return None


def describe_failure(exc: BaseException, timeouts: Timeouts, lock_timeout: bool,
                     statement_timeout: bool) -> str:
    exc = interruption(exc) or exc
    if isinstance(exc, KeyboardInterrupt):
        return f"interrupted ({'SIGTERM' if 'SIGTERM' in str(exc) else 'Ctrl-C'}) while it ran"
    message = first_line(exc)
    if lock_timeout and timeouts.lock_timeout_ms:
        return f"lock timeout ({format_duration(timeouts.lock_timeout_ms)}) tripped: {message}"
    if statement_timeout and timeouts.statement_timeout_ms:
        return (f"statement timeout ({format_duration(timeouts.statement_timeout_ms)}) "
                f"tripped: {message}")
    return f"{type(getattr(exc, 'orig', None) or exc).__name__}: {message}"
