"""One revision file through both layers: whether it needs rendering
(:func:`render_job`), then its operations merged and the rules, suppressions and meta
findings applied (:func:`analyze_file`); SL905 for revision ids declared twice
(:func:`duplicate_findings`). :mod:`sluice.lint.engine` drives it over a project."""

from __future__ import annotations

import graphlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from sluice.config import SluiceConfig
from sluice.lint.context import RunContext, meta_findings
from sluice.lint.merge import dedup_findings, dialect_branch_arms, dialect_sensitive, merge_ops
from sluice.lint.model import Finding, Op
from sluice.lint.needs import (
    NEED_RENDER_REQUESTED,
    NEED_SQL_REQUESTED,
    offline_failure,
    render_needs,
)
from sluice.lint.registry import run_rules
from sluice.lint.render import REASON_BIND_READS, REASON_DISABLED, RenderOutcome
from sluice.lint.results import RevisionReport
from sluice.lint.scope import Node, display_path, static_result
from sluice.lint.static import StaticResult
from sluice.lint.suppress import apply_suppressions, parse_suppressions, suppression_ops

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sluice.lint.pool import Crash, RenderJob

__all__ = ["FileResult", "analyze_file", "duplicate_findings", "render_job"]


@dataclass
class FileResult:
    """One revision file linted: its report, the findings it shows and those it suppressed."""

    report: RevisionReport
    findings: list[Finding]
    suppressed: list[Finding]


def render_job(index: int, node: Node, ctx: RunContext) -> tuple[list[str], RenderJob | None]:
    """Why ``node`` needs rendering (empty: static analysis decides everything) and the job
    that renders it (None: not rendered)."""
    static = static_result(node)
    if static.error:
        return [], None
    source = node.text() or ""
    needs = render_needs(static.ops, source)
    if not needs and (ctx.sql or ctx.render_all):
        needs = [NEED_SQL_REQUESTED if ctx.sql else NEED_RENDER_REQUESTED]
    if not needs or not ctx.render or offline_failure(static.ops) is not None:
        return needs, None
    sensitive = dialect_sensitive(source) or any(o.kind == "script.import" for o in static.ops)
    down_kind = next((o.args.get("kind") for o in static.ops
                      if o.kind == "script.downgrade"), None)
    from sluice.lint.pool import RenderJob  # lazy: only for a revision to render

    return needs, RenderJob(
        index=index, path=node.file, dialects=tuple(ctx.dialects),
        downgrade=ctx.config.downgrades != "none" and down_kind == "ops",
        all_dialects=sensitive and len(ctx.dialects) > 1)


def _dialect_branches(source: str, static: StaticResult, outcome: RenderOutcome | None
                      ) -> tuple[list[tuple[int, int]], set[int], list[Op]]:
    """The dialect branch arms of ``source`` and their lines, for the merge to prune (none
    when nothing rendered), and the static ops, those in them in a phase no render ran
    marked ``dialect_branch``: which dialect reaches them, nothing says (SL608)."""
    arms = dialect_branch_arms(source, static.tree)
    if not arms:
        return [], set(), static.ops
    lines = {line for first, last in arms for line in range(first, last + 1)}
    seen: set[str] = set()
    rendered = outcome is not None and outcome.ok
    if outcome is not None and outcome.ok:
        seen = {p for ps in outcome.phases.values() for p in ps}
    ops = [replace(o, args={**o.args, "dialect_branch": True})
           if o.line in lines and o.phase not in seen else o for o in static.ops]
    return (arms, lines, ops) if rendered else ([], set(), ops)


def analyze_file(node: Node, ctx: RunContext, rendered: RenderOutcome | None,
             needs: list[str], failure: Crash | None = None) -> FileResult:
    """Both layers, rules, suppressions for one file; ``rendered``: what rendering it gave
    (None: it was not rendered). ``failure``: rendering or analysing it raised (a bug in
    Sluice); analyse statically and say so."""
    path = node.file  # a real path: what str(node.path) gives
    static = static_result(node)
    report = RevisionReport(path=path, revision=node.revision, down_revision=node.down_raw,
                            branch_labels=node.labels, depends_on=node.depends,
                            render_needs=list(needs))
    if static.error:
        report.status = "unparsed"
        report.reason = "syntax error"
        m = re.match(r"^.*?:(\d+): (.*)$", static.error)
        line = int(m.group(1)) if m else 1
        report.detail = m.group(2) if m else static.error
        op = Op("lint.parse_error", line=max(line, 1), path=path, revision=node.revision,
                args={"error": report.detail})
        return FileResult(report, meta_findings([op], ctx.config), [])
    source = node.text() or ""

    outcome: RenderOutcome | None = None
    if failure is not None:
        outcome = RenderOutcome(ok=False, reason=f"internal error ({failure.kind})",
                                detail=f"{failure.kind}: {failure.message}",
                                hint="a bug in Sluice; please report it with this revision")
        report.status, report.reason = "static", outcome.reason
        report.detail, report.hint = outcome.detail, outcome.hint
    elif rendered is not None:
        outcome = rendered
        for ops in outcome.ops.values():
            for o in ops:
                o.path, o.revision = path, node.revision
        report.statements = outcome.statements
        report.notes = outcome.notes
        report.dialects = outcome.dialects
        if outcome.ok:
            report.status = "rendered"
        else:
            report.status = "static"
            report.reason, report.detail, report.hint = (outcome.reason, outcome.detail,
                                                         outcome.hint)
    elif needs and ctx.render and (stop := offline_failure(static.ops)) is not None:
        outcome = RenderOutcome(
            ok=False, reason=REASON_BIND_READS, line=stop.line,
            detail=f"a read through op.get_bind() (.{stop.args.get('how')}() at line "
                   f"{stop.line}) needs a row, and offline a read returns none",
            hint="data read from the database is not available offline; the revision is "
                 "analysed statically")
        report.status, report.reason = "static", outcome.reason
        report.detail, report.hint = outcome.detail, outcome.hint
    elif needs:
        report.status = "static"
        report.reason = REASON_DISABLED
    else:
        report.status = "static"  # the source says everything: read statically

    arms, branch_lines, static_ops = _dialect_branches(source, static, outcome)
    static.tree = None  # done with it; the ops are what is kept
    # the op list each dialect sees; dialects whose render (or lack of it) is the same share it
    groups: dict[tuple[str | None, bool, str | None], tuple[list[Op], list[str]]] = {}
    # operations of a plugin that runs on one dialect only (sluice.lint.static.plugins)
    limited = any(o.kind == "execute" and "dialect" in o.args for o in static_ops)
    for dialect in ctx.dialects:
        used: str | None = None
        if outcome is not None and outcome.ok:
            if dialect in outcome.ops:
                used = dialect
            elif dialect not in outcome.failed:
                used = outcome.dialects[0]  # the code does not depend on the dialect
        pruned = used == dialect and bool(branch_lines)
        key = (used, pruned, dialect if limited else None)
        if key not in groups:
            ops = static_ops
            if limited:
                ops = [o for o in ops if o.args.get("dialect", dialect) == dialect]
            if used is not None:
                ops = merge_ops(ops, outcome.ops[used],  # type: ignore[union-attr]
                                outcome.phases.get(used, []),  # type: ignore[union-attr]
                                branch_lines if pruned else set(), arms)
            groups[key] = (ops, [])
        groups[key][1].append(dialect)
    raw: list[Finding] = []
    for ops, dialects in groups.values():
        phases = [[o for o in ops if o.phase == p] for p in ("upgrade", "downgrade")]
        # rules that cover every dialect of the group run once for all of them
        for phase_ops in phases:
            if not phase_ops:
                continue
            shared = ctx.shared_rules(dialects)
            if shared.rules:
                found = run_rules(phase_ops, ctx.config, dialect=dialects[0], rules=shared)
                if len(dialects) > 1:
                    found = [replace(f, dialect=None) for f in found]
                raw.extend(found)
            for dialect in dialects:
                specific = ctx.specific_rules(dialects, dialect)
                if specific.rules:
                    raw.extend(run_rules(phase_ops, ctx.config, dialect=dialect,
                                         rules=specific))
    if outcome is not None and not outcome.ok and (ctx.render or failure is not None):
        raw.extend(meta_findings([Op(
            "lint.static_only", line=outcome.line or 1, path=path, revision=node.revision,
            args={"reason": outcome.reason, "detail": outcome.detail, "hint": outcome.hint},
        )], ctx.config))
    findings = dedup_findings(raw, ctx.dialects)
    suppressions = parse_suppressions(source)
    kept, silenced = apply_suppressions(findings, suppressions)
    if suppressions:
        kept.extend(meta_findings(
            suppression_ops(suppressions, path=path, revision=node.revision,
                            known=ctx.known_rules), ctx.config))
    return FileResult(report, kept, silenced)


def _duplicate_findings(node: Node, nodes: list[Node], config: SluiceConfig,
                        root: Path) -> list[Finding]:
    """SL905 for ``node`` when another revision file declares the same id."""
    if not node.revision:
        return []
    others = [str(display_path(n.path, root)) for n in nodes
              if n is not node and n.revision == node.revision]
    if not others:
        return []
    source = node.text() or ""
    m = re.search(r"^revision\s*(?::[^=\n]*)?=", source, re.M)
    line = source.count("\n", 0, m.start()) + 1 if m else 1
    return meta_findings([Op("lint.duplicate_revision", line=line, path=str(node.path),
                              revision=node.revision, args={"others": others})], config)


def duplicate_findings(nodes: list[Node], indexes: Iterable[int], config: SluiceConfig,
                root: Path) -> list[Finding]:
    """SL905 for every revision in ``indexes`` whose id another file declares too, and
    SL906 for a ``down_revision`` no file declares and for a cycle."""
    indexes = list(indexes)
    out = _link_findings(nodes, indexes, config)
    repeated = {r for r, c in Counter(n.revision for n in nodes).items() if r and c > 1}
    for i in indexes if repeated else ():
        if nodes[i].revision in repeated:
            out.extend(_duplicate_findings(nodes[i], nodes, config, root))
    return out


def _down_line(node: Node) -> int:
    m = re.search(r"^down_revision\s*(?::[^=\n]*)?=", node.text() or "", re.M)
    return (node.text() or "").count("\n", 0, m.start()) + 1 if m else 1


def _link_findings(nodes: list[Node], indexes: list[int],
                   config: SluiceConfig) -> list[Finding]:
    """SL906: links to no revision (on the linted revisions), and the first cycle."""
    known = {n.revision for n in nodes if n.revision}
    ops = [Op("lint.broken_link", line=_down_line(nodes[i]), path=str(nodes[i].path),
              revision=nodes[i].revision, args={"missing": missing[0]})
           for i in indexes
           if (missing := [d for d in nodes[i].down if d not in known])]
    graph = {n.revision: [d for d in n.down if d in known] for n in nodes if n.revision}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = list(reversed(exc.args[1]))  # child -> parent, as down_revision reads
        first = next((nodes[i] for i in indexes if nodes[i].revision in cycle), None)
        if first is not None:
            start = cycle.index(first.revision)
            ordered = cycle[start:-1] + cycle[:start] + [first.revision]
            ops.append(Op("lint.broken_link", line=_down_line(first), path=str(first.path),
                          revision=first.revision, args={"cycle": ordered}))
    return meta_findings(ops, config) if ops else []
