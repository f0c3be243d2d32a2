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
3. **Render layer** (:mod:`sluice.lint.render`), only where static analysis cannot decide
   alone (SQL built at run time, imported code, dialect branches, custom operations ...:
   :mod:`sluice.lint.needs`; a revision without any is read statically, and the coverage
   line counts both), one after another or in a process pool when many revisions need it
   (:mod:`sluice.lint.pool`): the revision is run offline in a real
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
(layout, revision files, which of them are linted), :mod:`sluice.lint.analyze` (one file
through both layers), :mod:`sluice.lint.context` (what the
files of one lint share: rules per dialect, the renderer, the cache key),
:mod:`sluice.lint.merge` (static + rendered ops, one finding per rule and line) and
:mod:`sluice.lint.results` (what is returned); this module drives them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sluice.config import SluiceConfig, load_config
from sluice.core.history import revision_paths
from sluice.core.suggest import Invocation
from sluice.core.sumfile import section_slug, section_sum_file
from sluice.errors import SluiceError
from sluice.lint import sqlmemo
from sluice.lint.analyze import analyze_file, duplicate_findings, render_job
from sluice.lint.cache import (
    LintCache,
    pack_findings,
    pack_report,
    unpack_findings,
)
from sluice.lint.context import RunContext, config_key
from sluice.lint.dialects import DialectChoice, choose_dialects
from sluice.lint.merge import copy_finding, merge_ops
from sluice.lint.model import Finding
from sluice.lint.registry import all_rules
from sluice.lint.render import RenderOutcome
from sluice.lint.results import Coverage, LintResult, RevisionReport
from sluice.lint.scope import (
    Layout,
    Node,
    changed_files,
    read_layout,
    read_node,
    reviewed_files,
    select_revisions,
    static_result,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sluice.lint.jsonparts import Encode
    from sluice.lint.pool import RendererSpec, RenderJob, RenderResult

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


# --------------------------------------------------------------------------- one lint


@dataclass
class _Pending:
    """A file to analyse, in report order: from the cache, or with what rendering needs."""

    node: Node
    done: int
    total: int
    entry: dict[str, Any] | None = None
    ctx: RunContext | None = None
    needs: list[str] = field(default_factory=list)
    job: RenderJob | None = None


def _drop_tree(item: _Pending) -> None:
    if item.node.static is not None:
        item.node.static.tree = None


class _Run:
    """One lint in progress: a context per set of dialects, the cache, the files to
    analyse and what they produced, in order.

    Files are analysed in three passes: :meth:`add` reads each one statically and decides
    whether it needs rendering; :meth:`finish` renders those (in a process pool when many
    do, :mod:`sluice.lint.pool`), then runs the rules file by file."""

    def __init__(self, config: SluiceConfig, layout: Layout, choice: DialectChoice, *,
                 render: bool, stubs: list[str], known: set[str], sql: bool,
                 render_all: bool, cache: LintCache,
                 progress: Callable[[int, int], None] | None,
                 spec: Callable[[], RendererSpec]) -> None:
        self.config, self.layout, self.choice = config, layout, choice
        self.render, self.stubs, self.known, self.sql = render, stubs, known, sql
        self.render_all = render_all
        self.cache, self.progress, self.spec = cache, progress, spec
        self.contexts: dict[tuple[str, ...], RunContext] = {}
        self.current: RunContext | None = None
        self.used_locations: list[Path | None] = []
        self.pending: list[_Pending] = []
        self.jobs: list[RenderJob] = []
        self.render_processes = 0
        self.findings: list[Finding] = []
        self.suppressed: list[Finding] = []
        self.reports: list[RevisionReport] = []
        #: Per report: its cache entry's path and its number of findings.
        self.files: list[str] = []
        self.counts: list[int] = []
        self.coverage = Coverage()
        self.cwd = str(Path.cwd())
        #: Paths under it are shown relative to it.
        self.prefix = self.cwd.rstrip(os.sep) + os.sep

    def context_for(self, node: Node) -> RunContext:
        wanted = self.choice.for_location(node.location)
        ctx = self.contexts.get(tuple(wanted))
        if ctx is None:
            ctx = self.contexts[tuple(wanted)] = RunContext(
                config=self.config, layout=self.layout, dialects=list(wanted),
                render=self.render, stub_modules=self.stubs, known_rules=self.known,
                sql=self.sql, render_all=self.render_all,
                named=self.choice.named or node.location in self.choice.by_location)
        return ctx

    def add(self, node: Node, done: int, total: int) -> None:
        """Queue ``node``: read it statically and decide whether it needs rendering."""
        self.used_locations.append(node.location)
        item = _Pending(node, done, total, entry=self.cache.get(node.file, node.digest))
        if item.entry is None:
            item.ctx = self.context_for(node)
            try:
                item.needs, item.job = render_job(len(self.pending), node, item.ctx)
            except Exception:  # a bug of ours: :meth:`_analyse` says so
                item.needs, item.job = [], None
            if item.job is not None:
                self.jobs.append(item.job)
            # a parsed module is kept only for rendering it in this process; a pool
            # renders from the files
            if item.job is None:
                _drop_tree(item)
            else:
                from sluice.lint import pool  # lazy: only when a revision is to render

                threshold = pool.POOL_THRESHOLD
                if len(self.jobs) > threshold:
                    _drop_tree(item)
                elif len(self.jobs) == threshold:
                    for held in [*self.pending, item]:
                        _drop_tree(held)
        self.pending.append(item)

    def finish(self) -> None:
        """Render what needs it, then run the rules on every queued file, in order."""
        results: dict[int, RenderResult] = {}
        if self.jobs:
            from sluice.lint.pool import render_jobs  # lazy: only when revisions are to render

            outcomes, self.render_processes = render_jobs(self.jobs, self.spec(), self._render)
            results = {job.index: r for job, r in zip(self.jobs, outcomes, strict=True)}
        for index, item in enumerate(self.pending):
            self._analyse(item, results.get(index))
        self.pending, self.jobs = [], []

    def _render(self, job: RenderJob) -> RenderOutcome:
        """Render one job in this process (one renderer open at a time: each patches
        Alembic)."""
        item = self.pending[job.index]
        ctx = item.ctx
        assert ctx is not None
        if self.current is not None and self.current is not ctx:
            self.current.close()
        self.current = ctx
        static = static_result(item.node)
        return ctx.get_renderer().render(
            item.node.path, downgrade=job.downgrade, all_dialects=job.all_dialects,
            tree=static.tree,
            content=item.node.content if static.tree is not None else None,
        )

    def _analyse(self, item: _Pending, rendered: RenderResult | None) -> None:
        node, entry, cache = item.node, item.entry, self.cache
        if entry is not None:
            path = node.file
            report = RevisionReport.from_dict(entry["report"], path)  # packed: no path
            report.cached = True
            if entry.get("stamp") != node.stamp:  # read and hashed: stamp it for next time
                cache.restamp(path, node.stamp)
            # the path as lint_project shows it (relative to the working directory)
            prefix = self.prefix
            shown = path[len(prefix):] if path.startswith(prefix) else path
            rows = entry.get("findings")
            file_findings = unpack_findings(rows, shown) if rows else []
            rows = entry.get("suppressed")
            file_suppressed = unpack_findings(rows, shown) if rows else []
        else:
            ctx = item.ctx
            assert ctx is not None
            try:
                if rendered is not None and not isinstance(rendered, RenderOutcome):  # a Crash
                    result = analyze_file(node, ctx, None, item.needs, failure=rendered)
                else:
                    result = analyze_file(node, ctx, rendered, item.needs)
            except Exception as exc:  # a bug of ours must not hide the other files
                from sluice.lint.pool import Crash  # lazy: only after such a bug

                result = analyze_file(node, ctx, None, item.needs, failure=Crash.of(exc))
            report, file_findings, file_suppressed = (result.report, result.findings,
                                                      result.suppressed)
            if cache.enabled:
                path = node.file
                packed: dict[str, Any] = {"report": pack_report(report.as_dict())}
                if file_findings:
                    packed["findings"] = pack_findings(file_findings, path)
                if file_suppressed:
                    packed["suppressed"] = pack_findings(file_suppressed, path)
                cache.put(path, node.digest, node.stamp, packed)
        self.reports.append(report)
        self.files.append(node.file)
        self.counts.append(len(file_findings))
        self.coverage.add(report)
        self.findings.extend(file_findings)
        self.suppressed.extend(file_suppressed)
        if self.progress is not None:
            self.progress(item.done, item.total)

    def close(self) -> None:
        for ctx in self.contexts.values():
            ctx.close()


def _shown(finding: Finding, prefix: str) -> Finding:
    """``finding`` with its path relative to the working folder (``prefix``: its path and
    a separator) when it is inside it."""
    if not finding.path:
        return finding
    if not finding.path.startswith(prefix):
        return finding
    return copy_finding(finding, path=finding.path[len(prefix):])


def _open_cache(config: SluiceConfig, layout: Layout, choice: DialectChoice, stubs: list[str],
                render: bool | str, x_args: Sequence[str], sql: bool,
                use_cache: bool) -> LintCache:
    cache_dir = None
    if use_cache and config.lint.cache_dir:
        cache_dir = Path(config.lint.cache_dir)
        if not cache_dir.is_absolute():
            cache_dir = layout.root / cache_dir
        if layout.section != "alembic":  # its own entries: a lint prunes files it did not read
            cache_dir = cache_dir / f"section-{section_slug(layout.section)}"
    dialect_key = choice.all() + [f"{loc}={d}" for loc, d in choice.by_location.items()] \
        + ([] if choice.named else [choice.origin])
    return LintCache(cache_dir, config_key(config, dialect_key, stubs, render, x_args, sql)
                     if cache_dir is not None else "")


def _notes(run: _Run, config: SluiceConfig, scoped_baseline: bool,
           reviewed: set[str] | None, skipped: int, given: Invocation) -> list[str]:
    """Lines for people after the coverage line (``given``: the options the commands they
    name repeat)."""
    where = f"{config.file_name}: {config.table('lint')}"
    notes = [n for n in (run.choice.note(run.used_locations, where=where),) if n]
    # (the mysql family's verdicts depend on the server version: said once, not per finding)
    mysql_family = {r.id for r in all_rules().values() if r.family == "mysql"}
    if run.choice.named and config.lint.target_mysql_version is None and any(
            f.rule in mysql_family for f in run.findings):
        notes.append("note: the MySQL findings assume MySQL 8.0 (lint.target_mysql_version "
                     f"is unset); name your server in {where} target_mysql_version = "
                     "\"8.0.36\" (or \"mariadb-10.11\")")
    if scoped_baseline:
        section = run.layout.section
        sum_file = section_sum_file(config.check.sum_file, section)
        if reviewed is None:
            notes.append(f"note: no {sum_file}: every revision was linted, old "
                         "ones included; to count today's history as reviewed and lint only "
                         f"newer revisions from now on, run {given.sluice('lock')} and commit "
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
    ini_section: str = "alembic",
    use_cache: bool = True,
    render: bool | None = None,
    render_all: bool = False,
    sql: bool = False,
    progress: Callable[[int, int], None] | None = None,
    baseline: bool = False,
    json_parts: Encode | None = None,
    json_key: str = "",
    given: Invocation | None = None,
) -> LintResult:
    """Lint the revisions of the Alembic project of ``ini_path``.

    Scope (at most one of ``revisions``, ``since``, ``changed_base``, ``paths``; default:
    all):
    ``revisions``: what ``alembic upgrade`` takes (ids, unique prefixes, ``heads``, branch
    labels, ``label@head``, ``3f2a+1``, ``head-1``; see
    :meth:`sluice.core.history.History.resolve`); ``since``: revisions after that one
    (its descendants); ``changed_base``: files git sees as changed against that ref
    (True: origin/main, main, origin/master or master), untracked included;
    ``paths``: these files (files that are not revisions of the project are ignored).
    ``trees`` (default ``lint.trees``; empty: all) restricts to version locations or
    branch-labelled trees. ``dialects`` (default ``lint.dialects``) filters the dialects.
    ``stub_modules`` adds to ``lint.stub_modules``; ``render=False`` skips the render layer
    (default ``lint.render``); it renders only the revisions static analysis cannot decide
    alone (:mod:`sluice.lint.needs`), in a process pool when many do
    (:mod:`sluice.lint.pool`); ``render_all=True`` renders every revision (to cross-check
    the two layers). ``sql=True`` also compiles every operation to SQL for every
    rendered dialect and renders downgrades (``RevisionReport.statements``; what ``plan``
    shows); without it only raw SQL and bind executes are compiled, which is all the rules
    need. ``progress(done, total)`` is called per analysed file. ``baseline=True`` (what
    ``sluice lint`` without a scope does): revision files recorded in ``sluice.sum`` with
    an unchanged checksum are reviewed history and are not linted; without a sum file
    every revision is, and :attr:`LintResult.notes` says how to record one.
    ``json_parts`` (with the cache on): the JSON text of the findings and revision records
    in :attr:`LintResult.json_findings` and ``json_revisions``, kept in the cache
    (:mod:`sluice.lint.jsonparts`; ``json_key``: the encoder's version, added to the key).
    ``given``: the options of the command linting (``-c``, ``-n``, ``-x``, ``--env``), which
    the commands the notes and errors name repeat (default: ``-n ini_section`` alone).

    Raises :class:`SluiceError` for unusable input (missing alembic.ini, unknown revision,
    not a git repository for ``changed_base``); a broken revision is a finding, never an
    exception.
    """
    if sum(x is not None and x is not False
           for x in (revisions, since, changed_base, paths)) > 1:
        raise SluiceError("choose one scope: revisions, since, changed files or paths")
    layout = read_layout(ini_path, x_args=x_args, ini_section=ini_section)
    given = given or Invocation(ini_section=ini_section)
    if config is None:
        config = load_config(layout.ini_path)
    lint_cfg = config.lint
    choice = choose_dialects(explicit=dialects, configured=lint_cfg.dialects, url=layout.url,
                             url_origin=layout.url_origin,
                             locations=layout.version_locations)
    chosen = choice.all()
    do_render = lint_cfg.render if render is None else render
    stubs = list(dict.fromkeys([*lint_cfg.stub_modules, *stub_modules]))


    rules = all_rules()
    known = {r.id.lower() for r in rules.values()} | {r.name for r in rules.values()}

    files = revision_paths(layout.version_locations, recursive=layout.recursive)
    cache = _open_cache(config, layout, choice, stubs,
                        "all" if do_render and render_all else do_render, x_args, sql, use_cache)
    sqlmemo.keep(cache.folder)

    tree_names = list(trees) if trees is not None else list(lint_cfg.trees)
    # (trees from the configuration: an unknown one is its file, line and key's error)
    trees_where = config.where("lint.trees") if trees is None and tree_names else None
    unscoped = not (revisions or since is not None or changed_base not in (None, False)
                    or paths is not None)
    whole = unscoped and not tree_names
    reviewed: set[str] | None = None
    if baseline and unscoped:
        reviewed = reviewed_files(layout, config, given=given)
        if reviewed is not None:
            whole = False
    def spec() -> RendererSpec:
        from sluice.lint.pool import RendererSpec  # lazy: only when revisions are to render

        return RendererSpec(ini_path=str(layout.ini_path), x_args=tuple(x_args),
                            stub_modules=tuple(stubs), sql=sql, ini_section=ini_section)

    run = _Run(config, layout, choice, render=do_render, stubs=stubs, known=known, sql=sql,
               render_all=render_all, cache=cache, progress=progress, spec=spec)
    nodes: list[Node] = []
    try:
        for path in files:
            node = read_node(path, layout, cache, whole)
            nodes.append(node)
            if whole:
                # everything is analysed in file order: read each file statically as it
                # is read, so that only the parsed modules rendering needs stay alive
                run.add(node, len(nodes), len(files))
        selected = select_revisions(nodes, layout, trees=tree_names, revisions=revisions,
                                    since=since, paths=paths, changed_base=changed_base,
                                    trees_where=trees_where)
        skipped = 0
        if reviewed is not None:
            before = len(selected)
            selected = {i for i in selected if nodes[i].file not in reviewed}
            skipped = before - len(selected)
        if not whole:
            order = sorted(selected)
            for done, i in enumerate(order, 1):
                run.add(nodes[i], done, len(order))
        run.finish()
        analysed = range(len(nodes)) if whole else sorted(selected)
        run.findings.extend(duplicate_findings(nodes, analysed, config, layout.root))
    finally:
        run.close()
    cache.prune({n.file for n in nodes})

    prefix = run.prefix
    run.findings[:] = [_shown(f, prefix) for f in run.findings]
    run.suppressed[:] = [_shown(f, prefix) for f in run.suppressed]
    for r in run.reports:
        if r.path.startswith(prefix):
            r.path = r.path[len(prefix):]
    json_findings = json_revisions = None
    if json_parts is not None and cache.enabled:
        from sluice.lint.jsonparts import sort_encoded  # lazy: --format json only

        json_findings, json_revisions = sort_encoded(
            run.findings, run.reports, run.files, run.counts, cache, prefix, json_parts,
            json_key)
    else:
        run.findings.sort(key=lambda f: (f.path or "", f.line or 0, f.rule))
    cache.save()
    sqlmemo.save(cache.folder)
    run.coverage.dialects = choice.describe(run.used_locations or None, root=layout.root)
    notes = _notes(run, config, baseline and unscoped, reviewed, skipped, given)
    return LintResult(findings=run.findings, coverage=run.coverage, revisions=run.reports,
                      suppressed=run.suppressed, dialects=chosen, cache_hits=cache.hits,
                      cache_misses=cache.misses, notes=notes,
                      baseline=skipped if reviewed is not None else None,
                      render_processes=run.render_processes,
                      json_findings=json_findings, json_revisions=json_revisions)
