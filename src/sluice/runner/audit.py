"""The audit table ``sluice_history``: one row per revision per run, kept in the database.

Rows are written on Sluice's own connection (the one holding the migration lock), never in
the migration transaction, so a row survives the migration being rolled back or the
process being killed:

1. before the migration starts, one ``pending`` row per planned revision;
2. on PostgreSQL and MySQL, ``running`` when the revision starts (SQLite allows one writer
   at a time, so there the progress stays in memory until the migration has committed);
3. after the run, the final status, decided by what Alembic's version table says, not by
   what the process believes: ``succeeded`` (it took effect), ``failed`` (the revision that
   raised, with the error and, where DDL is not transactional, which statements ran),
   ``rolled_back`` (it ran but its transaction was rolled back) or ``skipped`` (never
   reached).

A process that dies mid-run leaves ``pending``/``running`` rows. Every writer holds the
migration lock, so the next process that gets the lock knows their writer is gone and
reconciles them the same way against the version table (see :func:`reconcile_stale`).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    desc,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection

from sluice.owned import HISTORY_TABLE as HISTORY_TABLE  # read as audit.HISTORY_TABLE
from sluice.runner import audit_bulk, datacommit
from sluice.runner.checksums import checksum_file
from sluice.runner.database import TextFn, create_owned_table, with_text_fallback
from sluice.runner.database import driver_sql as driver_sql  # read as audit.driver_sql
from sluice.runner.lock_holder import utcnow

OPEN_STATUSES = ("pending", "running")
STATUSES = ("pending", "running", "succeeded", "failed", "rolled_back", "skipped")

_metadata = MetaData()
history_table = Table(
    HISTORY_TABLE,
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False, index=True),
    Column("revision", String(255), nullable=False),
    Column("from_revision", String(255)),
    Column("to_revision", String(255)),
    Column("direction", String(10), nullable=False),
    Column("environment", String(100)),
    Column("username", String(255)),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("via", String(100)),
    Column("started", DateTime),
    Column("finished", DateTime),
    Column("duration_ms", Integer),
    Column("status", String(20), nullable=False),
    Column("error", Text),
    Column("statements", Text),
    Column("checksum", String(64)),
)


def new_run_id() -> str:
    return uuid.uuid4().hex


#: ``Connection.info`` key: whether this connection found the table. Remembered while the
#: connection lives: the migration lock's audit connection, and only a holder of the lock
#: creates the table (:func:`ensure_table` itself does not trust a remembered ``False``).
_KNOWN = "sluice_history_exists"


def ensure_table(conn: Connection) -> None:
    if conn.info.get(_KNOWN):
        return
    create_owned_table(conn, history_table, checkfirst=True)
    _commit(conn)
    conn.info[_KNOWN] = True


def table_exists(conn: Connection) -> bool:
    if _KNOWN in conn.info:
        return bool(conn.info[_KNOWN])
    try:
        exists = bool(inspect(conn).has_table(HISTORY_TABLE))
    except Exception:
        return False
    finally:
        _end(conn)
    conn.info[_KNOWN] = exists
    return exists


def _end(conn: Connection) -> None:
    """End a read-only transaction (no stale MySQL snapshot, no lock kept on SQLite)."""
    if conn.in_transaction():
        conn.rollback()


@dataclass
class StepRecord:
    """One revision of a run, as the runner tracks it in memory."""

    revision: str
    direction: str
    from_revision: str | None
    to_revision: str | None
    checksum: str | None
    run_id: str | None = None
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    duration_ms: int | None = None
    ran: bool = False
    error: str | None = None
    statements: dict[str, Any] | None = None
    status: str = "pending"


@dataclass
class RunRecord:
    run_id: str
    environment: str
    username: str
    host: str
    pid: int
    via: str
    steps: list[StepRecord] = field(default_factory=list)
    created: dt.datetime | None = None


def _commit(conn: Connection) -> None:
    if conn.in_transaction():
        conn.commit()


def insert_pending(conn: Connection, run: RunRecord) -> None:
    """One ``pending`` row per step, in one transaction (see :func:`with_text_fallback`)."""
    run.created = utcnow()
    for step in run.steps:
        step.run_id = run.run_id
    if run.steps:
        with_text_fallback(conn, lambda text: _insert_pending(conn, run, text))


def _insert_pending(conn: Connection, run: RunRecord, text: TextFn) -> None:
    who: dict[str, Any] = {  # cut to the columns' sizes after escaping, which lengthens
        "environment": (text(run.environment) or "")[:100],
        "username": (text(run.username) or "")[:255], "host": (text(run.host) or "")[:255],
        "pid": run.pid, "via": (text(run.via) or "")[:100], "started": run.created}
    if audit_bulk.supported(conn):
        audit_bulk.insert_pending(conn, run_id=run.run_id, steps=run.steps, text=text, **who)
    else:
        conn.execute(insert(history_table), [
            {"run_id": run.run_id, "revision": text(step.revision),
             "from_revision": text(step.from_revision), "to_revision": text(step.to_revision),
             "direction": step.direction, "status": "pending", "checksum": step.checksum, **who}
            for step in run.steps])
    _commit(conn)


def _row(step: StepRecord) -> Any:
    return and_(history_table.c.run_id == step.run_id,
                history_table.c.revision == step.revision)


def mark_running(conn: Connection, step: StepRecord) -> None:
    if step.run_id is None:
        return
    conn.execute(update(history_table).where(_row(step)).values(
        status="running", started=step.started))
    _commit(conn)


def mark_running_if(conn: Connection, step: StepRecord, condition: str,
                    params: dict[str, Any]) -> int:
    """``step``'s ``running`` mark, written only where the SQL ``condition`` holds (the
    migration lock's check) and the row is still ``pending`` (a final status is never
    overwritten): one statement on an autocommit ``conn``, so the check and the mark cost
    one round trip. ``condition`` names its parameters ``:name``. Returns the rows
    changed (0: the condition did not hold, or the row is not there)."""
    if step.run_id is None:
        return 0
    values = {"status": "running", "started": step.started, "run_id": step.run_id,
              "revision": step.revision, **params}
    sql = (f"UPDATE {HISTORY_TABLE} SET status = :status, started = :started "
           f"WHERE run_id = :run_id AND revision = :revision AND status = 'pending' "
           f"AND {condition}")
    statement, args = driver_sql(conn, sql, values)
    return int(conn.exec_driver_sql(statement, args).rowcount)


def took_effect(revision: str, direction: str, applied: set[str]) -> bool:
    """Whether the version table shows this step's effect."""
    return (revision in applied) if direction == "upgrade" else (revision not in applied)


def decide_statuses(steps: Sequence[StepRecord], applied: set[str]) -> None:
    """Final statuses of a finished (or failed) run from the version table's truth."""
    for step in steps:
        if took_effect(step.revision, step.direction, applied):
            step.status = "succeeded"
            step.error = None  # an interrupt that landed after it was stamped
        elif step.error is not None:
            step.status = "failed"
        elif step.ran:
            step.status = "rolled_back"
            step.error = step.error or "rolled back with the failed revision's transaction"
        else:
            step.status = "skipped"


def lock_lost_statuses(steps: Sequence[StepRecord], reason: str) -> None:
    """After :func:`decide_statuses`, for a run stopped because its migration lock was lost:
    nothing of it failed, what ran and did not take effect was rolled back, the rest was
    not started; each row says why."""
    for step in steps:
        if step.status == "succeeded":
            continue
        if (step.statements or {}).get("data_steps"):  # its batches stay committed
            step.status = "failed"
        elif step.status in ("failed", "rolled_back") and step.ran:
            step.status = "rolled_back"
            if not (step.error or "").startswith("rolled back, not stamped"):
                step.error = f"rolled back: the run stopped because it {reason}"
        else:
            step.status = "skipped"
            if not (step.error or "").startswith("not started"):
                step.error = f"not started: the run stopped because it {reason}"


def write_final(conn: Connection, steps: Iterable[StepRecord]) -> None:
    """Final status, times, error and statements of each step, in one transaction (see
    :func:`with_text_fallback`)."""
    if written := [step for step in steps if step.run_id is not None]:
        now = utcnow()
        with_text_fallback(conn, lambda text: _write_final(conn, written, now, text))


def _write_final(conn: Connection, written: list[StepRecord], now: dt.datetime,
                 text: TextFn) -> None:
    if audit_bulk.supported(conn):
        audit_bulk.write_final(conn, written, now, text=text)
        _commit(conn)
        return
    params = [
        {"b_run": step.run_id, "b_rev": text(step.revision), "b_status": step.status,
         "b_started": step.started, "b_finished": step.finished or now,
         "b_duration": step.duration_ms, "b_error": text(step.error),
         "b_statements": json.dumps(step.statements) if step.statements else None}
        for step in written
    ]
    t = history_table
    stmt = update(t).where(t.c.run_id == bindparam("b_run"), t.c.revision == bindparam("b_rev"))
    with_started = [p for p in params if p["b_started"] is not None]
    without = [p for p in params if p["b_started"] is None]
    common: dict[str, Any] = {"status": bindparam("b_status"), "finished": bindparam("b_finished"),
              "duration_ms": bindparam("b_duration"), "error": bindparam("b_error"),
              "statements": bindparam("b_statements")}
    if with_started:
        conn.execute(stmt.values(started=bindparam("b_started"), **common), with_started)
    if without:
        conn.execute(stmt.values(**common), without)
    _commit(conn)


@dataclass
class Reconciled:  # a row of a dead run that the current run closed
    revision: str
    status: str
    run_id: str
    who: str
    started: dt.datetime | None


def reconcile_stale(conn: Connection, applied: set[str],
                    committed: Callable[[str], Any] | None = None) -> list[Reconciled]:
    """Close ``pending``/``running`` rows left by processes that died mid-run.

    Only call this while holding the migration lock: then no live process owns such rows.
    Per dead run, in order: rows whose effect the version table shows become
    ``succeeded``; the last ``running`` row that did not take effect (or, when none was
    marked running, the first one that did not) becomes ``failed`` (interrupted); other
    ``running`` rows ``rolled_back``; the rest ``skipped``. ``committed(revision)`` gives
    the failed revision's data steps (:mod:`sluice.runner.datacommit`), said in its row.
    """
    if not table_exists(conn):
        return []
    rows = conn.execute(
        select(history_table).where(history_table.c.status.in_(OPEN_STATUSES))
        .order_by(history_table.c.id)
    ).all()
    runs: dict[str, list[Any]] = {}
    for row in rows:
        runs.setdefault(row.run_id, []).append(row)
    out: list[Reconciled] = []
    now = utcnow()
    for run_id, run_rows in runs.items():
        pending = [r for r in run_rows if not took_effect(r.revision, r.direction, applied)]
        running = [r for r in pending if r.status == "running"]
        culprit = running[-1] if running else (pending[0] if pending else None)
        for row in run_rows:
            values: dict[str, Any] = {"finished": now}
            if took_effect(row.revision, row.direction, applied):
                values.update(status="succeeded",
                              error="recorded by a later run: the process died after this "
                              "revision took effect")
            elif culprit is not None and row.id == culprit.id:
                steps = committed(row.revision) if committed is not None else []
                said = (f"does not record it; {datacommit.describe(steps)}" if steps
                        else "shows it did not take effect")
                values.update(status="failed", error="interrupted: the process running it "
                              f"died or lost its database connection, and the version table {said}")
                if steps:
                    values["statements"] = json.dumps(datacommit.as_record(steps))
            elif row.status == "running":
                values.update(status="rolled_back",
                              error="interrupted: rolled back with the rest of the run")
            else:
                values.update(status="skipped", error="not reached: the run was interrupted")
            conn.execute(update(history_table).where(history_table.c.id == row.id)
                         .values(**values))
            out.append(Reconciled(row.revision, values["status"], run_id,
                                  f"{row.username}@{row.host} pid {row.pid}", row.started))
    _commit(conn)
    return out


def previous_interruption(conn: Connection, revision: str, direction: str,
                          run_id: str | None) -> HistoryEntry | None:
    """The latest row of another run that was interrupted inside ``revision`` (signal, or
    a process that died, reconciled later), when no run applied it since."""
    for e in read_history(conn, revision=revision, direction=direction):
        if e.run_id == run_id or e.status in OPEN_STATUSES:
            continue
        if e.status == "succeeded":
            return None
        if e.status == "failed" and (e.error or "").startswith("interrupted"):
            return e
    return None


def previous_committed_failure(conn: Connection, revision: str, direction: str,
                               run_id: str | None) -> HistoryEntry | None:
    """The latest row of another run that failed in ``revision`` after committing part of
    it (an autocommit block, a data step's batches; on MySQL/MariaDB, the DDL statements
    recorded as ``applied``), when no run applied it since."""
    for e in read_history(conn, revision=revision, direction=direction):
        if e.run_id == run_id or e.status in OPEN_STATUSES:
            continue
        if e.status == "succeeded":
            return None
        done = e.statements or {}
        if e.status == "failed" and (done.get("committed_part") or done.get("applied")):
            return e
    return None


@dataclass
class HistoryEntry:
    id: int
    run_id: str
    revision: str
    from_revision: str | None
    to_revision: str | None
    direction: str
    environment: str | None
    user: str | None
    host: str | None
    pid: int | None
    via: str | None
    started: dt.datetime | None
    finished: dt.datetime | None
    duration_ms: int | None
    status: str
    error: str | None
    statements: dict[str, Any] | None
    checksum: str | None
    #: None: the file is unchanged; "changed" or "missing" otherwise (succeeded rows only).
    checksum_status: str | None = None

    def as_dict(self) -> dict[str, Any]:
        def iso(value: dt.datetime | None) -> str | None:
            return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None

        return {
            "id": self.id, "run_id": self.run_id, "revision": self.revision,
            "from_revision": self.from_revision, "to_revision": self.to_revision,
            "direction": self.direction, "environment": self.environment, "user": self.user,
            "host": self.host, "pid": self.pid, "via": self.via, "started": iso(self.started),
            "finished": iso(self.finished), "duration_ms": self.duration_ms,
            "status": self.status, "error": self.error, "statements": self.statements,
            "checksum": self.checksum, "checksum_status": self.checksum_status,
        }


def read_history(conn: Connection, *, limit: int | None = None,
                 revision: str | None = None, status: str | None = None,
                 direction: str | None = None) -> list[HistoryEntry]:
    """Rows newest first (empty when the table does not exist yet)."""
    if not table_exists(conn):
        return []
    query = select(history_table).order_by(desc(history_table.c.id))
    if revision:
        query = query.where(history_table.c.revision == revision)
    if status:
        query = query.where(history_table.c.status == status)
    if direction:
        query = query.where(history_table.c.direction == direction)
    if limit:
        query = query.limit(limit)
    out = []
    result = conn.execute(query).all()
    _end(conn)
    for r in result:
        try:
            stmts = json.loads(r.statements) if r.statements else None
        except ValueError:
            stmts = {"raw": r.statements}
        out.append(HistoryEntry(
            id=r.id, run_id=r.run_id, revision=r.revision, from_revision=r.from_revision,
            to_revision=r.to_revision, direction=r.direction, environment=r.environment,
            user=r.username, host=r.host, pid=r.pid, via=r.via, started=r.started,
            finished=r.finished, duration_ms=r.duration_ms, status=r.status, error=r.error,
            statements=stmts, checksum=r.checksum,
        ))
    return out


@dataclass
class ChecksumMismatch:
    revision: str
    path: str | None
    recorded: str
    current: str | None
    applied_at: dt.datetime | None

    @property
    def state(self) -> str:
        return "missing" if self.current is None else "changed"

    def message(self) -> str:
        when = f" on {self.applied_at:%Y-%m-%d %H:%M} UTC" if self.applied_at else ""
        if self.current is None:
            return (f"revision {self.revision} was applied{when} but its file is gone; the "
                    "database has changes no script in the repository describes")
        return (
            f"{self.path}: revision {self.revision} changed after it was applied{when} "
            f"(SHA-256 {self.recorded[:12]} then, {self.current[:12]} now). The database has "
            "the old version: edits to an applied revision never run. Revert the edit and "
            "put the change in a new revision."
        )


def checksum_mismatches(entries: Iterable[HistoryEntry],
                        paths: dict[str, str]) -> list[ChecksumMismatch]:
    """Applied revisions whose file differs from the one recorded when they were applied.

    ``entries`` newest first (as :func:`read_history` returns them); ``paths`` maps
    revision ids to their current file. The latest successful upgrade of each revision is
    what counts; also marks those entries' ``checksum_status``.
    """
    seen: set[str] = set()
    out: list[ChecksumMismatch] = []
    current_cache: dict[str, str | None] = {}
    for e in entries:
        if e.status != "succeeded" or e.direction != "upgrade" or not e.checksum:
            continue
        path = paths.get(e.revision)
        if path not in current_cache and path is not None:
            current_cache[path] = checksum_file(path)
        current = current_cache.get(path) if path is not None else None
        if current != e.checksum and current is not None and e.checksum == checksum_file(
                path, raw=True):
            current = e.checksum  # a row of a Sluice that hashed the raw bytes: same file
        if current != e.checksum:
            e.checksum_status = "missing" if current is None else "changed"
            if e.revision not in seen:
                out.append(ChecksumMismatch(e.revision, path, e.checksum, current, e.finished))
        seen.add(e.revision)
    return out
