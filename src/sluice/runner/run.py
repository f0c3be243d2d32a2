"""``sluice upgrade`` / ``sluice downgrade``: Alembic's own command under the guards.

Order of events (each step can stop the run, and nothing changes before the backup):

1. probe: run env.py through ``alembic.command.current`` to learn the current heads,
   dialect and version table from env.py's own connection;
2. plan and policy: downgrade refused, lint errors refused, confirmation asked (production
   defaults), all before waiting on anyone;
3. migration lock (see :mod:`sluice.runner.lock`; one per database, checked before each
   revision); then the heads are read again, stale audit rows of dead runs are reconciled,
   and the plan is recomputed: another deploy may have done the work meanwhile;
4. checksum warnings for applied revisions whose file changed;
5. backup;
6. ``alembic.command.upgrade``/``downgrade``, with the per-revision hooks of
   :mod:`sluice.runner.session`; a lock timeout is retried with backoff where that is safe;
7. audit rows finalized from the version table; lock released.

SIGINT and SIGTERM stop the run inside a revision (its transaction is rolled back where
DDL is transactional); Sluice's own bookkeeping (audit rows, reading the version table,
releasing the lock) is never cut in half: a signal arriving there is held until it is done.
"""

from __future__ import annotations

import random
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import Connection

from sluice.core.alembic_compat import all_down_revisions, downgrade_steps, upgrade_steps
from sluice.errors import DatabaseUnavailable, PolicyViolation, SluiceError, mask_url
from sluice.runner import audit, guards
from sluice.runner.audit import RunRecord, StepRecord
from sluice.runner.backup import BackupResult, run_backup
from sluice.runner.capture import PartialFailure, partial_failure, split_offline_sql
from sluice.runner.database import connect, first_line, make_engine
from sluice.runner.durations import format_duration
from sluice.runner.lock import Holder, LockLost, MigrationLock
from sluice.runner.plan import Plan, build_plan
from sluice.runner.project import RunnerProject, env_py_calls_configure_options
from sluice.runner.session import DbState, DryRunRollback, Session

Notify = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"sluice: {message}", file=sys.stderr, flush=True)


class MigrationFailed(SluiceError):
    """A revision failed while running (exit 1); ``result`` has the details."""

    exit_code = 1

    def __init__(self, message: str, *, result: RunResult, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result


@dataclass
class RunOptions:
    direction: str = "upgrade"
    target: str = "head"
    dry_run: bool = False
    yes: bool = False
    allow_downgrade: bool = False
    #: Shows the plan and asks; None when there is no one to ask (no terminal).
    confirm: Callable[[Plan], bool] | None = None
    notify: Notify = _stderr
    via: str = "sluice"
    lock_slice_ms: int = 1000


@dataclass
class RunResult:
    status: str  # up-to-date | applied | dry-run | failed
    environment: str
    direction: str
    target: str
    url: str
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    attempts: int = 0
    backup: BackupResult | None = None
    lock_waited_ms: float = 0.0
    warnings: list[str] = field(default_factory=list)
    partial: PartialFailure | None = None
    error: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status, "environment": self.environment,
            "direction": self.direction, "target": self.target, "url": self.url,
            "before": self.before, "after": self.after, "attempts": self.attempts,
            "seconds": round(self.seconds, 3), "lock_waited_ms": int(self.lock_waited_ms),
            "backup": ({"description": self.backup.description, "path": self.backup.path,
                        "seconds": round(self.backup.seconds, 3)} if self.backup else None),
            "revisions": [
                {"revision": s.revision, "status": s.status, "from": s.from_revision,
                 "to": s.to_revision, "duration_ms": s.duration_ms, "error": s.error}
                for s in self.steps
            ],
            "warnings": self.warnings,
            "partial_failure": self.partial.as_dict() if self.partial else None,
            "error": self.error,
        }

    def render(self) -> str:
        at = ", ".join(self.after) or "base"
        if self.status == "up-to-date":
            return f"nothing to do: {self.environment} is at {at} (target {self.target})"
        ran = [s for s in self.steps if s.ran]
        lines = []
        if self.status == "dry-run":
            total = sum(s.duration_ms or 0 for s in ran)
            lines.append(f"dry run on {self.environment}: {len(ran)} revision"
                         f"{'s' if len(ran) != 1 else ''} ran in {format_duration(total)} and "
                         f"{'were' if len(ran) != 1 else 'was'} rolled back; the database is "
                         f"still at {at}")
        else:
            n = len([s for s in self.steps if s.status == "succeeded"])
            verb = "applied" if self.direction == "upgrade" else "reverted"
            lines.append(f"{verb} {n} revision{'s' if n != 1 else ''} on {self.environment} "
                         f"in {format_duration(self.seconds * 1000)}; now at {at}")
        for s in ran:
            lines.append(f"  {s.revision}  {format_duration(s.duration_ms)}")
        if self.backup:
            lines.append(f"backup: {self.backup.description} "
                         f"({format_duration(self.backup.seconds * 1000)})")
        return "\n".join(lines)


# --------------------------------------------------------------------------- helpers


def probe(project: RunnerProject) -> DbState:
    """Current heads, dialect and version table, from env.py's own connection."""
    from sqlalchemy.exc import DBAPIError

    session = Session(mode="probe")
    try:
        command.current(project.alembic_cfg(session))
    except DBAPIError as exc:
        # the probe only connects and reads the version table: this is the database
        raise DatabaseUnavailable(
            f"{mask_url(project.url)}: cannot connect: {first_line(exc)}") from None
    if not session.hooked or session.state is None:
        raise SluiceError(_not_wired_message(project))
    return session.state


def _not_wired_message(project: RunnerProject) -> str:
    return (
        f"{project.script.dir}/env.py does not pass sluice.configure_options() to "
        "context.configure(); the runner's per-revision guards (timeouts, audit, dry run) "
        "hook in there. Run `sluice init` to wire it, or add `**configure_options(config)` "
        "to each context.configure(...) call"
    )


def read_heads(conn: Connection, state: DbState) -> tuple[str, ...]:
    ctx = MigrationContext.configure(conn, opts={
        "version_table": state.version_table,
        "version_table_schema": state.version_table_schema,
    })
    return tuple(ctx.get_current_heads())


def applied_revisions(script: ScriptDirectory, heads: Sequence[str]) -> set[str]:
    """Every revision the version table's heads imply is applied."""
    seen: set[str] = set()
    stack = list(heads)
    while stack:  # down the graph from the heads: parents and depends_on alike
        rev = stack.pop()
        if rev in seen:
            continue
        seen.add(rev)
        sc = script.get_revision(rev)
        if sc is None:
            continue
        stack.extend(all_down_revisions(sc))
    return seen


def planned_steps(script: ScriptDirectory, direction: str, target: str,
                  heads: Sequence[str], cache: dict[Any, list[Any]] | None = None,
                  ) -> list[tuple[Script, list[str], list[str]]]:
    """``(script, from, to)`` in the order Alembic's upgrade/downgrade would run them.

    The steps come from the same ``ScriptDirectory`` walk (:mod:`sluice.core.alembic_compat`)
    that ``alembic.command.upgrade``/``downgrade`` use. ``cache`` keeps the step objects
    for the run (computing them is O(revisions) and the history has hundreds).
    """
    key = (direction, target, tuple(heads))
    steps = cache.get(key) if cache is not None else None
    if steps is None:
        try:
            if direction == "upgrade":
                steps = upgrade_steps(script, target, heads)
            else:
                steps = downgrade_steps(script, target, heads)
        except SluiceError:
            raise
        except Exception as exc:
            raise SluiceError(f"{direction} {target}: {' '.join(str(exc).split())}") from None
        if cache is not None:
            cache[key] = steps
    return [(s.revision, list(s.from_revisions), list(s.to_revisions)) for s in steps]


def render_revision_sql(project: RunnerProject, state: DbState, direction: str,
                        revision: str, frm: str | None, to: str | None) -> list[str]:
    """One revision's statements, rendered offline through env.py."""
    import io

    buf = io.StringIO()
    cfg = project.alembic_cfg(Session(mode="offline"), output_buffer=buf)
    if direction == "upgrade":
        command.upgrade(cfg, f"{frm}:{revision}" if frm else revision, sql=True)
    else:
        command.downgrade(cfg, f"{revision}:{to or 'base'}", sql=True)
    return [s for r, s in split_offline_sql(buf.getvalue(), state.version_table, state.dialect)
            if r == revision]


def _waiter(notify: Notify, url: str, timeout_ms: int) -> Callable[[Holder | None, float], None]:
    """Say who holds the lock when waiting starts, when the holder becomes known (or is
    found to have lost the lock while still connected), and every 15 seconds after that."""
    last = [-1.0]
    known: list[tuple[bool, bool]] = [(False, False)]

    def on_wait(holder: Holder | None, waited_ms: float) -> None:
        state = (holder is not None, holder is not None and holder.lost)
        changed = state != known[0] and state[0]
        if last[0] >= 0 and waited_ms - last[0] < 15_000 and not changed:
            return
        last[0] = waited_ms
        known[0] = state
        who = holder.describe() if holder else "another process (not recorded yet)"
        left = max(0.0, timeout_ms - waited_ms)
        notify(f"waiting for the migration lock on {mask_url(url)}: held by {who}; "
               f"giving up in {format_duration(left)}")

    return on_wait


class Signals:
    """SIGTERM (what a deploy tool sends on timeout) stops the run like Ctrl-C does: the
    migration transaction rolls back, the audit rows are written, the lock is released.

    Inside :meth:`hold` (audit writes, version table reads, the lock) a signal is held
    and raised when the block ends, so a connection is never left half way through a
    statement or a commit of Sluice's own.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.held: str | None = None

    def handler(self, signum: int, frame: Any) -> None:
        name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
        if self.depth:
            self.held = self.held or name
            return
        raise KeyboardInterrupt(name)

    @contextmanager
    def hold(self, *, drop: bool = False) -> Iterator[None]:
        """Hold signals in the block; ``drop``: forget them after (the run is over)."""
        self.depth += 1
        try:
            yield
        except BaseException:
            self.depth -= 1
            raise
        self.depth -= 1
        if self.held and not self.depth:
            name, self.held = self.held, None
            if not drop:
                raise KeyboardInterrupt(name)

    @contextmanager
    def installed(self) -> Iterator[Signals]:
        try:
            previous = {sig: signal.signal(sig, self.handler)
                        for sig in (signal.SIGTERM, signal.SIGINT)}
        except ValueError:  # not the main thread
            yield self
            return
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


# --------------------------------------------------------------------------- the run


def run(project: RunnerProject, opts: RunOptions) -> RunResult:
    """Run a guarded upgrade or downgrade; raises PolicyViolation, LockTimeout,
    BackupFailed or MigrationFailed (with the result) when it stops."""
    started = time.monotonic()
    policy = project.policy
    notify = opts.notify
    direction, target = opts.direction, opts.target
    if not env_py_calls_configure_options(project):
        raise SluiceError(_not_wired_message(project))
    state = probe(project)
    url = state.url or project.url
    result = RunResult(status="up-to-date", environment=project.environment,
                       direction=direction, target=target, url=mask_url(url),
                       before=list(state.heads), after=list(state.heads))
    transactional = state.transactional_ddl or state.dialect == "sqlite"
    if opts.dry_run and not transactional:
        raise SluiceError(
            f"--dry-run is not possible on {'MariaDB' if state.mariadb else 'MySQL'}: it has "
            "no transactional DDL (every CREATE/ALTER/DROP commits on its own), so a dry run "
            "would really change the database",
            hint=f"Review the SQL instead: sluice {direction} {target} --sql --env "
            f"{project.environment}; or rehearse on a staging copy of the database.",
        )
    scripts = planned_steps(project.script, direction, target, state.heads, project.steps)
    if not scripts:
        return result

    confirmed = [sc.revision for sc, _, _ in scripts]
    asked = False
    if not opts.dry_run:
        asked = _check_policy(project, state, opts, scripts, notify)

    lock = MigrationLock(
        url, timeout_ms=policy.migration_lock_timeout_ms,
        holder=Holder(environment=project.environment,
                      command=f"{opts.via} {direction} {target}"),
        version_table=state.version_table,
        on_wait=_waiter(notify, url, policy.migration_lock_timeout_ms),
        slice_ms=opts.lock_slice_ms,
    )
    with Signals().installed() as signals:
        return _locked_run(project, opts, state, lock, result, scripts, confirmed, asked,
                           transactional, started, signals)


def fresh_heads(conn: Connection, state: DbState) -> tuple[str, ...]:
    """The version table now, read in a transaction of its own (no stale snapshot)."""
    if conn.in_transaction():
        conn.rollback()
    try:
        return read_heads(conn, state)
    finally:
        if conn.in_transaction():
            conn.rollback()


def _locked_run(project: RunnerProject, opts: RunOptions, state: DbState, lock: MigrationLock,
                result: RunResult, scripts: list[tuple[Script, list[str], list[str]]],
                confirmed: list[str], asked: bool, transactional: bool,
                started: float, signals: Signals) -> RunResult:
    policy = project.policy
    notify = opts.notify
    direction, target = opts.direction, opts.target
    url = state.url or project.url
    with signals.hold():
        lock.acquire()
    try:
        result.lock_waited_ms = lock.waited_ms
        # audit rows go through the lock's transactional connection: one commit for a
        # batch of rows instead of one per row
        audit_conn = lock.audit_conn
        assert audit_conn is not None
        with signals.hold():
            heads = fresh_heads(audit_conn, state)
        result.before = result.after = list(heads)
        if not opts.dry_run:
            with signals.hold():
                reconciled = audit.reconcile_stale(audit_conn,
                                                   applied_revisions(project.script, heads))
            for r in reconciled:
                when = f" (started {r.started:%Y-%m-%d %H:%M:%S} UTC)" if r.started else ""
                msg = (f"a previous run by {r.who}{when} died before finishing; "
                       f"{r.revision} recorded as {r.status}")
                result.warnings.append(msg)
                notify(msg)
        scripts = planned_steps(project.script, direction, target, heads, project.steps)
        revs = [sc.revision for sc, _, _ in scripts]
        if not scripts:
            notify("another deploy already did this while we waited for the lock")
            return result
        if revs != confirmed:
            if asked and not set(revs) <= set(confirmed):
                raise PolicyViolation(
                    "the database changed while this run waited for the migration lock; "
                    f"the plan you confirmed ({', '.join(confirmed)}) is no longer what would "
                    f"run ({', '.join(revs)}); nothing was changed",
                    hint=f"Review the new plan: sluice plan {target} --env {project.environment}",
                )
            if not opts.dry_run and not set(revs) <= set(confirmed):
                _check_policy(project, state, opts, scripts, notify, ask=False)
        for w in _checksum_warnings(project, audit_conn, heads):
            result.warnings.append(w)
            notify(f"warning: {w}")
        if not opts.dry_run and (policy.require_backup or policy.backup_command):
            notify("backing up before anything changes ...")
            result.backup = run_backup(
                url, command=policy.backup_command, cwd=project.ini.resolve().parent,
                revision="_".join(heads) or "base", target=target, env=project.environment)
            notify(f"backup done: {result.backup.description}")
        _run_attempts(project, opts, state, lock, scripts, result, transactional, signals)
        return result
    finally:
        with signals.hold(drop=True):
            lock.release()
        result.seconds = time.monotonic() - started


def _check_policy(project: RunnerProject, state: DbState, opts: RunOptions,
                  scripts: list[tuple[Script, list[str], list[str]]], notify: Notify,
                  *, ask: bool = True) -> bool:
    """Downgrade, lint and confirmation guards; True when the user was asked."""
    policy = project.policy
    downgrade = opts.direction == "downgrade"
    lint = opts.direction == "upgrade" and policy.block_on_lint_errors
    confirm = ask and policy.confirm and not opts.yes
    if not (downgrade or lint or confirm):
        return False
    sizes_conn = None
    engine = None
    if confirm:
        engine = make_engine(state.url or project.url)
        sizes_conn = connect(engine)
    try:
        plan = build_plan(project, state, opts.direction, opts.target, scripts,
                          sizes_conn=sizes_conn, with_sql=confirm, with_lint=lint or confirm,
                          with_details=confirm)
    finally:
        if sizes_conn is not None:
            sizes_conn.close()
        if engine is not None:
            engine.dispose()
    guards.evaluate(plan, policy, allow_downgrade=opts.allow_downgrade)
    guards.enforce(plan)
    if not confirm:
        return False
    if opts.confirm is None:
        raise PolicyViolation(
            f"{project.environment} requires confirmation before changing the database, and "
            "there is no terminal to ask on; nothing was changed",
            hint=f"Review the plan (sluice plan {opts.target} --env {project.environment}), "
            "then run again with --yes.",
        )
    if not opts.confirm(plan):
        raise PolicyViolation("not confirmed; nothing was changed")
    return True


def _checksum_warnings(project: RunnerProject, conn: Connection,
                       heads: Sequence[str]) -> list[str]:
    if not audit.table_exists(conn):
        return []
    applied = applied_revisions(project.script, heads)
    paths = {sc.revision: sc.path for sc in project.script.walk_revisions() if sc.path}
    entries = [e for e in audit.read_history(conn, status="succeeded", direction="upgrade")
               if e.revision in applied]
    return [m.message() for m in audit.checksum_mismatches(entries, paths)]


def _run_attempts(project: RunnerProject, opts: RunOptions, state: DbState, lock: MigrationLock,
                  scripts: list[tuple[Script, list[str], list[str]]], result: RunResult,
                  transactional: bool, signals: Signals) -> None:
    audit_conn = lock.audit_conn
    assert audit_conn is not None
    policy = project.policy
    notify = opts.notify
    write_audit = not opts.dry_run
    holder = Holder()
    attempt = 0
    while True:
        attempt += 1
        result.attempts = attempt
        records = [
            StepRecord(revision=sc.revision, direction=opts.direction,
                       from_revision=",".join(frm) or None, to_revision=",".join(to) or None,
                       checksum=audit.checksum_file(sc.path))
            for sc, frm, to in scripts
        ]
        run_rec = RunRecord(run_id=audit.new_run_id(), environment=project.environment,
                            username=holder.username, host=holder.host, pid=holder.pid,
                            via=f"{opts.via} {opts.direction}", steps=records)
        if write_audit:
            with signals.hold():
                audit.ensure_table(audit_conn)
                audit.insert_pending(audit_conn, run_rec)
        result.steps = records

        def on_step(rec: StepRecord) -> None:
            if rec.error is None:
                notify(f"{rec.revision} {'ran' if opts.dry_run else 'done'} in "
                       f"{format_duration(rec.duration_ms)}")

        key = (opts.direction, opts.target, tuple(result.after))
        session = Session(
            mode="run", direction=opts.direction, target=opts.target,
            script=project.script, precomputed=(key[2], project.steps.pop(key, None)),
            planned=[sc.revision for sc, _, _ in scripts], records=records,
            env_timeouts=project.env_timeouts, dry_run=opts.dry_run,
            audit_conn=audit_conn if write_audit else None,
            mid_run_audit=write_audit and state.dialect != "sqlite", on_step=on_step,
            check_lock=lock.verify, hold=signals.hold,
        )
        outcome: BaseException | None = None
        try:
            if opts.direction == "upgrade":
                command.upgrade(project.alembic_cfg(session), opts.target)
            else:
                command.downgrade(project.alembic_cfg(session), opts.target)
        except DryRunRollback:
            outcome = None
        except BaseException as exc:  # noqa: BLE001 - recorded, then re-raised below
            outcome = exc
        finally:
            session.detach()
        if isinstance(outcome, KeyboardInterrupt):
            session.interrupted_between(outcome)
        with signals.hold():
            _finish_attempt(project, opts, state, lock, session, scripts, result, transactional,
                            write_audit)
        heads = tuple(result.after)
        if outcome is None and not session.hooked:
            raise SluiceError(_not_wired_message(project))
        if opts.dry_run and outcome is None:
            result.status = "dry-run"
            return
        if outcome is None:
            result.status = "applied"
            return
        # ------------------------------------------------------------ failure
        result.status = "failed"
        failure = session.failure
        if session.lock_lost is not None:
            raise _lock_lost_error(project, opts, result, session.lock_lost, transactional,
                                   failure)
        if isinstance(outcome, (KeyboardInterrupt, SystemExit)):
            where = f" in {failure.revision}" if failure is not None else ""
            notify(f"interrupted{where}; the database is at {', '.join(heads) or 'base'} "
                   f"(recorded in {audit.HISTORY_TABLE}); the migration lock is released")
            if result.partial is not None:
                notify(result.partial.render(ini=str(project.ini), env=project.environment))
            elif not transactional and failure is not None and failure.capture is not None \
                    and failure.capture.failed is not None:
                notify(f"{failure.revision} was running `{' '.join(failure.capture.failed.sql.split())}` "
                       "when the signal came: MySQL/MariaDB may have committed it. Check the "
                       "schema before running again; `sluice history` has the record.")
            raise outcome
        retry_safe = failure is not None and failure.lock_timeout and (
            transactional or failure.capture is None or not failure.capture.applied)
        if retry_safe and attempt <= policy.lock_retries and failure is not None:
            delay = policy.lock_retry_backoff_ms * (2 ** (attempt - 1)) / 1000
            delay *= random.uniform(0.8, 1.2)
            notify(
                f"{failure.revision}: {records[failure.index].error}; nothing of it was applied. "
                f"Retry {attempt} of {policy.lock_retries} in {delay:.1f}s "
                "(another session holds a lock on a table it needs)")
            time.sleep(delay)
            scripts = planned_steps(project.script, opts.direction, opts.target, heads,
                                    project.steps)
            if not scripts:
                result.status = "applied"
                return
            continue
        raise _failure_error(project, opts, state, result, failure, outcome, transactional,
                             retry_safe and attempt > policy.lock_retries, audit_conn)


def _finish_attempt(project: RunnerProject, opts: RunOptions, state: DbState, lock: MigrationLock,
                    session: Session, scripts: list[tuple[Script, list[str], list[str]]],
                    result: RunResult, transactional: bool, write_audit: bool) -> None:
    """The version table's truth into ``result`` and the audit rows (signals held)."""
    audit_conn = lock.audit_conn
    assert audit_conn is not None
    records = session.records
    heads = fresh_heads(audit_conn, state)
    result.after = list(heads)
    applied = applied_revisions(project.script, heads)
    if opts.dry_run:
        if lock.conn is not None:
            _drop_empty_version_table(lock.conn, state)
        for r in records:
            r.status = "failed" if r.error else "rolled_back" if r.ran else "skipped"
        return
    failure = session.failure
    partial = None
    if failure is not None and not transactional and failure.capture is not None \
            and failure.capture.applied:
        rec = records[failure.index]
        try:
            rendered: list[str] | None = render_revision_sql(
                project, state, opts.direction, rec.revision,
                rec.from_revision, rec.to_revision)
            render_error = None
        except Exception as exc:
            rendered, render_error = None, first_line(exc)
        partial = partial_failure(failure.capture, error=rec.error or "",
                                  from_revision=rec.from_revision,
                                  path=scripts[failure.index][0].path,
                                  rendered=rendered, render_error=render_error)
        rec.statements = partial.as_dict()
    result.partial = partial
    if write_audit:
        audit.decide_statuses(records, applied)
        if session.lock_lost is not None:
            audit.lock_lost_statuses(records, str(session.lock_lost))
        audit.write_final(audit_conn, records)


def _drop_empty_version_table(conn: Connection, state: DbState) -> None:
    """A dry run on a fresh SQLite database: Alembic created the version table outside the
    transaction; remove it again when it is empty."""
    if state.version_table_exists or state.dialect != "sqlite":
        return
    from sqlalchemy import inspect, text

    try:
        if inspect(conn).has_table(state.version_table):
            count = conn.execute(text(f'SELECT count(*) FROM "{state.version_table}"')).scalar()
            if not count:
                conn.execute(text(f'DROP TABLE "{state.version_table}"'))
    except Exception:
        pass


def _lock_lost_error(project: RunnerProject, opts: RunOptions, result: RunResult,
                     lost: LockLost, transactional: bool, failure: Any) -> MigrationFailed:
    """Exit 2: the run stopped because another deploy could have taken its lock."""
    at = ", ".join(result.after) or "base"
    done = [s.revision for s in result.steps if s.status == "succeeded"]
    rec = result.steps[failure.index] if failure is not None else None
    if rec is None:
        where = "stopped"
    elif rec.ran:
        where = f"stopped after {rec.revision} ran, before it was stamped"
    else:
        where = f"stopped before {rec.revision} ran"
    if done:
        kept = (f"{', '.join(done)} {'was' if len(done) == 1 else 'were'} applied and "
                "stamped before that")
    elif transactional:
        kept = "its transaction was rolled back, nothing was applied"
    else:
        kept = "nothing was applied"
    message = f"{lost}; {where}: {kept}; the database is at {at}"
    result.error = message
    error = MigrationFailed(
        message, result=result,
        hint=f"{lost.hint}\nRun again: sluice {opts.direction} {opts.target} "
        f"--env {project.environment}")
    error.exit_code = 2
    return error


@contextmanager
def suppress_db_errors() -> Iterator[None]:
    try:
        yield
    except Exception:
        pass


def _after_interruption(project: RunnerProject, opts: RunOptions, result: RunResult,
                        rec: StepRecord, earlier: audit.HistoryEntry) -> MigrationFailed:
    """MySQL/MariaDB: this revision failed, and an earlier run was interrupted inside it.
    What that run committed before it stopped is still in the database."""
    at = ", ".join(result.after) or "base"
    when = f" at {earlier.started:%Y-%m-%d %H:%M:%S} UTC" if earlier.started else ""
    who = f"{earlier.user}@{earlier.host} pid {earlier.pid}"
    applied = list((earlier.statements or {}).get("applied") or [])
    not_applied = (earlier.statements or {}).get("not_applied")
    lines = [f"What is in the database: MySQL/MariaDB committed each DDL statement of "
             f"{rec.revision} the moment it ran, but alembic_version still says {at}."]
    if applied:
        lines.append(f"Statements of {rec.revision} that run completed (recorded in "
                     f"{audit.HISTORY_TABLE}, row {earlier.id}):")
        lines += [f"  {i}. {' '.join(sql.split())}" for i, sql in enumerate(applied, 1)]
        if not_applied:
            lines.append("Not applied:")
            lines += [f"  {i}. {' '.join(sql.split())}"
                      for i, sql in enumerate(not_applied, len(applied) + 1)]
    else:
        lines.append(f"Which of its statements completed is not recorded ({earlier.error}); "
                     f"compare the schema with upgrade() in {rec.revision}'s file.")
    envflag = f" --env {project.environment}"
    lines += [
        "What to do now:",
        "  1. Do not re-run the upgrade as it is: it runs the applied statements again and "
        "fails on them (or applies data changes twice).",
        "  2. Either finish forward: run the statements that are missing by hand, then record "
        f"the revision with `alembic -c {project.ini} stamp {rec.revision}`.",
        "  3. Or go back: undo the applied statements by hand (its downgrade() shows how), "
        f"check the schema matches {at}, and run `sluice {opts.direction} {opts.target}"
        f"{envflag}` again.",
        f"  The record: `sluice history{envflag} --revision {rec.revision} --format json`.",
    ]
    message = (f"revision {rec.revision} failed: {rec.error}; an earlier run by {who}{when} "
               f"was interrupted inside {rec.revision} and left part of it applied "
               f"({len(applied) if applied else 'an unknown number of'} statements); "
               f"the database is at {at}")
    result.error = message
    return MigrationFailed(message, result=result, hint="\n".join(lines))


def _failure_error(project: RunnerProject, opts: RunOptions, state: DbState,
                   result: RunResult, failure: Any, outcome: BaseException,
                   transactional: bool, retries_exhausted: bool,
                   audit_conn: Connection | None = None) -> MigrationFailed:
    at = ", ".join(result.after) or "base"
    env = project.environment
    if failure is None:
        message = f"{opts.direction} failed before any revision ran: {first_line(outcome)}"
        if isinstance(outcome, SluiceError):
            message = str(outcome)
        result.error = message
        return MigrationFailed(message, result=result,
                               hint=getattr(outcome, "hint", None))
    rec = result.steps[failure.index]
    result.error = f"{rec.revision}: {rec.error}"
    if result.partial is not None:
        return MigrationFailed(f"revision {rec.revision} failed part way: {rec.error}",
                               result=result, hint=result.partial.render(
                                   ini=str(project.ini), env=env))
    earlier = None
    if not transactional and audit_conn is not None:
        with suppress_db_errors():
            earlier = audit.previous_interruption(audit_conn, rec.revision, opts.direction,
                                                  rec.run_id)
    if earlier is not None:
        return _after_interruption(project, opts, result, rec, earlier)
    if transactional:
        state_line = (f"its transaction was rolled back; the database is at {at}, nothing of "
                      f"{rec.revision} was applied")
    else:
        state_line = (f"none of its statements had completed, so nothing of {rec.revision} "
                      f"was applied; the database is at {at}")
    hint_lines = []
    if failure.lock_timeout:
        hint_lines.append(
            ("The lock timeout tripped on every retry: " if retries_exhausted else
             "The lock timeout tripped: ")
            + "a long-running transaction or query holds a lock on a table this revision "
            "alters. Find it (PostgreSQL: pg_stat_activity joined with pg_locks; MySQL: "
            "SHOW PROCESSLIST / performance_schema.metadata_locks), let it finish or end it, "
            "then run again, or run at a quieter time.")
    elif failure.statement_timeout:
        hint_lines.append(
            "The statement timeout tripped: this revision does more work than the timeout "
            "allows (a table rewrite or a large backfill). Do it in batches "
            "(sluice.data), or raise statement_timeout for this revision with "
            "sluice_timeouts = {\"statement_timeout\": \"30min\"} after checking the plan.")
    else:
        hint_lines.append(f"Fix {rec.revision} and run `sluice {opts.direction} "
                          f"{opts.target} --env {env}` again.")
    return MigrationFailed(f"revision {rec.revision} failed: {rec.error}; {state_line}",
                           result=result, hint="\n".join(hint_lines))
