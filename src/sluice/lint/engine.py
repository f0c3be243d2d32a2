"""The lint engine: find revisions, analyse them in two layers, run the rule catalog.

Public API (stable; ``sluice plan`` and ``sluice check`` build on it)::

    from sluice.lint.engine import lint_project

    result = lint_project("alembic.ini", config,            # config: SluiceConfig or None
                          revisions=["ae1027a6acf"],        # or since="ae10", or
                          changed_base=True,                # True: origin/main, else a ref
                          dialects=["postgresql"],          # default: lint.dialects
                          trees=["expand"])                 # default: lint.trees / all
    result.findings      # list[Finding], deduplicated, suppressions applied, sorted
    result.coverage      # Coverage: .line() -> "N revisions: R rendered, S static only ..."
    result.revisions     # list[RevisionReport]: path, id, status, reason, rendered SQL
    result.failed("error")  # any finding at or above that severity

How it works, per revision file (never importing a file to discover it):

1. **Discovery** reads alembic.ini like Alembic does (:func:`sluice.core.project.read_locations`)
   and lists the revision files (:func:`sluice.core.history.revision_files`). The graph
   (``revision``, ``down_revision``, ``branch_labels``, ``depends_on``) comes from the
   source text (:mod:`sluice.core.history`), so a file that cannot be imported is still
   found and placed; a scope (``--revision``, ``--since``, a branch label in ``trees``)
   is resolved with Alembic's RevisionMap, as ``sluice upgrade`` resolves it.
2. **Static layer** (:mod:`sluice.lint.static`): the ``ast`` of the file gives every
   ``op.*`` call with its line. Works for every file that parses; a file that does not is a
   finding (SL900) and the others go on.
3. **Render layer** (:mod:`sluice.lint.render`): the revision is run offline in a real
   Alembic context for the primary dialect (the one of ``sqlalchemy.url`` when it is among
   the linted dialects), and for every other dialect when its code can depend on the
   dialect (it mentions the dialect, the bind or the context, or imports project code).
   Operations the render layer saw on the same line as a static operation enrich it (SQL
   built at run time, values from imported constants); operations only the render layer
   saw (issued by helpers in imported code) are added; static operations inside a
   ``if ... dialect ... == "x"`` branch that rendering shows was not taken are dropped for
   that dialect. When rendering fails, the revision keeps its static operations and the
   reason is counted in the coverage line (and reported as an info finding, SL903).
4. **Rules** run once per dialect over the merged operations of each phase; findings for
   the same rule, file and line (across dialects and layers) are reported once.
5. **Suppressions** (:mod:`sluice.lint.suppress`) are applied; misuse of them is reported.

Results are cached per file (:mod:`sluice.lint.cache`). The pieces: :mod:`sluice.lint.scope`
(layout, revision files, which of them are linted), :mod:`sluice.lint.context` (what the
files of one lint share: rules per dialect, the renderer, the cache key),
:mod:`sluice.lint.merge` (static + rendered ops, one finding per rule and line) and
:mod:`sluice.lint.results` (what is returned); this module drives them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sluice.config import SluiceConfig, load_config
from sluice.core.history import revision_files
from sluice.errors import SluiceError
from sluice.lint.cache import LintCache
from sluice.lint.context import RunContext, config_key, meta_findings
from sluice.lint.dialects import DialectChoice, choose_dialects
from sluice.lint.merge import dedup_findings, dialect_branch_lines, dialect_sensitive, merge_ops
from sluice.lint.model import Finding, Op
from sluice.lint.render import REASON_DISABLED, RenderOutcome
from sluice.lint.results import Coverage, LintResult, RevisionReport
from sluice.lint.scope import (
    Layout,
    Node,
    changed_files,
    display_path,
    display_str,
    read_layout,
    read_node,
    reviewed_files,
    select_revisions,
    static_result,
)
from sluice.lint.suppress import apply_suppressions, parse_suppressions, suppression_ops

__all__ = [
    "Coverage",
    "Layout",
    "LintResult",
    "RevisionReport",
    "changed_files",
    "lint_project",
    "merge_ops",
    "read_layout",
]


# --------------------------------------------------------------------------- one file


@dataclass
class _FileResult:
    report: RevisionReport
    findings: list[Finding]
    suppressed: list[Finding]


def _analyze(node: Node, ctx: RunContext, failure: Exception | None = None) -> _FileResult:
    """Both layers, rules, suppressions for one file. ``failure``: analysing it with the
    render layer raised (a bug in Sluice); analyse statically and say so."""
    from sluice.lint.registry import run_rules

    path = str(node.path)
    static = static_result(node)
    report = RevisionReport(path=path, revision=node.revision, down_revision=node.down_raw,
                            branch_labels=node.labels, depends_on=node.depends)
    if static.error:
        report.status = "unparsed"
        report.reason = "syntax error"
        m = re.match(r"^.*?:(\d+): (.*)$", static.error)
        line = int(m.group(1)) if m else 1
        report.detail = m.group(2) if m else static.error
        op = Op("lint.parse_error", line=max(line, 1), path=path, revision=node.revision,
                args={"error": report.detail})
        return _FileResult(report, meta_findings([op], ctx.config), [])
    source = node.text() or ""

    outcome: RenderOutcome | None = None
    if failure is not None:
        outcome = RenderOutcome(ok=False, reason=f"internal error ({type(failure).__name__})",
                                detail=f"{type(failure).__name__}: {failure}",
                                hint="a bug in Sluice; please report it with this revision")
        report.status, report.reason = "static", outcome.reason
        report.detail, report.hint = outcome.detail, outcome.hint
    elif ctx.render:
        sensitive = dialect_sensitive(source) or any(
            o.kind == "script.import" for o in static.ops)
        down_kind = next((o.args.get("kind") for o in static.ops
                          if o.kind == "script.downgrade"), None)
        outcome = ctx.get_renderer().render(
            node.path,
            downgrade=ctx.config.downgrades != "none" and down_kind == "ops",
            all_dialects=sensitive and len(ctx.dialects) > 1,
            tree=static.tree,
            content=node.content if static.tree is not None else None,
        )
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
    else:
        report.status = "static"
        report.reason = REASON_DISABLED

    branch_lines = (dialect_branch_lines(source, static.tree)
                    if outcome is not None and outcome.ok else set())
    static.tree = None  # done with it; the ops are what is kept
    # the op list each dialect sees; dialects whose render (or lack of it) is the same share it
    groups: dict[tuple[str | None, bool], tuple[list[Op], list[str]]] = {}
    for dialect in ctx.dialects:
        used: str | None = None
        if outcome is not None and outcome.ok:
            if dialect in outcome.ops:
                used = dialect
            elif dialect not in outcome.failed:
                used = outcome.dialects[0]  # the code does not depend on the dialect
        pruned = used == dialect and bool(branch_lines)
        key = (used, pruned)
        if key not in groups:
            ops = static.ops
            if used is not None:
                ops = merge_ops(static.ops, outcome.ops[used],  # type: ignore[union-attr]
                                outcome.phases.get(used, []),  # type: ignore[union-attr]
                                branch_lines if pruned else set())
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
                    for f in found:
                        f.dialect = None
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
    return _FileResult(report, kept, silenced)


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


# --------------------------------------------------------------------------- one lint


class _Run:
    """One lint in progress: a context per set of dialects (one renderer open at a time),
    the cache, and what the analysed files produced, in order."""

    def __init__(self, config: SluiceConfig, layout: Layout, choice: DialectChoice, *,
                 render: bool, stubs: list[str], known: set[str], sql: bool,
                 cache: LintCache, progress: Callable[[int, int], None] | None) -> None:
        self.config, self.layout, self.choice = config, layout, choice
        self.render, self.stubs, self.known, self.sql = render, stubs, known, sql
        self.cache, self.progress = cache, progress
        self.contexts: dict[tuple[str, ...], RunContext] = {}
        self.current: RunContext | None = None
        self.used_locations: list[Path | None] = []
        self.findings: list[Finding] = []
        self.suppressed: list[Finding] = []
        self.reports: list[RevisionReport] = []
        self.coverage = Coverage()

    def context_for(self, node: Node) -> RunContext:
        wanted = self.choice.for_location(node.location)
        ctx = self.contexts.get(tuple(wanted))
        if ctx is None:
            ctx = self.contexts[tuple(wanted)] = RunContext(
                config=self.config, layout=self.layout, dialects=list(wanted),
                render=self.render, stub_modules=self.stubs, known_rules=self.known,
                sql=self.sql)
        if self.current is not None and self.current is not ctx:
            self.current.close()  # one renderer open at a time (each patches Alembic)
        self.current = ctx
        return ctx

    def analyse(self, node: Node, done: int, total: int) -> None:
        self.used_locations.append(node.location)
        cache = self.cache
        entry = cache.get(str(node.path), node.digest)
        if entry is not None:
            report = RevisionReport.from_dict(entry["report"])
            report.cached = True
            file_findings = [Finding(**f) for f in entry["findings"]]
            file_suppressed = [Finding(**f) for f in entry["suppressed"]]
        else:
            ctx = self.context_for(node)
            try:
                result = _analyze(node, ctx)
            except Exception as exc:  # a bug of ours must not hide the other files
                result = _analyze(node, ctx, failure=exc)
            report, file_findings, file_suppressed = (result.report, result.findings,
                                                      result.suppressed)
            if cache.enabled:
                cache.put(str(node.path), node.digest, node.stamp, {
                    "report": report.as_dict(),
                    "findings": [f.as_dict() for f in file_findings],
                    "suppressed": [f.as_dict() for f in file_suppressed],
                })
        self.reports.append(report)
        self.coverage.add(report)
        self.findings.extend(file_findings)
        self.suppressed.extend(file_suppressed)
        if self.progress is not None:
            self.progress(done, total)

    def close(self) -> None:
        for ctx in self.contexts.values():
            ctx.close()


def _open_cache(config: SluiceConfig, layout: Layout, choice: DialectChoice, stubs: list[str],
                render: bool, x_args: Sequence[str], sql: bool, use_cache: bool) -> LintCache:
    cache_dir = None
    if use_cache and config.lint.cache_dir:
        cache_dir = Path(config.lint.cache_dir)
        if not cache_dir.is_absolute():
            cache_dir = layout.root / cache_dir
    dialect_key = choice.all() + [f"{loc}={d}" for loc, d in choice.by_location.items()]
    return LintCache(cache_dir, config_key(config, dialect_key, stubs, render, x_args, sql)
                     if cache_dir is not None else "")


def _duplicates(nodes: list[Node], indexes: Iterable[int], config: SluiceConfig,
                root: Path) -> list[Finding]:
    """SL905 for every revision in ``indexes`` whose id another file declares too."""
    repeated = {r for r, c in Counter(n.revision for n in nodes).items() if r and c > 1}
    if not repeated:
        return []
    out: list[Finding] = []
    for i in indexes:
        if nodes[i].revision in repeated:
            out.extend(_duplicate_findings(nodes[i], nodes, config, root))
    return out


def _notes(run: _Run, config: SluiceConfig, scoped_baseline: bool,
           reviewed: set[str] | None, skipped: int) -> list[str]:
    """Lines for people after the coverage line."""
    notes = [n for n in (run.choice.note(run.used_locations),) if n]
    if scoped_baseline:
        sum_file = config.check.sum_file
        if reviewed is None:
            notes.append(f"note: no {sum_file}: every revision was linted, old "
                         "ones included; to count today's history as reviewed and lint only "
                         "newer revisions from now on, run `sluice lock` and commit "
                         f"{sum_file}")
        elif skipped:
            notes.append(f"{skipped} revision{'s' if skipped != 1 else ''} recorded in "
                         f"{sum_file} not linted (reviewed history; "
                         "--all lints them too)")
    return notes


def lint_project(
    ini_path: str | Path,
    config: SluiceConfig | None = None,
    *,
    revisions: Sequence[str] | None = None,
    since: str | None = None,
    changed_base: str | bool | None = None,
    paths: Sequence[str | Path] | None = None,
    dialects: Sequence[str] | None = None,
    trees: Sequence[str] | None = None,
    stub_modules: Sequence[str] = (),
    x_args: Sequence[str] = (),
    use_cache: bool = True,
    render: bool | None = None,
    sql: bool = False,
    progress: Callable[[int, int], None] | None = None,
    baseline: bool = False,
) -> LintResult:
    """Lint the revisions of the Alembic project of ``ini_path``.

    Scope (at most one of ``revisions``, ``since``, ``changed_base``, ``paths``; default:
    all):
    ``revisions``: what ``alembic upgrade`` takes (ids, unique prefixes, ``heads``, branch
    labels, ``label@head``, ``3f2a+1``, ``head-1``; see
    :meth:`sluice.core.history.History.resolve`); ``since``: revisions after that one
    (its descendants); ``changed_base``: files git
    sees as changed against that ref (True: origin/main, then main), untracked included;
    ``paths``: these files (files that are not revisions of the project are ignored).
    ``trees`` (default ``lint.trees``; empty: all) restricts to version locations or
    branch-labelled trees. ``dialects`` (default ``lint.dialects``) filters the dialects.
    ``stub_modules`` adds to ``lint.stub_modules``; ``render=False`` skips the render layer
    (default ``lint.render``). ``sql=True`` also compiles every operation to SQL for every
    rendered dialect and renders downgrades (``RevisionReport.statements``; what ``plan``
    shows); without it only raw SQL and bind executes are compiled, which is all the rules
    need. ``progress(done, total)`` is called per analysed file. ``baseline=True`` (what
    ``sluice lint`` without a scope does): revision files recorded in ``sluice.sum`` with
    an unchanged checksum are reviewed history and are not linted; without a sum file
    every revision is, and :attr:`LintResult.notes` says how to record one.

    Raises :class:`SluiceError` for unusable input (missing alembic.ini, unknown revision,
    not a git repository for ``changed_base``); a broken revision is a finding, never an
    exception.
    """
    if sum(x is not None and x is not False
           for x in (revisions, since, changed_base, paths)) > 1:
        raise SluiceError("choose one scope: revisions, since, changed files or paths")
    layout = read_layout(ini_path, x_args=x_args)
    if config is None:
        config = load_config(layout.ini_path)
    lint_cfg = config.lint
    choice = choose_dialects(explicit=dialects, configured=lint_cfg.dialects, url=layout.url,
                             url_origin=layout.url_origin,
                             locations=layout.version_locations)
    chosen = choice.all()
    do_render = lint_cfg.render if render is None else render
    stubs = list(dict.fromkeys([*lint_cfg.stub_modules, *stub_modules]))

    from sluice.lint.registry import all_rules

    rules = all_rules()
    known = {r.id.lower() for r in rules.values()} | {r.name for r in rules.values()}

    files = revision_files(layout.version_locations, recursive=layout.recursive)
    cache = _open_cache(config, layout, choice, stubs, do_render, x_args, sql, use_cache)

    tree_names = list(trees) if trees is not None else list(lint_cfg.trees)
    unscoped = not (revisions or since is not None or changed_base not in (None, False)
                    or paths is not None)
    whole = unscoped and not tree_names
    reviewed: set[str] | None = None
    if baseline and unscoped:
        reviewed = reviewed_files(layout, config)
        if reviewed is not None:
            whole = False
    run = _Run(config, layout, choice, render=do_render, stubs=stubs, known=known, sql=sql,
               cache=cache, progress=progress)
    nodes: list[Node] = []
    try:
        for path in files:
            node = read_node(path, layout, cache, whole)
            nodes.append(node)
            if whole:
                # everything is analysed in file order: analyse each file as it is
                # read, so that only one parsed module is alive at a time
                run.analyse(node, len(nodes), len(files))
        selected = select_revisions(nodes, layout, trees=tree_names, revisions=revisions,
                                    since=since, paths=paths, changed_base=changed_base)
        skipped = 0
        if reviewed is not None:
            before = len(selected)
            selected = {i for i in selected if str(nodes[i].path) not in reviewed}
            skipped = before - len(selected)
        if not whole:
            order = sorted(selected)
            for done, i in enumerate(order, 1):
                run.analyse(nodes[i], done, len(order))
        run.findings.extend(_duplicates(nodes, range(len(nodes)) if whole else sorted(selected),
                                        config, layout.root))
    finally:
        run.close()
    cache.prune({str(n.path) for n in nodes})
    cache.save()

    cwd = str(Path.cwd())
    for f in run.findings + run.suppressed:
        if f.path:
            f.path = display_str(f.path, cwd)
    for r in run.reports:
        r.path = display_str(r.path, cwd)
    run.findings.sort(key=lambda f: (f.path or "", f.line or 0, f.rule))
    run.coverage.dialects = choice.describe(run.used_locations or None, root=layout.root)
    notes = _notes(run, config, baseline and unscoped, reviewed, skipped)
    return LintResult(findings=run.findings, coverage=run.coverage, revisions=run.reports,
                      suppressed=run.suppressed, dialects=chosen, cache_hits=cache.hits,
                      cache_misses=cache.misses, notes=notes,
                      baseline=skipped if reviewed is not None else None)
