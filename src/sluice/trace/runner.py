"""Run revisions one by one on a scratch database and record what each statement locked.

For every traced revision: upgrade the scratch database to the revision's parents with
Alembic's command API (untraced), optionally seed every table, then run
``alembic upgrade <revision>`` with SQLAlchemy cursor events attached. The events see
every statement the revision sends, on whatever connection env.py opens; after each one
the probe reads the backend's locks and the relations' storage ids on that same
connection (see :mod:`sluice.trace.pg`, :mod:`sluice.trace.mysql`). ``commit`` and
``rollback`` events close the books: a lock is held from the start of the statement that
took it until the end of its transaction.

Safety: while Alembic runs, a statement on any database other than the scratch one is
refused before it reaches the server (an env.py that ignores ``sqlalchemy.url`` must not
migrate a real database).
"""

from __future__ import annotations

import io
import os
import sys
import traceback
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import Script, ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool

from sluice.core.alembic_compat import SCRATCH_RUN, all_down_revisions, kept_proxies
from sluice.core.alembic_log import quiet_alembic
from sluice.core.drivers import sync_url
from sluice.core.project import alembic_config, script_directory
from sluice.errors import SluiceError, mask_url
from sluice.scratch import check_reachable, scratch_database
from sluice.trace.findings import annotate, display_path
from sluice.trace.model import Lock, RevisionTrace, Statement, TraceResult
from sluice.trace.modes import mode_info, mode_on
from sluice.trace.mysql import MySQLProbe
from sluice.trace.pg import PgProbe
from sluice.trace.probe import Probe, RawLock, Rel, Sampler, now
from sluice.trace.seed import owned_tables, seed_tables
from sluice.trace.select import select_revisions, server_url

Log = Callable[[str], None]
_REWRITABLE = ("table", "materialized view")

def _ancestors(script: ScriptDirectory, rev: str) -> set[str]:
    return {s.revision for s in script.iterate_revisions(rev, "base", implicit_base=True)
            if s is not None}


def _one_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


def _real(a: str, cache: dict[str, str]) -> str:
    if a not in cache:
        cache[a] = os.path.realpath(a)
    return cache[a]


def _same_file(a: str, b: str, cache: dict[str, str]) -> bool:
    return _real(a, cache) == b


#: Frames of the ``sluice.data`` package (its steps' statements are collapsed in reports).
_DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))),
                         "data") + os.sep


@contextmanager
def _listening(handlers: dict[str, Callable[..., Any]]) -> Iterator[None]:
    for name, fn in handlers.items():
        event.listen(Engine, name, fn)
    try:
        yield
    finally:
        for name, fn in handlers.items():
            event.remove(Engine, name, fn)


@contextmanager
def guard(database: str | None) -> Iterator[None]:
    """Refuse statements on any database but the scratch one while Alembic runs."""

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        target = conn.engine.url.database
        if target != database:
            raise SluiceError(
                f"env.py connected to {mask_url(conn.engine.url)} instead of the scratch "
                "database; sluice trace needs env.py to use config.get_main_option("
                "'sqlalchemy.url') (or config.attributes['connection'])"
            )

    with _listening({"before_cursor_execute": before}):
        yield


@dataclass
class _Pending:
    sql: str
    line: int | None
    start: float
    autocommit: bool
    implicit_commit: bool
    sampler: Sampler | None
    dbapi: Any
    #: Blocking locks taken earlier in the transaction, still held when it started.
    held: list[Lock]
    step: str | None = None


class _Recorder:
    """The cursor and transaction events of one traced revision."""

    def __init__(self, probe: Probe, rt: RevisionTrace, database: str | None,
                 before: dict[Hashable, Rel]) -> None:
        self.probe = probe
        self.rt = rt
        self.database = database
        self.path = os.path.realpath(rt.path)
        self.existing = set(before)
        self.current = dict(before)
        self.names = dict(before)
        self.held: list[Lock] = []
        self.seen: set[tuple[Hashable, str]] = set()
        self.pending: _Pending | None = None
        self.before_statement: set[tuple[Hashable, str]] = set()
        self._files: dict[str, str] = {}
        self.last_line: int | None = None
        #: ``sluice.data`` step name -> its StepResult (batches read when the revision ends).
        self.step_results: dict[str, Any] = {}
        #: Shared with the result: problems worth a line in the report.
        self.notes: list[str] = []
        #: Where and why a sampler failed first: the locks it watched were not measured.
        self.sampling_failed: str | None = None

    # ------------------------------------------------------------------ helpers
    def _ours(self, conn: Any) -> bool:
        return bool(conn.engine.url.database == self.database)

    def _line(self) -> tuple[int | None, str | None]:
        """The revision file's line on the stack, and the ``sluice.data`` step (if any)
        between it and the statement: its frames are Sluice's bookkeeping."""
        frame = sys._getframe(2)
        step: str | None = None
        while frame is not None:
            if _same_file(frame.f_code.co_filename, self.path, self._files):
                return frame.f_lineno, step
            step = self._step(frame, step)
            frame = frame.f_back  # type: ignore[assignment]
        return None, None

    def _step(self, frame: Any, step: str | None) -> str | None:
        if not _real(frame.f_code.co_filename, self._files).startswith(_DATA_DIR):
            return step
        # the Step object's name (set once it knows its revision), else what was found
        name = getattr(frame.f_locals.get("self"), "step_name", None) or step or "sluice.data"
        result = frame.f_locals.get("result") if frame.f_code.co_name == "_walk" else None
        if result is not None and hasattr(result, "batches"):
            self.step_results[name] = result  # read when the revision ends
        return str(name)

    def _release(self, at: float) -> None:
        for lk in self.held:
            lk.held_ms = (at - lk.taken_at) * 1000
        self.held = []
        self.seen = set()

    def _lock(self, raw: RawLock, observed: str, taken_at: float) -> Lock:
        rel = self.names.get(raw.key)
        info = mode_on(self.probe.backend, raw.mode, raw.kind or (rel.kind if rel else ""))
        return Lock(
            relation=raw.name or (rel.name if rel else str(raw.key)),
            kind=raw.kind or (rel.kind if rel else "relation"),
            table=raw.table or (rel.table if rel else None),
            mode=raw.mode,
            mode_label=info.label,
            granted=raw.granted,
            existing=raw.key in self.existing,
            blocks=info.blocks,
            blocks_detail=info.detail,
            observed=observed,  # type: ignore[arg-type]
            taken_at=taken_at,
        )

    def _stop_sampler(self, p: _Pending) -> list[RawLock]:
        """The locks ``p``'s sampler saw; a failed sampler is remembered (its statement's
        locks, and those of later statements sampled on its connection, went unseen)."""
        if p.sampler is None:
            return []
        sampled = p.sampler.stop()
        if p.sampler.error and self.sampling_failed is None:
            path = display_path(self.rt.path)
            where = f"{path}:{p.line}" if p.line else path
            self.sampling_failed = f"{where}: {p.sampler.error}"
        return sampled

    # ------------------------------------------------------------------ events
    def before_cursor_execute(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                              context: Any, executemany: bool) -> None:
        if not self._ours(conn):
            return
        stale, self.pending = self.pending, None
        if stale is not None:
            # it failed without an error event (SQLAlchemy hides those of its own probes,
            # such as MySQL's has_table DESCRIBE): its sampler must not share the
            # sampling connection with the next one
            self._stop_sampler(stale)
        dbapi = conn.connection.dbapi_connection  # an async driver's adapter has no cursor.connection
        start = now()
        line, step = self._line()
        implicit = self.probe.implicit_commit(statement)
        self.before_statement = set(self.seen)
        if implicit:
            self._release(start)  # MySQL commits the open transaction before DDL
        autocommit = self.probe.is_autocommit(dbapi)
        sampler = None
        if line is not None and (autocommit or self.probe.samples_always()):
            sampler = self.probe.sampler(self.probe.session_id(dbapi), statement, self.current)
            sampler.start()
        self.pending = _Pending(statement, line, now() if sampler else start, autocommit,
                                implicit, sampler, dbapi, [k for k in self.held if k.flagged],
                                step)

    def after_cursor_execute(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                             context: Any, executemany: bool) -> None:
        p = self.pending
        if p is None or not self._ours(conn):
            return
        self.pending = None
        end = now()
        sampled = self._stop_sampler(p)
        duration = end - p.start - float(getattr(p.sampler, "induced_wait", 0.0))
        # Alembic's own statements (the version table) never rewrite a user table: their
        # locks are read, so they are not attributed to the next statement, the
        # relations are not
        raws, rels = self.probe.after_statement(p.dbapi, with_relations=p.line is not None)
        rewrites: list[str] = []
        if rels is not None:
            # tables only: their indexes are rebuilt with them and say nothing more
            rewrites = [
                self.current[k].name for k, rel in rels.items()
                if k in self.existing and k in self.current and rel.kind in _REWRITABLE
                and rel.storage is not None and self.current[k].storage is not None
                and rel.storage != self.current[k].storage
            ]
            self.current = rels
            self.names.update(rels)
        locks: list[Lock] = []
        for raw in raws:
            key = (raw.key, raw.mode)
            if key in self.seen:
                continue
            lk = self._lock(raw, "after statement", p.start)
            self.seen.add(key)
            self.held.append(lk)
            locks.append(lk)
        taken = {(lk.relation, lk.mode) for lk in locks}
        for raw in sampled:
            # a sample can catch locks of the transaction the statement is about to end
            if (raw.key, raw.mode) in self.seen or (raw.key, raw.mode) in self.before_statement:
                continue
            lk = self._lock(raw, "sampled", p.start)
            if (lk.relation, lk.mode) in taken:
                continue
            # the longest unbroken stretch sampled (an ALTER's EXCLUSIVE moment, not its run)
            span = p.sampler.held_for(raw.key, raw.mode) if p.sampler else None
            lk.held_ms = min(duration, span if span is not None else duration) * 1000
            taken.add((lk.relation, lk.mode))
            locks.append(lk)
        if p.implicit_commit or p.autocommit:
            self._release(end)
        if p.line is None:
            return
        locks.sort(key=lambda lk: (lk.relation, -mode_info(self.probe.backend, lk.mode).strength))
        self.rt.statements.append(Statement(
            index=len(self.rt.statements) + 1,
            sql=statement.strip(),
            path=self.rt.path,
            line=p.line,
            duration_ms=duration * 1000,
            autocommit=p.autocommit,
            implicit_commit=p.implicit_commit,
            locks=locks,
            rewrites=rewrites,
            held_earlier=p.held,
            step=p.step,
        ))

    def handle_error(self, ctx: Any) -> None:
        p = self.pending
        conn = ctx.connection
        if p is None or conn is None or not self._ours(conn):
            return
        self.pending = None
        end = now()
        self._stop_sampler(p)
        if p.line is None:
            return
        self.last_line = p.line
        self.rt.statements.append(Statement(
            index=len(self.rt.statements) + 1,
            sql=(ctx.statement or "").strip(),
            path=self.rt.path,
            line=p.line,
            duration_ms=(end - p.start) * 1000,
            autocommit=p.autocommit,
            implicit_commit=p.implicit_commit,
            error=_one_line(ctx.original_exception),
            step=p.step,
        ))

    def commit(self, conn: Any) -> None:
        if self._ours(conn):
            self._release(now())

    def rollback(self, conn: Any) -> None:
        if self._ours(conn):
            self._release(now())

    def handlers(self) -> dict[str, Callable[..., Any]]:
        return {
            "before_cursor_execute": self.before_cursor_execute,
            "after_cursor_execute": self.after_cursor_execute,
            "handle_error": self.handle_error,
            "commit": self.commit,
            "rollback": self.rollback,
        }


def _make_probe(url: URL, dbapi_conn: Any) -> Probe:
    if url.get_backend_name() == "postgresql":
        return PgProbe(url)

    return MySQLProbe(url, dbapi_conn)


class Tracer:
    """Traces revisions of one Alembic project on one scratch database."""

    def __init__(self, ini: str | Path, scratch: URL, script: ScriptDirectory, *,
                 x_args: Sequence[str] = (), seed_rows: int = 0, log: Log | None = None,
                 ini_section: str = "alembic") -> None:
        self.ini, self.ini_section = Path(ini), ini_section
        self.scratch = scratch
        self.script = script
        self.x_args = list(x_args)
        self.seed_rows = seed_rows
        self.log = log or (lambda _msg: None)
        self.applied: set[str] = set()
        self.seeded: set[str] = set()
        self.engine = create_engine(sync_url(scratch), poolclass=NullPool)  # env.py's may be async
        self._catalog: Any = None
        self.scratch_str = scratch.render_as_string(hide_password=False)

    def _cfg(self) -> Any:
        cfg = alembic_config(self.ini, url=self.scratch_str, x_args=self.x_args,
                             stdout=io.StringIO(), ini_section=self.ini_section)
        cfg.attributes[SCRATCH_RUN] = True  # not the environment's database: no comparison
        return cfg

    def _upgrade(self, rev: str) -> None:
        with guard(self.scratch.database), quiet_alembic(), kept_proxies():
            command.upgrade(self._cfg(), rev)
        self.applied |= _ancestors(self.script, rev)

    def run(self, revisions: list[Script], result: TraceResult) -> None:
        # one connection outside any transaction for the catalog reads between revisions
        self._catalog = create_engine(sync_url(self.scratch), poolclass=NullPool,
                                      isolation_level="AUTOCOMMIT").raw_connection()
        try:
            probe = _make_probe(sync_url(self.scratch), self._catalog.driver_connection)
            result.backend = probe.backend
            result.server_version = probe.server_version(self._catalog.driver_connection)
        except BaseException:
            self._catalog.close()
            raise
        result.lock_tracing = probe.locks_available
        result.lock_tracing_note = probe.unavailable_reason
        try:
            for script_rev in revisions:
                rt = self._trace_one(probe, script_rev, result)
                result.revisions.append(rt)
                if rt.error:
                    result.failure = rt.error
                    break
            result.rewrite_tracing = probe.rewrites_available
        finally:
            probe.close()
            self._catalog.close()
            self.engine.dispose()

    def _trace_one(self, probe: Probe, script_rev: Script, result: TraceResult) -> RevisionTrace:
        rev = script_rev.revision
        rt = RevisionTrace(
            revision=rev,
            path=str(script_rev.path),
            message=script_rev.doc,
            down_revisions=all_down_revisions(script_rev),
        )
        for parent in rt.down_revisions:
            if parent not in self.applied:
                self.log(f"upgrading the scratch database to {parent} (parent of {rev})")
                try:
                    self._upgrade(parent)
                except SluiceError:
                    raise
                except Exception as exc:
                    rt.error = (f"{rt.path}: could not upgrade the scratch database to its "
                                f"parent {parent}: {_one_line(exc)}")
                    return rt
        if self.seed_rows > 0:
            self.log(f"seeding {self.seed_rows} rows per table before {rev}")
            seeded, notes = seed_tables(self.engine, self.seed_rows, skip=self.seeded,
                                        owned=owned_tables(self.ini))
            rt.seeded = seeded
            self.seeded |= set(seeded)
            for note in notes:
                if note not in result.notes:
                    result.notes.append(note)
        before = probe.relations(self._catalog.driver_connection)
        recorder = _Recorder(probe, rt, self.scratch.database, before)
        recorder.notes = result.notes
        self.log(f"tracing {rev} ({Path(rt.path).name})")
        start = now()
        try:
            with guard(self.scratch.database), _listening(recorder.handlers()), \
                    quiet_alembic(), kept_proxies():
                command.upgrade(self._cfg(), rev)
        except SluiceError:
            raise
        except Exception as exc:
            line = _line_in(exc, rt.path) or recorder.last_line
            where = f"{rt.path}:{line}" if line else rt.path
            rt.error = f"{where}: revision {rev} failed on the scratch database: {_one_line(exc)}"
        finally:
            recorder._release(now())
            rt.data_steps = {name: int(res.batches) for name, res in recorder.step_results.items()}
            if recorder.sampling_failed and result.lock_tracing:
                result.lock_tracing = False  # a gate on locks must not pass what went unseen
                result.lock_tracing_note = (
                    "lock tracing stopped part way on this server: sampling the locks of a "
                    f"statement failed at {recorder.sampling_failed}; the locks of that "
                    "statement and of those sampled after it were not measured. Rerun the "
                    "trace; if it fails again, check the server's log")
            rt.duration_ms = (now() - start) * 1000
            annotate(rt, probe.backend)
        if not rt.error:
            self.applied |= _ancestors(self.script, rev)
        return rt


def _line_in(exc: BaseException, path: str) -> int | None:
    real = os.path.realpath(path)
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.realpath(frame.filename) == real:
            line = frame.lineno
    return line


def trace_project(
    ini: str | Path,
    url: str | URL,
    revisions: Sequence[str] = (),
    *,
    x_args: Sequence[str] = (),
    seed_rows: int = 0,
    log: Log | None = None,
    ini_section: str = "alembic",
) -> TraceResult:
    """Trace ``revisions`` (default: all) of section ``ini_section`` of ``ini`` on a scratch
    database created on the server of ``url``, which is dropped afterwards whatever happens."""
    server = server_url(url)
    if seed_rows < 0:
        raise SluiceError(f"--seed-rows {seed_rows}: must be 0 or more")
    base_cfg = alembic_config(ini, x_args=x_args, stdout=io.StringIO(), ini_section=ini_section)
    script = script_directory(base_cfg)
    selected = select_revisions(script, revisions)
    if not selected:
        raise SluiceError(f"{ini}: no revisions to trace")
    check_reachable(server)
    result = TraceResult(backend=server.get_backend_name(), server_version="",
                         server=mask_url(server), lock_tracing=False, seed_rows=seed_rows)
    with scratch_database(server, prefix="sluice_trace") as scratch:
        (log or (lambda _m: None))(f"scratch database {scratch.database} on {mask_url(server)}")
        Tracer(ini, scratch, script, x_args=x_args, seed_rows=seed_rows, log=log,
               ini_section=ini_section).run(selected, result)
    return result
