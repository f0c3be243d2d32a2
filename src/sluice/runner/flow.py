"""The guarded upgrade flow, shared by ``sluice upgrade``/``downgrade``
(:mod:`sluice.runner.run`) and the env.py guard of plain ``alembic upgrade``
(:mod:`sluice.runner.envguard`):

1. the migration lock, one per database (:func:`migration_lock`);
2. the version table read again under the lock, and the audit rows of runs that provably
   died reconciled (:func:`heads_under_lock`);
3. ``pending`` audit rows for the revisions about to run (:func:`step_records`,
   :func:`insert_run`);
4. Alembic runs the revisions through a :class:`~sluice.runner.session.Session`;
5. a partially applied revision reported (:func:`partial_of`) and the audit rows
   finalized from the version table (:func:`record_outcome`).

Each caller decides for itself what a plan that changed while it waited means, and when
the lock is released.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext

from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import URL, Connection

from sluice.owned import DATA_PROGRESS_TABLE
from sluice.runner import audit, audit_bulk, datacommit
from sluice.runner.audit import RunRecord, StepRecord
from sluice.runner.capture import PartialFailure, partial_failure
from sluice.runner.checksums import checksum_file
from sluice.runner.database import first_line, own_table_refusals
from sluice.runner.heads import applied_revisions, fresh_heads
from sluice.runner.lock import Holder, MigrationLock
from sluice.runner.lock_holder import waiter
from sluice.runner.policy import EnvPolicy
from sluice.runner.session import DbState, Session

#: ``(script, from revisions, to revisions)`` of one revision to run.
Step = tuple[Script, Sequence[str], Sequence[str]]
#: Holds SIGINT/SIGTERM for the block (see :class:`sluice.runner.signals.Signals`).
Hold = Callable[[], AbstractContextManager[None]]


def _no_hold() -> AbstractContextManager[None]:
    return nullcontext()


def migration_lock(url: str | URL, *, policy: EnvPolicy, environment: str, command: str,
                   version_table: str, notify: Callable[[str], None],
                   slice_ms: int = 1000) -> MigrationLock:
    """The lock of the database at ``url`` for this run, saying who it waits for."""
    shown = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    return MigrationLock(
        url, timeout_ms=policy.migration_lock_timeout_ms,
        holder=Holder(environment=environment, command=command),
        version_table=version_table,
        on_wait=waiter(notify, shown, policy.migration_lock_timeout_ms),
        slice_ms=slice_ms,
    )


def heads_under_lock(lock: MigrationLock, state: DbState, script: ScriptDirectory, *,
                     reconcile: bool, hold: Hold = _no_hold,
                     progress_table: str = DATA_PROGRESS_TABLE
                     ) -> tuple[tuple[str, ...], list[str]]:
    """The version table read again now that the lock is held (another deploy may have
    migrated meanwhile) and, when ``reconcile``, the audit rows of dead runs closed: only
    a run whose connections are all gone has rows left here, because the lock admits no
    one while its previous holder is still connected. Returns the heads and one message
    per reconciled row."""
    audit_conn = lock.audit_conn
    assert audit_conn is not None
    with hold():
        heads = fresh_heads(audit_conn, state)
    messages: list[str] = []
    if reconcile:
        with hold(), own_table_refusals(audit_conn, "close the audit rows of earlier runs",
                                        progress_table=progress_table):
            reconciled = audit.reconcile_stale(
                audit_conn, applied_revisions(script, heads),
                committed=datacommit.describer(audit_conn, progress_table))
        for r in reconciled:
            when = f" (started {r.started:%Y-%m-%d %H:%M:%S} UTC)" if r.started else ""
            messages.append(f"a previous run by {r.who}{when} died before finishing; "
                            f"{r.revision} recorded as {r.status}")
    return heads, messages


def step_records(steps: Sequence[Step], direction: str,
                 checksums: Mapping[str, str] | None = None) -> list[StepRecord]:
    """One audit record per revision about to run, with its file's checksum (from
    ``checksums``, by path, when the run has already read the file)."""
    known = checksums or {}
    return [
        StepRecord(revision=sc.revision, direction=direction,
                   from_revision=",".join(frm) or None, to_revision=",".join(to) or None,
                   checksum=known.get(sc.path) if sc.path in known
                   else checksum_file(sc.path))
        for sc, frm, to in steps
    ]


def insert_run(audit_conn: Connection, records: list[StepRecord], *, environment: str,
               holder: Holder, via: str) -> None:
    """The ``pending`` rows of this run (one transaction). A role that may not write
    them, or may add rows but not update them (an audit table granted INSERT only), is
    refused here, before anything changes and with no row written: the UPDATE privilege
    the ``running`` marks and final statuses need is tried in the same transaction
    (:func:`sluice.runner.audit_bulk.insert_pending`, or a statement that changes no
    row)."""
    run = RunRecord(run_id=audit.new_run_id(), environment=environment,
                    username=holder.username, host=holder.host, pid=holder.pid,
                    via=via, steps=records)
    with own_table_refusals(audit_conn, "write this run's audit rows"):
        audit.ensure_table(audit_conn)
        if audit_conn.dialect.name != "sqlite" and not audit_bulk.supported(audit_conn):
            audit_conn.exec_driver_sql(audit_bulk.MAY_UPDATE)  # committed with the rows
        audit.insert_pending(audit_conn, run)


def partial_of(session: Session, script: ScriptDirectory, transactional: bool,
               render: Callable[[StepRecord], list[str]]) -> PartialFailure | None:
    """MySQL/MariaDB: the revision that failed after some of its statements committed,
    with what was and was not applied (also kept in its audit record); None otherwise.
    ``render`` gives the revision's statements rendered offline."""
    failure = session.failure
    if failure is None or transactional or failure.capture is None \
            or not failure.capture.applied:
        return None
    rec = session.records[failure.index]
    revision = script.get_revision(rec.revision)
    try:
        rendered: list[str] | None = render(rec)
        render_error = None
    except Exception as exc:
        rendered, render_error = None, first_line(exc)
    partial = partial_failure(failure.capture, error=rec.error or "",
                              from_revision=rec.from_revision,
                              path=revision.path if revision is not None else None,
                              rendered=rendered, render_error=render_error)
    if failure.committed and not partial.applied:
        # no DDL committed: what did commit is a sluice.data step's batches, with their
        # checkpoint, and running the revision again resumes it (the statement split
        # above would call them rolled back and advise against a rerun)
        return None
    rec.statements = partial.as_dict()
    return partial


def record_outcome(audit_conn: Connection, script: ScriptDirectory, session: Session,
                   heads: Sequence[str]) -> None:
    """Each audit row's final status, decided by the version table's ``heads``."""
    failure = session.failure
    at = ", ".join(heads) or "base"
    with own_table_refusals(audit_conn, "record this run's outcome",
                            progress_table=session.progress_table,
                            after=f"; the database is at {at}"):
        if failure is not None and failure.committed:
            # what its data steps committed, as their checkpoints say (read before the
            # statuses: a revision with committed batches was not rolled back)
            rec = session.records[failure.index]
            steps = datacommit.committed_steps(audit_conn, rec.revision,
                                               session.progress_table)
            if steps:
                rec.statements = datacommit.as_record(steps, rec.statements)
        audit.decide_statuses(session.records, applied_revisions(script, heads))
        if session.lock_lost is not None:
            audit.lock_lost_statuses(session.records, str(session.lock_lost))
        audit.write_final(audit_conn, session.records)
