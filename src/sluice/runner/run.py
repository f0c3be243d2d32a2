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

The lock, the heads read again, the reconciliation and the audit rows (steps 3, 6 and 7)
come from :mod:`sluice.runner.flow`, which the env.py guard of plain ``alembic upgrade``
(:mod:`sluice.runner.envguard`) goes through too.

SIGINT and SIGTERM stop the run inside a revision (its transaction is rolled back where
DDL is transactional); Sluice's own bookkeeping (audit rows, reading the version table,
releasing the lock) is never cut in half: a signal arriving there is held until it is done.
"""


from __future__ import annotations

import random
import time
from collections.abc import Sequence

from alembic import command
from alembic.script import Script
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from sluice.core.alembic_compat import kept_proxies
from sluice.core.durations import format_duration
from sluice.errors import PolicyViolation, SluiceError, mask_url
from sluice.runner import audit, guards
from sluice.runner.audit import StepRecord
from sluice.runner.capture import is_ddl
from sluice.runner.database import connect, first_line, make_engine
from sluice.runner.failures import failure_error, lock_lost_error
from sluice.runner.flow import (
    heads_under_lock,
    insert_run,
    migration_lock,
    partial_of,
    record_outcome,
    step_records,
)
from sluice.runner.heads import (
    applied_revisions,
    fresh_heads,
    not_wired_message,
    planned_steps,
    probe,
    render_revision_sql,
)
from sluice.runner.leftopen import flush_left_open, module_namespaces
from sluice.runner.lock import MigrationLock
from sluice.runner.project import RunnerProject, env_py_calls_configure_options
from sluice.runner.result import MigrationFailed, Notify, RunOptions, RunResult
from sluice.runner.session import DbState, DryRunRollback, Session, interruption
from sluice.runner.signals import Signals

# the names other modules import from here (they live in the modules above)
__all__ = [
    "MigrationFailed", "RunOptions", "RunResult", "Signals", "applied_revisions",
    "fresh_heads", "planned_steps", "probe", "run",
]


def run(project: RunnerProject, opts: RunOptions) -> RunResult:
    """Run a guarded upgrade or downgrade; raises PolicyViolation, LockTimeout,
    BackupFailed or MigrationFailed (with the result) when it stops."""
    started = time.monotonic()
    policy = project.policy
    notify = opts.notify
    direction, target = opts.direction, opts.target
    if not env_py_calls_configure_options(project):
        raise SluiceError(not_wired_message(project))
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
            hint=f"Review the SQL instead: {project.given.sluice(direction, target, '--sql')}; "
            "or rehearse on a staging copy of the database.",
        )
    scripts = planned_steps(project.script, direction, target, state.heads, project.steps,
                            project.given)
    if not scripts:  # no lock needed to read the audit table
        _warn_checksums(project, result, notify, url=url, heads=state.heads)
        return result

    confirmed = [sc.revision for sc, _, _ in scripts]
    asked = False
    if not opts.dry_run:
        asked = _check_policy(project, state, opts, scripts, notify)

    lock = migration_lock(url, policy=policy, environment=project.environment,
                          command=f"{opts.via} {direction} {target}",
                          version_table=state.version_table, notify=notify,
                          slice_ms=opts.lock_slice_ms)
    with Signals().installed() as signals:
        return _locked_run(project, opts, state, lock, result, scripts, confirmed, asked,
                           transactional, started, signals)


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
        heads, reconciled = heads_under_lock(lock, state, project.script,
                                             reconcile=not opts.dry_run, hold=signals.hold,
                                             progress_table=project.config.data.progress_table)
        result.before = result.after = list(heads)
        for msg in reconciled:
            result.warnings.append(msg)
            notify(msg)
        _warn_checksums(project, result, notify, conn=audit_conn, heads=heads)
        scripts = planned_steps(project.script, direction, target, heads, project.steps,
                                project.given)
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
                    hint=f"Review the new plan: {project.given.sluice('plan', target)}",
                )
            if not opts.dry_run and not set(revs) <= set(confirmed):
                _check_policy(project, state, opts, scripts, notify, ask=False)
        if not opts.dry_run and (policy.require_backup or policy.backup_command):
            notify("backing up before anything changes ...")
            with opts.loading():
                from sluice.runner.backup import run_backup  # lazy: only a backup needs it

            result.backup = run_backup(
                url, command=policy.backup_command, cwd=project.ini.resolve().parent,
                revision="_".join(heads) or "base", target=target, env=project.environment,
                table=policy.table)
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
    with opts.loading():
        from sluice.runner.plan import build_plan  # lazy: only a guard needs the plan
        if lint or confirm:
            import sluice.lint.engine  # noqa: F401  # lazy: the guard's lint, loaded here

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
    guards.evaluate(plan, policy, allow_downgrade=opts.allow_downgrade, given=project.given)
    guards.enforce(plan)
    if not confirm:
        return False
    if opts.confirm is None:
        # the commands repeat what this run needed: a downgrade plan, --allow-downgrade
        review = ("--downgrade",) if downgrade else ()
        again = ("--yes", "--allow-downgrade") if downgrade and opts.allow_downgrade \
            else ("--yes",)
        raise PolicyViolation(
            f"{project.environment} requires confirmation before changing the database, and "
            "there is no terminal to ask on; nothing was changed",
            hint=f"Review the plan ({project.given.sluice('plan', opts.target, *review)}), "
            f"then run {project.given.sluice(opts.direction, opts.target, *again)}.",
        )
    if not opts.confirm(plan):
        raise PolicyViolation("not confirmed; nothing was changed")
    return True


def _warn_checksums(project: RunnerProject, result: RunResult, notify: Notify, *,
                    heads: Sequence[str], conn: Connection | None = None,
                    url: str = "") -> None:
    """A warning for each applied revision whose file changed since it ran, read on
    ``conn`` (the lock's) or, when there is nothing to do and so no lock, on a connection
    of its own to ``url``: an edit is reported whether or not anything runs."""
    if conn is not None:
        warnings = _checksum_warnings(project, conn, heads)
    else:
        engine = None
        try:
            engine = make_engine(url)
            own = connect(engine)
            try:
                warnings = _checksum_warnings(project, own, heads)
            finally:
                own.close()
        except Exception as exc:  # noqa: BLE001 - nothing to do: only the comparison failed
            warnings = []
            notify(f"note: applied revisions not compared with their files: {first_line(exc)}")
        finally:
            if engine is not None:
                engine.dispose()
    for w in warnings:
        result.warnings.append(w)
        notify(f"warning: {w}")


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
    holder = lock.holder
    step_line = opts.notify_step or notify
    attempt = 0
    while True:
        attempt += 1
        result.attempts = attempt
        records = step_records(scripts, opts.direction, project.checksums)
        if write_audit:
            with signals.hold():
                insert_run(audit_conn, records, environment=project.environment,
                           holder=holder, via=f"{opts.via} {opts.direction}")
        result.steps = records

        def on_step(rec: StepRecord) -> None:
            if rec.error is None:
                step_line(f"{rec.revision} {'ran' if opts.dry_run else 'done'} in "
                          f"{format_duration(rec.duration_ms)}")

        key = (opts.direction, opts.target, tuple(result.after))
        session = Session(
            mode="run", direction=opts.direction, target=opts.target,
            script=project.script, precomputed=(key[2], project.steps.pop(key, None)),
            planned=[sc.revision for sc, _, _ in scripts], records=records,
            env_timeouts=project.env_timeouts, dry_run=opts.dry_run,
            audit_conn=audit_conn if write_audit else None,
            mid_run_audit=write_audit and state.dialect != "sqlite", on_step=on_step,
            check_lock=lock.verify, mark_running=lock.mark_running, hold=signals.hold,
            progress_table=project.config.data.progress_table,
        )
        outcome: BaseException | None = None
        try:
            with kept_proxies():
                if opts.direction == "upgrade":
                    command.upgrade(project.alembic_cfg(session), opts.target)
                else:
                    command.downgrade(project.alembic_cfg(session), opts.target)
        except DryRunRollback:
            outcome = None
        except BaseException as exc:  # noqa: BLE001 - recorded, then re-raised below
            outcome = interruption(exc) or exc  # a signal whose clean-up failed is a signal
        finally:
            session.detach()
            flush_left_open([*session.namespaces,
                             *module_namespaces(sc for sc, _, _ in scripts)])
        if isinstance(outcome, KeyboardInterrupt):
            session.interrupted_between(outcome)
        failed = session.failure
        if transactional and failed is not None and failed.committed:
            # what its autocommit blocks ran stays: the next run must not say "nothing"
            session.records[failed.index].statements = {"committed_part": True}
        with signals.hold():
            _finish_attempt(project, opts, state, lock, session, result, transactional,
                            write_audit)
        heads = tuple(result.after)
        if outcome is None and not session.hooked:
            raise SluiceError(not_wired_message(project))
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
            raise lock_lost_error(project, opts, result, session.lock_lost, transactional,
                                   failure)
        if isinstance(outcome, (KeyboardInterrupt, SystemExit)):
            where = f" in {failure.revision}" if failure is not None else ""
            notify(f"interrupted{where}; the database is at {', '.join(heads) or 'base'} "
                   f"(recorded in {audit.HISTORY_TABLE}); the migration lock is released")
            if result.partial is not None:
                notify(result.partial.render(project.given, (opts.direction, opts.target)))
            elif not transactional and failure is not None and failure.capture is not None \
                    and failure.capture.failed is not None \
                    and is_ddl(failure.capture.failed.sql):  # DML in flight is rolled back
                notify(f"{failure.revision} was running `{' '.join(failure.capture.failed.sql.split())}` "
                       "when the signal came: MySQL/MariaDB may have committed it. Check the "
                       f"schema before running again; {project.given.sluice('history')} has "
                       "the record.")
            raise outcome
        retry_safe = failure is not None and failure.lock_timeout and not failure.committed \
            and (transactional or failure.capture is None or not failure.capture.applied)
        if retry_safe and attempt <= policy.lock_retries and failure is not None:
            delay = policy.lock_retry_backoff_ms * (2 ** (attempt - 1)) / 1000
            delay *= random.uniform(0.8, 1.2)
            notify(
                f"{failure.revision}: {records[failure.index].error}; nothing of it was applied. "
                f"Retry {attempt} of {policy.lock_retries} in {delay:.1f}s "
                "(another session holds a lock on a table it needs)")
            time.sleep(delay)
            scripts = planned_steps(project.script, opts.direction, opts.target, heads,
                                    project.steps, project.given)
            if not scripts:
                result.status = "applied"
                return
            continue
        raise failure_error(project, opts, state, result, failure, outcome, transactional,
                             retry_safe and attempt > policy.lock_retries, audit_conn)


def _finish_attempt(project: RunnerProject, opts: RunOptions, state: DbState, lock: MigrationLock,
                    session: Session, result: RunResult, transactional: bool,
                    write_audit: bool) -> None:
    """The version table's truth into ``result`` and the audit rows (signals held)."""
    audit_conn = lock.audit_conn
    assert audit_conn is not None
    records = session.records
    heads = fresh_heads(audit_conn, state)
    result.after = list(heads)
    if opts.dry_run:
        if lock.conn is not None:
            _drop_empty_version_table(lock.conn, state)
        for r in records:
            r.status = "failed" if r.error else "rolled_back" if r.ran else "skipped"
        return
    result.partial = partial_of(
        session, project.script, transactional,
        lambda rec: render_revision_sql(project, state, opts.direction, rec.revision,
                                        rec.from_revision, rec.to_revision))
    if write_audit:
        record_outcome(audit_conn, project.script, session, heads)


def _drop_empty_version_table(conn: Connection, state: DbState) -> None:
    """A dry run on a fresh SQLite database: Alembic created the version table outside the
    transaction; remove it again when it is empty."""
    if state.version_table_exists or state.dialect != "sqlite":
        return

    try:
        if inspect(conn).has_table(state.version_table):
            count = conn.execute(text(f'SELECT count(*) FROM "{state.version_table}"')).scalar()
            if not count:
                conn.execute(text(f'DROP TABLE "{state.version_table}"'))
    except Exception:
        pass
