"""What the ``plan``, ``upgrade``, ``downgrade`` and ``history`` commands call."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from sqlalchemy.engine import make_url

from sluice.core.alembic_compat import kept_proxies
from sluice.core.durations import format_duration
from sluice.core.history import read_header, script_revision_files
from sluice.core.project import script_directory, section_config
from sluice.core.urls import existing_database, missing_database_error, missing_sqlite_file
from sluice.errors import DatabaseUnavailable, SluiceError, mask_url
from sluice.owned import refused_table
from sluice.runner import audit, datacommit, guards
from sluice.runner.audit import ChecksumMismatch, HistoryEntry
from sluice.runner.database import connect, first_line, make_engine, own_table_refusals
from sluice.runner.heads import multiple_heads, several_heads
from sluice.runner.liveness import Liveness, open_runs
from sluice.runner.project import RunnerProject, open_project
from sluice.runner.run import (
    RunOptions,
    RunResult,
    applied_revisions,
    planned_steps,
    probe,
    run,
)
from sluice.runner.session import DbState, Session

if TYPE_CHECKING:
    from sluice.runner.plan import Plan


def _direction(project: RunnerProject, heads: Sequence[str], target: str) -> str:
    if target.startswith("-") or target == "base":
        return "downgrade"
    if planned_steps(project.script, "upgrade", target, heads, given=project.given,
                     command="plan"):
        return "upgrade"
    try:
        wanted = {sc.revision for sc in project.script.get_revisions(target) if sc is not None}
    except Exception:
        return "upgrade"
    applied = applied_revisions(project.script, heads)
    if wanted and wanted <= applied and not wanted <= set(heads):
        return "downgrade"
    return "upgrade"


def _require_target(direction: str, target: str) -> None:
    """An empty revision (an unset variable) is refused before anything is opened; Alembic
    would fail on it with an empty message."""
    if not target.strip():
        raise SluiceError(f"{direction} '{target}': the revision is empty (an unset "
                          "variable?); pass a revision, head or -1")


def make_plan(
    ini: str | Path,
    *,
    target: str = "head",
    downgrade: bool = False,
    env: str | None = None,
    url: str | None = None,
    x_args: Sequence[str] = (),
    with_sql: bool = True,
    allow_downgrade: bool = False,
    ini_section: str = "alembic",
) -> Plan:
    """The plan for upgrading (or downgrading) the environment's database to ``target``
    (``ini_section``: the alembic.ini section, as ``alembic -n``)."""
    from sluice.runner.plan import build_plan  # lazy: a dev upgrade starts without the plan

    _require_target("downgrade" if downgrade else "upgrade", target)
    project = open_project(ini, env=env, url=url, x_args=x_args, ini_section=ini_section)
    # a missing SQLite file is a new database: the plan is the whole history, and the
    # empty file connecting made is removed again
    missing = missing_sqlite_file(project.url) if project.url else None
    try:
        state = probe_read_only(project, given=url is not None, refuse=False)
        direction = "downgrade" if downgrade else _direction(project, state.heads, target)
        scripts = planned_steps(project.script, direction, target, state.heads,
                                given=project.given, command="plan")
        engine = make_engine(state.url or project.url)
        conn = connect(engine)
        try:
            plan = build_plan(project, state, direction, target, scripts, sizes_conn=conn,
                              with_sql=with_sql)
        finally:
            conn.close()
            engine.dispose()
    finally:
        if missing is not None:
            with contextlib.suppress(OSError):
                if os.path.getsize(missing) == 0:
                    os.remove(missing)
    guards.evaluate(plan, project.policy, allow_downgrade=allow_downgrade,
                    given=project.given)
    return plan


def migrate(ini: str | Path, options: RunOptions, *, env: str | None = None,
            url: str | None = None, x_args: Sequence[str] = (),
            ini_section: str = "alembic") -> RunResult:
    """``sluice upgrade``/``downgrade``: see :func:`sluice.runner.run.run`."""
    _require_target(options.direction, options.target)
    return run(open_project(ini, env=env, url=url, x_args=x_args, ini_section=ini_section),
               options)


def offline_sql(ini: str | Path, *, direction: str, target: str, env: str | None = None,
                url: str | None = None, x_args: Sequence[str] = (),
                ini_section: str = "alembic") -> str:
    """``--sql``: Alembic's offline SQL. Without ``FROM:`` in ``target``, from the revision
    the database is at now (so it is what ``upgrade`` would run)."""
    _require_target(direction, target)
    project = open_project(ini, env=env, url=url, x_args=x_args, ini_section=ini_section)
    rng = target
    if ":" not in target:
        heads = probe(project).heads
        if len(heads) > 1:
            raise SluiceError("the database has several heads; pass FROM:TO explicitly")
        current = heads[0] if heads else None
        if direction == "upgrade":
            rng = f"{current}:{target}" if current else target
        else:
            rng = f"{current or 'base'}:{target}"
    buf = io.StringIO()
    cfg = project.alembic_cfg(Session(mode="offline"), output_buffer=buf)
    try:
        with kept_proxies():
            if direction == "upgrade":
                command.upgrade(cfg, rng, sql=True)
            else:
                command.downgrade(cfg, rng, sql=True)
    except Exception as exc:
        if target in ("head", "heads") and multiple_heads(exc):
            raise several_heads(project.script, direction, target, project.given, direction,
                                ("--sql",)) from None
        raise
    return buf.getvalue()


_MISSING = "the database env.py reads"


def probe_read_only(project: RunnerProject, *, given: bool = False,
                    refuse: bool = True) -> DbState:
    """:func:`probe` for a read-only command (plan, history): env.py connects, and SQLite
    creates a file that did not exist. When the file env.py read is one that was missing
    before, the empty file is removed again and the command stops (exit 2) naming it
    (``refuse=False``, for plan: goes on, the database empty as upgrade would find it).
    A missing file named by alembic.ini that env.py does not use (it reads a URL of its
    own) is no problem."""
    missing = missing_sqlite_file(project.url) if project.url else None
    state = probe(project)
    used = state.url or project.url
    if missing is None or not used or missing_sqlite_file(used) is not None:
        return state
    if _same_file(used, missing):
        with contextlib.suppress(OSError):
            if os.path.getsize(missing) == 0:
                os.remove(missing)
        if refuse:
            raise missing_database_error(used, missing, origin="--url" if given else _MISSING)
    return state


def _same_file(url: str, path: str) -> bool:
    db = make_url(url).database or ""
    db = db[5:].split("?", 1)[0] if db.startswith("file:") else db
    return bool(db) and os.path.abspath(db) == os.path.abspath(path)


def _migrated_url(project: RunnerProject) -> tuple[str, str | None]:
    """The database env.py migrates, where ``sluice upgrade`` writes its audit rows: env.py
    may connect to a URL of its own (an environment variable it reads) instead of the one
    Sluice resolved. Read from a probe of env.py; when env.py cannot be run, the resolved
    URL and a note saying so."""
    try:
        state = probe_read_only(project)
    except DatabaseUnavailable:
        raise
    except SluiceError as exc:
        if exc.message.startswith(_MISSING):
            raise
        if not project.url:
            raise
        return project.url, (f"env.py was not run ({first_line(exc)}); this is the "
                             "database Sluice resolved (pass --url for another)")
    except Exception as exc:  # noqa: BLE001 - env.py's own failure: said in the note
        if not project.url:  # no URL but env.py's, and env.py gave none: nothing to read
            raise
        return project.url, (f"env.py was not run ({first_line(exc)}); this is the "
                             "database Sluice resolved (pass --url for another)")
    return state.url or project.url, None


@dataclass
class HistoryReport:
    url: str
    entries: list[HistoryEntry]
    mismatches: list[ChecksumMismatch] = field(default_factory=list)
    note: str | None = None
    #: ``--revision``, and how many rows the table holds when none is that revision's.
    revision: str | None = None
    total: int = 0
    #: Whether the run of each open (``pending``/``running``) row is still going, by run.
    liveness: dict[str, Liveness] = field(default_factory=dict)

    def process(self, e: HistoryEntry) -> Liveness | None:
        """The liveness of ``e``'s run when ``e`` is open (None for a closed row)."""
        return self.liveness.get(e.run_id) if e.status in audit.OPEN_STATUSES else None

    def status(self, e: HistoryEntry) -> str:
        """``interrupted`` for an open row whose run is provably gone, else the row's own."""
        live = self.process(e)
        return "interrupted" if live is not None and live.state == "gone" else e.status

    def entry_dict(self, e: HistoryEntry) -> dict[str, Any]:
        live = self.process(e)
        return {**e.as_dict(), "status": self.status(e), "recorded_status": e.status,
                "process": live.as_dict() if live is not None else None}

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "entries": [self.entry_dict(e) for e in self.entries],
            "checksum_mismatches": [
                {"revision": m.revision, "path": m.path, "recorded": m.recorded,
                 "current": m.current, "state": m.state, "message": m.message()}
                for m in self.mismatches
            ],
            "note": self.note,
        }

    def render(self) -> str:
        if not self.entries:
            empty = f"no upgrades recorded in {audit.HISTORY_TABLE} on {self.url} yet"
            if self.revision and self.total:
                empty = (f"no row of {audit.HISTORY_TABLE} on {self.url} records revision "
                         f"{self.revision} ({self.total} row{'s' * (self.total != 1)} of "
                         "other revisions; sluice history without --revision lists them)")
            return f"{empty}\nnote: {self.note}" if self.note else empty
        lines = [f"{audit.HISTORY_TABLE} on {self.url}, newest first:"]
        told: set[str] = set()
        for e in self.entries:
            when = f"{e.started:%Y-%m-%d %H:%M:%S}" if e.started else "-" * 19
            move = f"{e.from_revision or 'base'} -> {e.to_revision or 'base'}"
            who = f"{e.user or '?'}@{e.host or '?'}"
            live = self.process(e)
            status = e.status if live is None or live.state == "alive" else (
                "interrupted (process gone)" if live.state == "gone"
                else f"{e.status} (process unknown)")
            lines.append(
                f"  {when}  {e.direction:<9} {e.revision:<14} {move:<30} {e.environment or '-':<8}"
                f" {who:<24} {format_duration(e.duration_ms):>8}  {status}"
                + (f"  [file {e.checksum_status} since applied]" if e.checksum_status else "")
            )
            if live is not None and live.state != "alive" and e.run_id not in told:
                told.add(e.run_id)  # said once per run, at its newest row
                lines.append(
                    "      the run that wrote this row ended without closing its rows: "
                    f"{live.reason}; the next `sluice upgrade` closes them against the "
                    "version table" if live.state == "gone" else
                    "      cannot tell whether the run that wrote this row is still going: "
                    f"{live.reason}")
            if e.error:
                lines.append(f"      {e.error}")
            data = datacommit.from_record(e.statements)
            if data:
                lines.append(f"      committed: {datacommit.describe(data)}")
            elif e.statements and "applied" not in e.statements:
                lines.append("      committed part of itself before it stopped (an "
                             "autocommit block, or sluice.data batches: a rerun resumes them)")
            elif e.statements:
                applied = len(e.statements.get("applied") or [])
                missing = e.statements.get("not_applied")
                rest = "unknown" if missing is None else str(len(missing))
                lines.append(f"      partially applied: {applied} statement(s) applied, "
                             f"{rest} not applied (--format json for the statements)")
        for m in self.mismatches:
            lines.append(f"warning: {m.message()}")
        if self.note:
            lines.append(f"note: {self.note}")
        return "\n".join(lines)


def history(ini: str | Path, *, env: str | None = None, url: str | None = None,
            x_args: Sequence[str] = (), limit: int | None = None,
            revision: str | None = None, ini_section: str = "alembic") -> HistoryReport:
    project = open_project(ini, env=env, url=url, x_args=x_args, deploys=False,
                           ini_section=ini_section)
    if url is not None:
        existing_database(project.url, origin="--url")  # read-only: no SQLite file made
    target, note = (project.url, None) if url is not None else _migrated_url(project)
    engine = make_engine(target)
    conn = connect(engine)
    try:
        with own_table_refusals(conn, "read the audit rows", read_only=True):
            _hidden_table(conn)
            entries = audit.read_history(conn, revision=revision)
            total = count_rows(conn) if revision and not entries else 0
        liveness = open_runs(conn, entries)
    finally:
        conn.close()
        engine.dispose()
    report = HistoryReport(mask_url(target), entries, note=note, revision=revision,
                           total=total, liveness=liveness)
    try:
        paths = project.script_paths()
    except Exception as exc:
        paths = {}
        report.note = "; ".join(filter(None, (
            note, f"checksums not compared: cannot load the revisions: {first_line(exc)}")))
    if paths:
        unknown = {e.revision for e in entries if e.revision not in paths}
        if unknown:  # sluice_history is shared by every section: rows of the others
            paths = {**other_section_paths(project), **paths}
        report.mismatches = audit.checksum_mismatches(entries, paths)
    if limit:
        report.entries = entries[:limit]
    return report


def _hidden_table(conn: Any) -> None:
    """MySQL/MariaDB hide a table from a role without privileges on it, so the audit table
    looks missing ("no upgrades recorded yet"): a read of it says which it is (refused:
    raised; really missing: nothing)."""
    if conn.dialect.name not in ("mysql", "mariadb") or audit.table_exists(conn):
        return
    try:
        conn.exec_driver_sql(f"SELECT 1 FROM {audit.HISTORY_TABLE} WHERE 1 = 0")
    except Exception as exc:
        if refused_table(exc, [audit.HISTORY_TABLE]):
            raise
        return
    conn.info.pop("sluice_history_exists", None)  # there after all: read_history looks again


def other_section_paths(project: RunnerProject) -> dict[str, str]:
    """Revision id -> file of every other Alembic environment of alembic.ini (sections with
    a ``script_location``): they write their rows in the same ``sluice_history``, so a
    revision of another section is not a missing file. Headers are read from the source;
    a section that cannot be read adds nothing."""
    out: dict[str, str] = {}
    try:
        parser = section_config(project.ini, project.ini_section).file_config
        sections = [s for s in parser.sections()
                    if s != project.ini_section and parser.has_option(s, "script_location")]
    except Exception:  # noqa: BLE001 - a file Alembic cannot read fails elsewhere
        return out
    for section in sections:
        try:
            files = script_revision_files(script_directory(section_config(project.ini,
                                                                           section)))
        except Exception:  # noqa: BLE001 - a broken section is that section's problem
            continue
        for path in files:
            revision = read_header(path).revision
            if revision is not None:
                out.setdefault(revision, str(path))
    return out


def count_rows(conn: Any) -> int:
    """How many rows ``sluice_history`` holds (0 when it does not exist)."""
    if not audit.table_exists(conn):
        return 0
    from sqlalchemy import func, select  # lazy: only when --revision matched no row

    return int(conn.execute(select(func.count()).select_from(audit.history_table)).scalar()
               or 0)
