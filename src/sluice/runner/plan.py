"""``sluice plan``: what an upgrade or downgrade would do, before it does it.

A plan names the current revision(s) and the target, then each revision to apply in
order with its operations, their lint findings and risk, the size of the tables they touch
(so a risky operation on a big table stands out), the effective timeouts, and the SQL
Alembic would run (rendered offline from the current revision to the target through
env.py, exactly like ``alembic upgrade CURRENT:TARGET --sql``). It also says what the
environment's guards would do: refuse, ask, back up.
"""

from __future__ import annotations

import io
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.script import Script
from sqlalchemy.engine import Connection

from sluice.config import with_server
from sluice.core.alembic_compat import INTERNAL_RENDER, kept_proxies
from sluice.core.alembic_log import quiet_alembic
from sluice.core.durations import format_duration
from sluice.core.findings import SEVERITY_ORDER, Finding
from sluice.core.project import display_path
from sluice.core.source import decode_source
from sluice.core.sumfile import content_digest
from sluice.errors import SluiceError, mask_url
from sluice.files import read_utf8
from sluice.runner.capture import running_revision, split_offline_sql
from sluice.runner.checksums import checksum_file
from sluice.runner.database import first_line
from sluice.runner.lintguard import RevisionLint, findings_for_op, lint_revisions
from sluice.runner.project import RunnerProject
from sluice.runner.session import DbState, Session
from sluice.runner.timeouts import Timeouts, file_timeouts

if TYPE_CHECKING:  # the data-step reader and table sizes load for a plan's details only
    from sluice.runner.tablesizes import TableSize

RISK_ORDER = {"low": 0, "medium": 1, "high": 2}


@dataclass
class OpPlan:
    kind: str
    target: str
    line: int | None
    table: str | None
    schema: str | None
    findings: list[Finding] = field(default_factory=list)
    size: TableSize | None = None
    large: bool = False
    risk: str = "low"
    #: The gate (``only_in("dev")``) that makes the target environment skip it.
    skipped_by: str | None = None
    #: Why the risk is what it is when no finding says it (a downgrade dropping data).
    why: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "target": self.target, "line": self.line, "table": self.table,
            "risk": self.risk, "why": self.why, "large_table": self.large,
            "skipped_by": self.skipped_by,
            "table_size": self.size.as_dict() if self.size else None,
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass
class DataStepPlan:
    """A ``sluice.data`` step of a revision: the rows it walks, and whether it runs here."""

    kind: str
    table: str | None
    schema: str | None
    line: int
    step: str | None = None
    #: A ``where`` is passed: at most the table's rows are touched.
    filtered: bool = False
    size: TableSize | None = None
    #: The gate (``skip_in(production=True)``) that makes the target environment skip it.
    skipped_by: str | None = None

    @property
    def target(self) -> str:
        name = self.table or "(table not named in the source)"
        return f"{self.schema}.{name}" if self.schema and self.table else name

    def as_dict(self) -> dict[str, Any]:
        rows = self.size.rows if self.size else None
        return {
            "kind": self.kind, "table": self.table, "schema": self.schema, "line": self.line,
            "step": self.step, "rows": rows,
            "rows_kind": self.size.rows_kind if self.size and rows is not None else None,
            "filtered": self.filtered, "skipped": self.skipped_by is not None,
            "skipped_by": self.skipped_by,
        }

    def describe(self) -> str:
        if self.size is None:
            size = "size unknown"
        elif not self.size.exists:
            size = self.size.describe()
        elif self.size.rows is None:
            size = "row count unknown"
        else:
            approx = "~" if self.size.rows_kind == "estimate" else ""
            size = (f"{'at most ' if self.filtered else ''}{approx}"
                    f"{_human_count(self.size.rows)} rows")
        name = f" '{self.step}'" if self.step else ""
        text = f"{self.kind}{name} {self.target}  ({size})"
        if self.skipped_by:
            text += f"  SKIPPED here: {self.skipped_by}"
        return text


@dataclass
class RevisionPlan:
    revision: str
    message: str
    path: str | None
    from_revisions: list[str]
    to_revisions: list[str]
    checksum: str | None
    ops: list[OpPlan] = field(default_factory=list)
    #: ``sluice.data`` steps (batched_update, batched_delete, backfill), in source order.
    data_steps: list[DataStepPlan] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: Findings a reviewed suppression silenced: the guard lets them through, but their
    #: risk stays (reviewed is not harmless) and the reviewer's reason is shown.
    suppressed: list[Finding] = field(default_factory=list)
    timeouts: Timeouts = field(default_factory=Timeouts)
    sql: list[str] | None = None
    note: str | None = None

    @property
    def risk(self) -> str:
        risks = [o.risk for o in self.ops] + [_risk_of(self.findings + self.suppressed, False)]
        return max(risks, key=RISK_ORDER.__getitem__) if risks else "low"

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision, "message": self.message, "path": self.path,
            "from": self.from_revisions, "to": self.to_revisions, "risk": self.risk,
            "checksum": self.checksum,
            "timeouts": {"lock_timeout_ms": self.timeouts.lock_timeout_ms,
                         "statement_timeout_ms": self.timeouts.statement_timeout_ms},
            "operations": [o.as_dict() for o in self.ops],
            "data_steps": [d.as_dict() for d in self.data_steps],
            "findings": [f.as_dict() for f in self.findings],
            "suppressed": [f.as_dict() for f in self.suppressed],
            "sql": self.sql, "note": self.note,
        }


@dataclass
class Plan:
    environment: str
    production: bool
    url: str
    dialect: str
    direction: str
    current: list[str]
    target: str
    revisions: list[RevisionPlan]
    tables: dict[str, TableSize] = field(default_factory=dict)
    sql_error: str | None = None
    #: What this environment's guards will do with this plan (refusals first).
    guards: list[str] = field(default_factory=list)
    #: Refusals (a subset of ``guards``): the run would stop here.
    refusals: list[str] = field(default_factory=list)
    #: Configuration the run would stop on before changing anything (a subset of
    #: ``guards``): a required backup without a backup_command. ``sluice plan`` exits 1.
    blockers: list[str] = field(default_factory=list)
    large_table_rows: int = 1_000_000

    @property
    def empty(self) -> bool:
        return not self.revisions

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment, "production": self.production, "url": self.url,
            "dialect": self.dialect, "direction": self.direction, "current": self.current,
            "target": self.target, "revisions": [r.as_dict() for r in self.revisions],
            "tables": {k: v.as_dict() for k, v in self.tables.items()},
            "sql_error": self.sql_error, "guards": self.guards, "refusals": self.refusals,
            "blockers": self.blockers,
        }

    def render(self, *, sql: bool = True) -> str:
        cur = ", ".join(self.current) or "base (empty database)"
        env = f"{self.environment} (production)" if self.production else self.environment
        lines = [f"{self.direction} plan for {env}: {self.url}",
                 f"  current: {cur}", f"  target:  {self.target}"]
        if self.empty:
            lines.append("  nothing to do: the database is already there")
            return "\n".join(lines)
        n = len(self.revisions)
        lines.append(f"  {n} revision{'s' if n != 1 else ''} to {'apply' if self.direction == 'upgrade' else 'revert'}, in order:")
        for i, rev in enumerate(self.revisions, 1):
            lines.append("")
            arrow = f"{','.join(rev.from_revisions) or 'base'} -> {','.join(rev.to_revisions) or 'base'}"
            lines.append(f"{i}. {rev.revision}  {rev.message}  [{arrow}]  risk: {rev.risk}")
            if rev.path:
                lines.append(f"   {display_path(rev.path, Path.cwd())}")
            t = rev.timeouts
            if not t.empty:
                lines.append(f"   timeouts: lock {_timeout(t.lock_timeout_ms)}, "
                             f"statement {_timeout(t.statement_timeout_ms)}")
            if rev.note:
                lines.append(f"   note: {rev.note}")
            if not rev.ops:
                lines.append("   (no operations found)")
            for op in rev.ops:
                where = f"  [line {op.line}]" if op.line else ""
                size = f"  ({op.size.describe()}{', LARGE' if op.large else ''})" if op.size else ""
                skip = f"  SKIPPED here: {op.skipped_by}" if op.skipped_by else ""
                lines.append(f"   - {op.kind} {op.target}{size}  risk: {op.risk}{skip}{where}")
                if op.why:
                    lines.append(f"       {op.why}")
                for f in op.findings:
                    lines.append(f"       {f.severity} {f.rule} {f.name}: {f.message}"
                                 + _reviewed(f))
            for step in rev.data_steps:
                lines.append(f"   - data: {step.describe()}  [line {step.line}]")
            loose = [f for f in rev.findings + rev.suppressed
                     if not any(f in o.findings for o in rev.ops)]
            for f in loose:
                where = f"line {f.line}: " if f.line else ""
                lines.append(f"   * {f.severity} {f.rule} {f.name}: {where}{f.message}"
                             + _reviewed(f))
            if sql and rev.sql:
                lines.append("   SQL:")
                for stmt in rev.sql:
                    for j, part in enumerate(stmt.splitlines()):
                        lines.append(("     " if j == 0 else "       ") + part.rstrip())
                    lines[-1] += ";"
        if sql and self.sql_error:
            lines += ["", f"SQL preview unavailable: {self.sql_error}"]
        if self.guards:
            lines += ["", "Guards:"]
            for g in self.guards:
                first, *rest = g.splitlines()
                lines.append(f"  - {first}")
                lines += [f"    {r.strip() if r.startswith('  ') and not r.startswith('      ') else r}"
                          for r in rest]
        return "\n".join(lines)


def _timeout(ms: int | None) -> str:
    """A timeout as the plan shows it: ``0`` turns it off (PostgreSQL, MySQL), so "off"."""
    return "off" if ms == 0 else format_duration(ms)


def _reviewed(f: Finding) -> str:
    return f" (suppressed, reviewed: {f.suppressed})" if f.suppressed is not None else ""


def _target(op: Any) -> str:
    """What an op touches; for SQL that names no table (``SET lock_timeout``, a ``DO``
    block), its opening words instead of ``?``."""
    if op.kind == "execute" and op.target == "?" and op.sql:
        gist = " ".join(op.sql.split())
        return gist if len(gist) <= 60 else gist[:57] + "..."
    return str(op.target)


#: Operations whose downgrade loses the rows or values they held.
_DROPS_DATA = frozenset({"drop_table", "drop_column"})


def _drops_data(item: OpPlan) -> None:
    """A downgrade's drop: high risk unless the table is known to be empty (lint reads
    upgrades only, so no finding says it)."""
    rows = item.size.rows if item.size else None
    if rows == 0:
        return
    held = f"its {_human_count(rows)} rows" if rows else "what it holds"
    what = "the table" if item.kind == "drop_table" else "the column"
    item.risk = "high"
    item.why = (f"drops {what} and {held} for good; take a backup first, or undo the "
                "change with a new forward revision instead")


def _risk_of(findings: Sequence[Finding], large: bool) -> str:
    worst = max((SEVERITY_ORDER[f.severity] for f in findings), default=-1)
    if worst >= SEVERITY_ORDER["error"]:
        return "high"
    if worst == SEVERITY_ORDER["warning"]:
        return "high" if large else "medium"
    return "low"


def render_sql(project: RunnerProject, state: DbState, direction: str,
               target: str) -> tuple[dict[str, list[str]], str | None]:
    """The offline SQL from the current revision to ``target``, per revision."""
    if len(state.heads) > 1:
        return {}, ("the database has several heads; render each branch with "
                    f"{project.given.alembic('upgrade', 'FROM:TO', '--sql')}")
    current = state.heads[0] if state.heads else None
    buf = io.StringIO()
    cfg = project.alembic_cfg(Session(mode="offline"), output_buffer=buf)
    cfg.attributes[INTERNAL_RENDER] = True  # for Sluice's report: no notes for a reader
    try:
        with quiet_alembic(), kept_proxies():
            if direction == "upgrade":
                command.upgrade(cfg, f"{current}:{target}" if current else target, sql=True)
            else:
                command.downgrade(cfg, f"{current or 'base'}:{target}", sql=True)
    except Exception as exc:
        return {}, _render_failure(project, exc, buf.getvalue())
    out: dict[str, list[str]] = {}
    for rev, stmt in split_offline_sql(buf.getvalue(), state.version_table, state.dialect):
        out.setdefault(rev, []).append(stmt)
    return out, None


def _render_failure(project: RunnerProject, exc: BaseException, output: str) -> str:
    """One line: which revision (id, file, line) failed to render offline, and the error
    (its class and first line) -- or env.py when no revision had started."""
    error = f"{type(exc).__name__}: {first_line(exc)}"
    revision = running_revision(output)
    path = project.script_paths().get(revision) if revision else None
    if revision is None:
        env_py = Path(project.script.dir) / "env.py"
        line = _line_in(exc, env_py)
        where = f"{env_py}, line {line}" if line else f"{env_py}"
        return (f"{where}: env.py failed in offline mode (--sql) before any revision was "
                f"rendered: {error}")
    line = _line_in(exc, Path(path)) if path else None
    where = ", ".join(str(p) for p in (path, f"line {line}" if line else None) if p)
    return (f"revision {revision} ({where or 'file unknown'}) failed to render offline "
            f"(--sql): {error}; the plan above is complete except for its SQL")


def _line_in(exc: BaseException, path: Path) -> int | None:
    """The innermost line of ``path`` in ``exc``'s traceback."""
    target = path.resolve()
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == target:
            line = frame.lineno
    return line


def build_plan(
    project: RunnerProject,
    state: DbState,
    direction: str,
    target: str,
    scripts: Sequence[tuple[Script, list[str], list[str]]],
    *,
    sizes_conn: Connection | None,
    with_sql: bool = True,
    with_lint: bool = True,
    with_details: bool = True,
) -> Plan:
    """``scripts``: ``(script, from_revisions, to_revisions)`` in run order.

    ``with_details=False`` is what a guard needs and nothing more: findings, but no
    operation list, timeouts or checksums for revisions without findings.
    """
    config = with_server(project.config, state.dialect, mariadb=state.mariadb,
                         version=state.server_version)
    for sc, _, _ in scripts:  # a byte that is not UTF-8: one line naming file and offset
        if sc.path:
            try:  # read once: the run's audit rows take the checksum from here
                with open(sc.path, "rb") as f:
                    data = f.read()
            except OSError:  # the error names the file as shown
                read_utf8(sc.path, shown=display_path(sc.path, project.ini.resolve().parent))
                raise
            if decode_source(data) is None:  # UTF-8, or the encoding the file declares
                shown = display_path(sc.path, project.ini.resolve().parent)
                read_utf8(sc.path, shown=shown)  # names the byte when it is not UTF-8
                raise SluiceError(f"{shown}: not in the encoding its first lines declare")
            project.checksums[sc.path] = content_digest(data)
    lints: dict[str, RevisionLint] = {}
    if with_lint and scripts:
        lints = lint_revisions(project.ini, config,
                               [(sc.revision, sc.path) for sc, _, _ in scripts],
                               dialect=state.lint_dialect, phase=direction,
                               x_args=project.x_args, with_ops=with_details,
                               ini_section=project.ini_section,
                               strict=direction == "upgrade"
                               and project.policy.block_on_lint_errors)
    sql_by_rev: dict[str, list[str]] = {}
    sql_error = None
    if with_sql and scripts:
        sql_by_rev, sql_error = render_sql(project, state, direction, target)
    revisions: list[RevisionPlan] = []
    created: set[str] = set()
    touched: list[tuple[str | None, str]] = []
    for sc, frm, to in scripts:
        lint = lints.get(sc.revision) or RevisionLint(sc.revision, sc.path)
        rp = RevisionPlan(
            revision=sc.revision,
            message=(sc.doc or "").strip().splitlines()[0] if sc.doc else "",
            path=sc.path, from_revisions=list(frm), to_revisions=list(to),
            checksum=(project.checksums.get(sc.path) or checksum_file(sc.path))
            if with_details else None,
            findings=list(lint.findings), suppressed=list(lint.suppressed), note=lint.note,
            timeouts=file_timeouts(sc.path).over(project.env_timeouts)
            if sc.path and with_details else project.env_timeouts,
            sql=sql_by_rev.get(sc.revision) if with_sql and not sql_error else None,
        )
        if with_details:
            from sluice.runner.datasteps import (  # lazy: a plan's details only
                data_steps,
                gated_lines,
            )
            from sluice.runner.tablesizes import TableSize  # lazy: a plan's details only
        gated = gated_lines(sc.path, direction) if with_details and sc.path else {}
        for op in lint.ops:
            table = op.table
            skip = next((g for g in gated.get(op.line or 0, [])
                         if g.skips(project.environment, config)), None)
            rp.ops.append(OpPlan(kind=op.kind, target=_target(op), line=op.line, table=table,
                                 schema=op.schema,
                                 findings=findings_for_op(op, lint.findings + lint.suppressed),
                                 skipped_by=skip.label if skip else None))
            if table and not op.table_is_new and table not in created:
                touched.append((op.schema, table))
            if op.kind == "create_table" and table:
                created.add(table)
        if with_details and sc.path:
            for step in data_steps(sc.path, direction):
                gate = step.skipped_by(project.environment, config)
                rp.data_steps.append(DataStepPlan(
                    kind=step.kind, table=step.table, schema=step.schema, line=step.line,
                    step=step.step, filtered=step.filtered,
                    skipped_by=gate.label if gate else None,
                    size=TableSize(step.table, step.schema, exists=False, new=True)
                    if step.table in created else None))
                if step.table and step.table not in created:
                    touched.append((step.schema, step.table))
        revisions.append(rp)
    sizes: dict[str, TableSize] = {}
    if sizes_conn is not None and touched:
        from sluice.runner.tablesizes import table_sizes  # lazy: sizes asked for only

        sizes = table_sizes(sizes_conn, touched)
    limit = config.lint.large_table_rows
    made: set[str] = set()  # created by the plan so far: a new table, not a missing one
    for rp in revisions:
        for item in rp.ops:
            if item.table:
                key = f"{item.schema}.{item.table}" if item.schema else item.table
                if item.kind == "create_table":
                    made.add(key)
                item.size = sizes.get(key)
                if item.size is not None and not item.size.exists and key in made:
                    item.size = replace(item.size, new=True)
                item.large = bool(item.size and item.size.rows is not None
                                  and item.size.rows >= limit)
            item.risk = _risk_of(item.findings, item.large)
            if direction == "downgrade" and item.kind in _DROPS_DATA:
                _drops_data(item)
        for planned in rp.data_steps:
            if planned.table and planned.size is None:
                planned.size = sizes.get(f"{planned.schema}.{planned.table}"
                                         if planned.schema else planned.table)
    return Plan(
        environment=project.environment, production=project.policy.production,
        url=mask_url(state.url or project.url), dialect=state.dialect, direction=direction,
        current=list(state.heads), target=target, revisions=revisions, tables=sizes,
        sql_error=sql_error, large_table_rows=limit,
    )


def _human_count(n: int) -> str:
    from sluice.runner.tablesizes import human_count  # lazy: a plan's details only

    return human_count(n)
