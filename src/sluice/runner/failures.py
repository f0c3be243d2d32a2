"""What a failed run tells the operator: where it stopped, what is in the database, what
to do now (lock lost, interrupted earlier run on MySQL/MariaDB, lock or statement timeout)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection

from sluice.errors import SluiceError
from sluice.runner import audit, datacommit
from sluice.runner.audit import StepRecord
from sluice.runner.database import first_line
from sluice.runner.lock import LockLost
from sluice.runner.project import RunnerProject
from sluice.runner.result import MigrationFailed, RunOptions, RunResult
from sluice.runner.session import DbState, DryRunCommit


def lock_lost_error(project: RunnerProject, opts: RunOptions, result: RunResult,
                     lost: LockLost, transactional: bool, failure: Any) -> MigrationFailed:
    """Exit 2: the run stopped because another deploy could have taken its lock."""
    at = ", ".join(result.after) or "base"
    done = [s.revision for s in result.steps if s.status == "succeeded"]
    rec = result.steps[failure.index] if failure is not None else None
    data = datacommit.from_record(rec.statements) if rec is not None else []
    if rec is None:
        where = "stopped"
    elif data:
        where = f"stopped in {rec.revision}, before it was stamped"
    elif rec.ran:
        where = f"stopped after {rec.revision} ran, before it was stamped"
    else:
        where = f"stopped before {rec.revision} ran"
    if data:
        kept = datacommit.describe(data)
        if done:
            kept += (f"; {', '.join(done)} {'was' if len(done) == 1 else 'were'} applied and "
                     "stamped before that")
    elif done:
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
        hint=f"{lost.hint}\n{project.given.sluice('history')} shows what this run did. "
        f"Run again: {project.given.sluice(opts.direction, opts.target)}")
    error.exit_code = 2
    return error


@contextmanager
def suppress_db_errors() -> Iterator[None]:
    try:
        yield
    except Exception:
        pass


def _after_earlier_part(project: RunnerProject, opts: RunOptions, result: RunResult,
                        rec: StepRecord, earlier: audit.HistoryEntry,
                        interrupted: bool) -> MigrationFailed:
    """MySQL/MariaDB: this revision failed, and an earlier run stopped inside it (a signal,
    a process that died) or failed in it part way. What that run committed before it
    stopped is still in the database, and running the revision again repeats it."""
    at = ", ".join(result.after) or "base"
    when = f" at {earlier.started:%Y-%m-%d %H:%M:%S} UTC" if earlier.started else ""
    who = f"{earlier.user}@{earlier.host} pid {earlier.pid}"
    recorded = earlier.statements or {}
    applied = list(recorded.get("applied") or [])
    failed = recorded.get("failed") if not interrupted else None
    not_applied = recorded.get("not_applied")
    lines = [f"What is in the database: MySQL/MariaDB committed each DDL statement of "
             f"{rec.revision} the moment it ran, but alembic_version still says {at}."]
    if applied:
        lines.append(f"Statements of {rec.revision} that run completed (recorded in "
                     f"{audit.HISTORY_TABLE}, row {earlier.id}):")
        lines += [f"  {i}. {' '.join(sql.split())}" for i, sql in enumerate(applied, 1)]
        if failed:
            lines.append(f"Failed there: {len(applied) + 1}. {' '.join(failed.split())} "
                         f"({earlier.error})")
        if not_applied:
            lines.append("Not applied:")
            lines += [f"  {i}. {' '.join(sql.split())}"
                      for i, sql in enumerate(not_applied, len(applied) + 1 + bool(failed))]
    else:
        lines.append(f"Which of its statements completed is not recorded ({earlier.error}); "
                     f"compare the schema with upgrade() in {rec.revision}'s file.")
    given = project.given
    if interrupted:
        forward = "run the statements that are missing by hand"
    else:
        forward = ("fix what made its statement fail, run the failed and not-applied "
                   "statements by hand")
    lines += [
        "What to do now:",
        "  1. Do not re-run the upgrade as it is: it runs the applied statements again and "
        "fails on them (or applies data changes twice).",
        f"  2. Either finish forward: {forward}, then record the revision with "
        f"{given.alembic('stamp', rec.revision)}.",
        "  3. Or go back: undo the applied statements by hand (its downgrade() shows how), "
        f"check the schema matches {at}, fix {rec.revision} if it needs it, and run "
        f"{given.sluice(opts.direction, opts.target)} again.",
        f"  The record: {given.sluice('history', '--revision', rec.revision, '--format', 'json')}.",
    ]
    n = len(applied) if applied else "an unknown number of"
    if interrupted:
        what = (f"was interrupted inside {rec.revision} and left part of it applied "
                f"({n} statements)")
    else:
        what = (f"failed in {rec.revision} after {n} of its statements had been applied, "
                f"which are still there: running {rec.revision} again repeats them")
    message = (f"revision {rec.revision} failed: {rec.error}; an earlier run by {who}{when} "
               f"{what}; the database is at {at}")
    result.error = message
    return MigrationFailed(message, result=result, hint="\n".join(lines))


def failure_error(project: RunnerProject, opts: RunOptions, state: DbState,
                   result: RunResult, failure: Any, outcome: BaseException,
                   transactional: bool, retries_exhausted: bool,
                   audit_conn: Connection | None = None) -> MigrationFailed:
    at = ", ".join(result.after) or "base"
    if failure is None:
        message = f"{opts.direction} failed before any revision ran: {first_line(outcome)}"
        if isinstance(outcome, SluiceError):
            message = str(outcome)
        result.error = message
        return MigrationFailed(message, result=result,
                               hint=getattr(outcome, "hint", None))
    rec = result.steps[failure.index]
    result.error = f"{rec.revision}: {rec.error}"
    given = project.given
    if isinstance(failure.exc, DryRunCommit):  # the revision is fine; a dry run cannot run it
        return MigrationFailed(
            f"dry run stopped in {rec.revision}: {failure.exc}; the database is at {at}",
            result=result,
            hint=f"Rehearse it with a real upgrade on a staging copy, or review its SQL: "
                 f"{given.sluice(opts.direction, opts.target, '--sql')}.")
    if result.partial is not None:
        return MigrationFailed(f"revision {rec.revision} failed part way: {rec.error}",
                               result=result, hint=result.partial.render(
                                   given, (opts.direction, opts.target)))
    earlier = committed_before = None
    if audit_conn is not None:
        with suppress_db_errors():
            if not transactional:
                earlier = audit.previous_interruption(audit_conn, rec.revision,
                                                      opts.direction, rec.run_id)
            if earlier is None and not failure.committed:
                committed_before = audit.previous_committed_failure(
                    audit_conn, rec.revision, opts.direction, rec.run_id)
    data = datacommit.from_record(rec.statements)
    if data and earlier is not None and not (earlier.statements or {}).get("applied"):
        earlier = None  # its data steps' batches are what it left: the checkpoints say so
    if earlier is not None:
        return _after_earlier_part(project, opts, result, rec, earlier, interrupted=True)
    if not transactional and committed_before is not None \
            and (committed_before.statements or {}).get("applied"):
        return _after_earlier_part(project, opts, result, rec, committed_before,
                                   interrupted=False)
    # nothing in the revision causes it: sluice.data's DataMigrationError.resumable (a lock
    # timeout, a lost connection), or a connection lost outside a step
    resumable = bool(getattr(failure.exc, "resumable", False)
                     or getattr(failure.exc, "connection_invalidated", False))
    if data:
        state_line = ("what it ran in or before an autocommit block stays committed "
                      f"({datacommit.describe(data, rerun=False)}; checkpoints kept: the "
                      f"next run resumes them); the database is at {at}")
    elif failure.committed:
        state_line = (f"what it ran in or before an autocommit block stays committed (a "
                      "sluice.data step's batches, with their checkpoints: the next run "
                      f"resumes them), the rest was rolled back; the database is at {at}")
    elif transactional and committed_before is not None:
        when = f" ({committed_before.started:%Y-%m-%d %H:%M})" if committed_before.started \
            else ""
        state_line = (f"its transaction was rolled back; the database is at {at}, but an "
                      f"earlier run{when} failed in {rec.revision} after committing part of it "
                      "(what its autocommit blocks or data steps ran), which is still there: "
                      f"make those steps of {rec.revision} safe to run again (IF NOT EXISTS, "
                      "a catalog check) or undo them by hand, then run again")
    elif transactional:
        state_line = (f"its transaction was rolled back; the database is at {at}, nothing of "
                      f"{rec.revision} was applied")
    else:
        state_line = (f"none of its statements had completed, so nothing of {rec.revision} "
                      f"was applied; the database is at {at}")
    hint_lines = []
    if data:
        if isinstance(failure.exc, SluiceError) and failure.exc.hint:  # (a GRANT to run)
            hint_lines.append(failure.exc.hint)
        rerun = given.sluice(opts.direction, opts.target)
        first = "Once the cause is gone," if resumable else "Fix the cause (above), then"
        hint_lines.append(f"{first} run {rerun} again: it resumes from the checkpoint.")
        if not all(d.finished for d in data):
            hint_lines.append(f"Do not record {rec.revision} as applied by hand: its data "
                              "steps are not finished.")
    elif isinstance(failure.exc, SluiceError) and failure.exc.hint:  # nothing to fix in it
        hint_lines += [failure.exc.hint,
                       f"Then run {given.sluice(opts.direction, opts.target)} again."]
    elif failure.lock_timeout:
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
    elif failure.committed:
        hint_lines.append(f"Fix {rec.revision}. What it committed stays: make those steps "
                          "safe to run again (IF NOT EXISTS, a catalog check) or undo them by "
                          f"hand, then run {given.sluice(opts.direction, opts.target)} "
                          "again (a sluice.data step resumes on its own).")
    else:
        hint_lines.append(f"Fix {rec.revision} and run "
                          f"{given.sluice(opts.direction, opts.target)} again.")
    return MigrationFailed(f"revision {rec.revision} failed: {rec.error}; {state_line}",
                           result=result, hint="\n".join(hint_lines))
