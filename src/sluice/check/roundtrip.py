"""The round-trip check: every revision's downgrade restores the schema exactly.

Walking the history from an empty database in the order ``alembic upgrade heads`` applies
it, for each revision under test: upgrade to it and snapshot the schema, downgrade one
step and compare with the snapshot taken before the upgrade, upgrade again and compare
with the first upgrade. The whole walk runs as one env.py session (steps are fed to
Alembic one by one), so the history is imported once, not once per revision.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from alembic.runtime.migration import MigrationContext, MigrationStep

from sluice.check.context import CheckContext, StepTracker
from sluice.check.graph import build_graph, graph_blocked
from sluice.check.model import CheckResult, finish
from sluice.check.revisions import describe_error
from sluice.check.sawarn import Routed, routed
from sluice.check.schemas import SchemaChoice, within
from sluice.check.snapshot import (
    EXPRESSION_INDEX_WARNING,
    Difference,
    Snapshot,
    SnapshotCache,
    describe_difference,
    diff_snapshots,
    take_snapshot,
    undo_hint,
)
from sluice.check.upgrade import handled_while_migrating
from sluice.core.alembic_compat import downgrade_steps, upgrade_steps
from sluice.core.findings import Finding, check_finding
from sluice.errors import SluiceError
from sluice.owned import sluice_tables

NAME = "roundtrip"
TITLE = "downgrade round trip"


def _lines(diffs: list[Difference], expected: str, actual: str) -> list[str]:
    return [describe_difference(d, expected_label=expected, actual_label=actual) for d in diffs]


def _details(lines: list[str]) -> str:
    """Every difference as a list, when there is more than the one in the message."""
    return "\n".join("- " + x for x in lines) if len(lines) > 1 else ""


def check_roundtrip(ctx: CheckContext) -> CheckResult:
    """Run the check; its rule documents it (:mod:`sluice.rules.check.roundtrip`)."""
    blocked = graph_blocked(ctx, NAME, TITLE)
    if blocked is not None:
        return blocked
    if ctx.config.downgrades == "none":
        return CheckResult(NAME, TITLE, "skip", "downgrades = 'none': the project writes none")
    upgrade = ctx.results.get("upgrade")
    if upgrade is not None and upgrade.status != "pass":
        return CheckResult(NAME, TITLE, "skip", "needs a successful upgrade to head")
    history = ctx.history()
    script = history.script
    graph = build_graph(ctx)
    order = [step.revision for step in upgrade_steps(script, "heads", ())]
    last = ctx.options.last if ctx.options.last is not None else ctx.config.check.roundtrip_last
    checked = order[-last:] if last else order
    checked_ids = {r.revision for r in checked}
    prepare = False
    if ctx.db.state != "empty" and not ctx.db.fresh():
        prepare = True

    rmap = script.revision_map
    tracker = StepTracker()
    problems: list[Finding] = []
    notes: list[str] = []
    timings: list[dict[str, Any]] = []
    snap_seconds = [0.0]
    cache: SnapshotCache = {}
    not_schema = {ctx.version_table, *sluice_tables(ctx.config)}
    outcome = {"completed": False, "prepare_error": False}

    choice = SchemaChoice(configured=list(ctx.config.include_schemas))
    last_schemas: list[str | None] = [None]
    reflection_warnings = Routed()

    def snap(conn: Any) -> Snapshot:
        t0 = time.perf_counter()
        # SQLite's expression-based indexes are read from sqlite_master instead
        handled = (EXPRESSION_INDEX_WARNING,) if conn.dialect.name == "sqlite" else ()
        with routed(reflection_warnings, handled=handled):
            last_schemas[:] = choice.schemas(conn)
            s = take_snapshot(conn, schemas=last_schemas, skip=not_schema, cache=cache)
        snap_seconds[0] += time.perf_counter() - t0
        return s

    def step_for(rev: Any, upgrade: bool, label: str, context: MigrationContext) -> Any:
        step = (MigrationStep.upgrade_from_script(rmap, rev) if upgrade
                else MigrationStep.downgrade_from_script(rmap, rev))
        tracker.step, tracker.direction = step, label
        # Each step as its own `alembic` command would run it: SQLAlchemy notes in this memo
        # the named types (PostgreSQL enums) a create_table made, and would not create
        # them again when the same revision is upgraded again in this one session.
        context.impl.memo.clear()
        return step

    def work(heads: tuple[str, ...], context: MigrationContext) -> Iterator[Any]:
        nonlocal choice
        conn = context.connection
        # the schemas env.py compares (include_schemas=True, include_name) and the models'
        choice = SchemaChoice.from_options(ctx.config.include_schemas, context.opts)
        if heads:
            if not prepare:  # pragma: no cover - a fresh database has no version rows
                raise SluiceError("round trip: the database is not empty")
            for step in downgrade_steps(script, "base", heads):
                tracker.step, tracker.direction = step, "downgrade (bringing the database " \
                                                        "back to empty for the round trip)"
                yield step
            tracker.step = None
            at_base = snap(conn)
            diffs = diff_snapshots(within(ctx.db.initial, last_schemas), at_base)
            if diffs:
                problems.append(check_finding(
                    NAME, "downgrade-to-base-incomplete",
                    "downgrading from head to base did not give back the empty database: "
                    + _lines(diffs, "at the start", "after downgrading to base")[0],
                    "One of the downgrades leaves something behind; run the round trip on a "
                    "fresh database (--scratch, or the default temporary SQLite) to find which.",
                    details=_details(_lines(diffs, "at the start", "after downgrading to base")),
                ))
                return
        before: Snapshot | None = None
        for rev in order:
            rid = rev.revision
            tested = rid in checked_ids
            if tested and before is None:
                before = snap(conn)
            record: dict[str, Any] = {"revision": rid, "path": ctx.rel(rev.path)}
            t0 = time.perf_counter()
            yield step_for(rev, True, "upgrade", context)
            record["upgrade_s"] = round(time.perf_counter() - t0, 4)
            if not tested:
                continue
            timings.append(record)
            after = snap(conn)
            info = graph.downgrade(graph.nodes[rid].path) if rid in graph.nodes else None
            kind = info.kind if info is not None else "ops"
            if kind == "raises":
                record["status"] = "irreversible"
                notes.append(f"{rid} is irreversible on purpose (its downgrade raises): "
                             "not round-tripped")
                before = after
                continue
            if kind in ("pass", "empty", "missing") and ctx.config.downgrades == "optional":
                record["status"] = "no downgrade"
                notes.append(f"{rid} has no downgrade (downgrades = 'optional'): "
                             "not round-tripped")
                before = after
                continue
            t0 = time.perf_counter()
            yield step_for(rev, False, "downgrade", context)
            record["downgrade_s"] = round(time.perf_counter() - t0, 4)
            restored = snap(conn)
            assert before is not None
            diffs = diff_snapshots(before, restored)
            if diffs:
                record["status"] = "failed"
                lines = _lines(diffs, "before the upgrade", "after the downgrade")
                hints = [h for h in (undo_hint(d) for d in diffs) if h]
                fix = "Make downgrade() undo exactly what upgrade() does, in reverse order."
                if hints:
                    fix += " Missing here: " + "; ".join(hints) + "."
                more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
                problems.append(check_finding(
                    NAME, "downgrade-incomplete",
                    f"downgrade of revision {rid} does not restore the schema: {lines[0]}{more}",
                    fix, path=ctx.rel(rev.path), line=info.line if info else None,
                    revision=rid, details=_details(lines),
                ))
                return
            t0 = time.perf_counter()
            yield step_for(rev, True, "upgrade again", context)
            record["upgrade_again_s"] = round(time.perf_counter() - t0, 4)
            again = snap(conn)
            diffs = diff_snapshots(after, again)
            if diffs:
                record["status"] = "failed"
                lines = _lines(diffs, "after the first upgrade", "after upgrading again")
                more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
                problems.append(check_finding(
                    NAME, "upgrade-again-differs",
                    f"upgrading revision {rid} again after its downgrade gives a different "
                    f"schema: {lines[0]}{more}",
                    "downgrade() must leave the schema exactly as it was before upgrade(); "
                    "what differs above is what it changed beyond that (often an object "
                    "re-created with another name, type or default).",
                    path=ctx.rel(rev.path), line=info.line if info else None,
                    revision=rid, details=_details(lines),
                ))
                return
            record["status"] = "ok"
            before = again
        tracker.step = None
        outcome["completed"] = True

    started = time.perf_counter()
    migrating = Routed(during="while running the migrations")
    try:
        with routed(migrating, handled=handled_while_migrating(ctx)):
            ctx.run_env(work)
    except SluiceError:
        raise
    except Exception as exc:
        ctx.db.state = "used"
        path, line, rid = ctx.env_failure(exc, tracker)
        direction = tracker.direction
        if direction.startswith("downgrade (bringing"):
            return CheckResult(NAME, TITLE, "error", "could not start", problems=[check_finding(
                NAME, "cannot-reset",
                f"{direction}: revision {rid} failed: {describe_error(exc)}",
                "With --url (no --scratch) the database is reused and must be downgraded "
                "back to empty first. Use --scratch, or the default temporary SQLite, so the "
                "round trip starts from a new empty database.",
                path=path, line=line, revision=rid)])
        fix = ("downgrade() must run on the schema upgrade() leaves; run "
               f"{ctx.given.alembic('upgrade', str(rid))} then "
               f"{ctx.given.alembic('downgrade', '-1')} on an empty database "
               "to see the full error.") if direction == "downgrade" else (
            "The upgrade fails on the schema its own downgrade leaves: the downgrade does "
            "not undo everything the upgrade did (an object is left behind or renamed)."
            + _left_behind(exc))
        fix = ctx.stand_in_note() or fix
        problems.append(check_finding(NAME, f"{direction.replace(' ', '-')}-failed",
                                f"{direction} of revision {rid} failed: {describe_error(exc)}",
                                fix, path=path, line=line, revision=rid))
    ctx.db.state = "head" if outcome["completed"] else "used"
    elapsed = time.perf_counter() - started
    done = [t for t in timings if t.get("status") == "ok"]
    summary = (f"{len(done)} of {len(checked)} revision{'s' if len(checked) != 1 else ''} "
               "upgraded, downgraded and upgraded again")
    if last:
        summary += f" (latest {last})"
    schema_note = choice.note()
    if schema_note:
        notes.append(schema_note)
    notes.extend(reflection_warnings.notes())
    notes.extend(n for n in migrating.notes() if n not in ctx.migration_notes)
    return finish(NAME, TITLE, problems, summary, notes=notes, data={
        "revisions": timings, "seconds": round(elapsed, 4),
        "snapshot_seconds": round(snap_seconds[0], 4),
        "schemas": [None, *sorted(choice.compared)]})


#: PostgreSQL's error for an object the upgrade creates again: type "x" already exists.
_EXISTS = re.compile(r'\b(type|sequence|schema|extension) "([^"]+)" already exists')
_IDENT = r'(?:"(?:[^"]|"")+"|[\w$]+)'
#: The statement that made it: ``CREATE TYPE billing.tier AS ENUM (...)``; PostgreSQL's
#: error names the object without its schema, the statement with it.
_CREATED = re.compile(rf"\bCREATE\s+(TYPE|SEQUENCE)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                      rf"({_IDENT}(?:\s*\.\s*{_IDENT})?)", re.IGNORECASE)


def _unquote(part: str) -> str:
    part = part.strip()
    return part[1:-1].replace('""', '"') if part.startswith('"') else part


def _created_name(exc: BaseException, kind: str, name: str) -> tuple[str | None, str]:
    """(schema, the name as the failed statement spells it) of the object ``kind``
    ``name`` the error is about; (None, name) when the statement does not say."""
    statement = str(getattr(exc, "statement", None) or "")
    for m in _CREATED.finditer(statement):
        if m.group(1).lower() != kind:
            continue
        parts = re.findall(_IDENT, m.group(2))
        if _unquote(parts[-1]) != name:
            continue
        schema = _unquote(parts[0]) if len(parts) == 2 else None
        return schema, m.group(2).replace(" ", "")
    return None, name


def _left_behind(exc: BaseException) -> str:
    """What the downgrade must drop, when the error names an object left behind."""
    m = _EXISTS.search(str(exc))
    if m is None:
        return ""
    kind, name = m.group(1), m.group(2)
    schema, spelled = _created_name(exc, kind, name) if kind in ("type", "sequence") \
        else (None, name)
    shown = f"{schema}.{name}" if schema else name
    if kind == "type":
        in_schema = f", schema={schema!r}" if schema else ""
        drop = (f"sa.Enum(name={name!r}{in_schema}).drop(op.get_bind(), checkfirst=True) "
                f"(or op.execute({f'DROP TYPE {spelled}'!r})); Alembic's autogenerate drops "
                "the table but not its enum type")
    else:
        drop = f"op.execute({f'DROP {kind.upper()} {spelled}'!r})"
    return f" Here the {kind} {shown} is left behind: end downgrade() with {drop}."
