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

Results are cached per file (:mod:`sluice.lint.cache`).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import difflib
import hashlib
import json
import os
import re
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sluice.config import SluiceConfig, load_config
from sluice.core.history import (
    History,
    RevisionHeader,
    build_history,
    header_from_source,
    revision_files,
)
from sluice.core.project import alembic_config, read_locations
from sluice.errors import SluiceError
from sluice.lint.cache import LintCache, content_hash
from sluice.lint.dialects import (
    ALIASES,
    choose_dialects,
    env_py_url,
    normalise,
    url_dialect,
    x_url,
)
from sluice.lint.model import SEVERITY_ORDER, Finding, Op
from sluice.lint.render import REASON_DISABLED, RenderedStatement, Renderer, RenderOutcome
from sluice.lint.static import StaticResult, analyze_source, sql_target_table
from sluice.lint.suppress import apply_suppressions, parse_suppressions, suppression_ops

if TYPE_CHECKING:
    from sluice.lint.registry import RuleIndex

__all__ = [
    "Coverage",
    "Layout",
    "LintResult",
    "RevisionReport",
    "changed_files",
    "lint_project",
    "read_layout",
]

_DIALECT_ALIASES = ALIASES
_DEFAULT_BASES = ("origin/main", "main", "origin/master", "master")


# --------------------------------------------------------------------------- results


@dataclass
class RevisionReport:
    """How one revision file was analysed."""

    path: str
    revision: str | None
    down_revision: str | tuple[str, ...] | None = None
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    #: ``rendered``, ``static`` (static layer only) or ``unparsed`` (syntax error).
    status: str = "static"
    #: Short reason when not rendered (the key counted in the coverage line).
    reason: str | None = None
    detail: str | None = None
    hint: str | None = None
    #: Dialects whose upgrade rendered.
    dialects: list[str] = field(default_factory=list)
    #: SQL the revision emitted offline, per dialect and phase, with source lines.
    statements: list[RenderedStatement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Came from the cache.
    cached: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "revision": self.revision,
            "down_revision": self.down_revision,
            "branch_labels": list(self.branch_labels),
            "depends_on": list(self.depends_on),
            "status": self.status,
            "reason": self.reason,
            "detail": self.detail,
            "hint": self.hint,
            "dialects": self.dialects,
            "notes": self.notes,
            "statements": [s.as_dict() for s in self.statements],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RevisionReport:
        down = data.get("down_revision")
        return cls(
            path=data["path"],
            revision=data.get("revision"),
            down_revision=tuple(down) if isinstance(down, list) else down,
            branch_labels=tuple(data.get("branch_labels") or ()),
            depends_on=tuple(data.get("depends_on") or ()),
            status=data.get("status", "static"),
            reason=data.get("reason"),
            detail=data.get("detail"),
            hint=data.get("hint"),
            dialects=list(data.get("dialects") or []),
            notes=list(data.get("notes") or []),
            statements=[RenderedStatement.from_dict(s) for s in data.get("statements") or []],
        )


@dataclass
class Coverage:
    """How many revisions each layer covered, and why rendering failed where it did."""

    total: int = 0
    rendered: int = 0
    static_only: int = 0
    unparsed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    #: The dialects linted and where they came from ("postgresql (sqlalchemy.url)").
    dialects: str = ""

    def add(self, report: RevisionReport) -> None:
        self.total += 1
        if report.status == "rendered":
            self.rendered += 1
        elif report.status == "unparsed":
            self.unparsed += 1
        else:
            self.static_only += 1
            self.reasons[report.reason or "unknown"] += 1

    def line(self) -> str:
        """``N revisions: R rendered, S static only (reasons: ImportError myapp 12, ...)``."""
        noun = "revision" if self.total == 1 else "revisions"
        text = f"{self.total} {noun}: {self.rendered} rendered, {self.static_only} static only"
        if self.reasons:
            parts = ", ".join(f"{k} {v}" for k, v in
                              sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0])))
            text += f" (reasons: {parts})"
        if self.unparsed:
            text += f", {self.unparsed} not parsed (syntax error)"
        if self.dialects:
            text += f"; linted for {self.dialects}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "revisions": self.total,
            "rendered": self.rendered,
            "static_only": self.static_only,
            "unparsed": self.unparsed,
            "reasons": dict(sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            "dialects": self.dialects,
            "line": self.line(),
        }


@dataclass
class LintResult:
    findings: list[Finding]
    coverage: Coverage
    revisions: list[RevisionReport]
    #: Findings silenced by ``# sluice: ignore[...]`` comments.
    suppressed: list[Finding] = field(default_factory=list)
    #: Dialects that were linted, primary first.
    dialects: list[str] = field(default_factory=list)
    cache_hits: int = 0
    cache_misses: int = 0
    #: Lines for people after the coverage line (how to name the dialect, the baseline).
    notes: list[str] = field(default_factory=list)
    #: Revisions left out as reviewed history (``baseline=True`` with a sum file), else None.
    baseline: int | None = None

    def failed(self, fail_on: str) -> bool:
        """Any finding at or above ``fail_on`` (error, warning or info)."""
        threshold = SEVERITY_ORDER[fail_on]
        return any(SEVERITY_ORDER[f.severity] >= threshold for f in self.findings)

    def counts(self) -> dict[str, int]:
        c = Counter(f.severity for f in self.findings)
        return {s: c.get(s, 0) for s in ("error", "warning", "info")}

    def as_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.as_dict() for f in self.findings],
            "summary": {**self.counts(), "suppressed": len(self.suppressed)},
            "coverage": self.coverage.as_dict(),
            "dialects": self.dialects,
            "revisions": [r.as_dict() for r in self.revisions],
        }


# --------------------------------------------------------------------------- layout


@dataclass
class Layout:
    """Where an Alembic project keeps its revisions, read from alembic.ini."""

    ini_path: Path
    root: Path
    script_location: Path
    version_locations: list[Path]
    recursive: bool
    sys_path: list[str]
    #: Dialect of ``sqlalchemy.url`` when it names one Sluice lints.
    url_dialect: str | None
    alembic_cfg: Any
    #: The URL Alembic would use (``-x url=``, else ``sqlalchemy.url``) and where it is set.
    url: str | None = None
    url_origin: str = "sqlalchemy.url"


def read_layout(ini_path: str | Path, *, x_args: Iterable[str] = ()) -> Layout:
    """Read alembic.ini the way Alembic does; one-line :class:`SluiceError` when broken."""
    ini = Path(ini_path)
    cfg = alembic_config(ini, x_args=list(x_args))
    found = read_locations(cfg, ini)
    given = x_url(x_args)
    url, origin = found.url, "-x url" if given else "sqlalchemy.url"
    if not given:
        from_env, env_url, env_name = env_py_url(found.script_location, os.environ)
        if from_env:  # env.py replaces sqlalchemy.url with the variable's value
            url, origin = env_url, f"{env_name} read by env.py"
    return Layout(
        ini_path=ini,
        root=ini.resolve().parent,
        script_location=found.script_location,
        version_locations=found.version_locations,
        recursive=found.recursive,
        sys_path=found.sys_path,
        url_dialect=url_dialect(given or url),
        alembic_cfg=cfg,
        url=given or url,
        url_origin=origin,
    )


# --------------------------------------------------------------------------- graph


@dataclass
class _Node:
    path: Path
    #: File content (None until needed when the cache vouched for it).
    raw: bytes | None
    digest: str
    stamp: list[int] = field(default_factory=list)
    revision: str | None = None
    down: tuple[str, ...] = ()
    down_raw: str | tuple[str, ...] | None = None
    labels: tuple[str, ...] = ()
    depends: tuple[str, ...] = ()
    static: StaticResult | None = None
    location: Path | None = None
    _text: str | None = None
    _decoded: bool = False

    @property
    def content(self) -> bytes:
        if self.raw is None:
            self.raw = self.path.read_bytes()
        return self.raw

    def text(self) -> str | None:
        """The content decoded (None: not UTF-8), decoded once."""
        if not self._decoded:
            self._text = _decode(self.content)
            self._decoded = True
        return self._text


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return ()


def _set_graph(node: _Node, revision: Any, down: Any, labels: Any, depends: Any) -> None:
    node.revision = revision if isinstance(revision, str) else None
    node.down = _as_tuple(down)
    node.down_raw = (down if isinstance(down, str) or down is None
                     else tuple(str(v) for v in down) if isinstance(down, (list, tuple))
                     else None)
    node.labels = _as_tuple(labels)
    node.depends = _as_tuple(depends)


def _decode(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _static(node: _Node) -> StaticResult:
    if node.static is None:
        source = node.text()
        if source is None:
            node.static = StaticResult(path=str(node.path),
                                       error=f"{node.path}:1: syntax error: not UTF-8")
        else:
            node.static = analyze_source(source, str(node.path))
    return node.static


# --------------------------------------------------------------------------- git


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              check=False)
    except OSError as exc:
        raise SluiceError(f"--changed needs git: {exc.strerror or exc}") from None


def changed_files(folder: str | Path, base: str | None = None) -> set[Path]:
    """Files git sees as changed against ``base``: committed since the merge base with it,
    staged, unstaged and untracked. ``base`` defaults to origin/main, then main (then
    origin/master, master)."""
    cwd = Path(folder).resolve()
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise SluiceError(f"--changed needs a git repository: {cwd} is not inside one")
    toplevel = Path(top.stdout.strip())
    candidates = [base] if base else list(_DEFAULT_BASES)
    ref = None
    for cand in candidates:
        if _git(["rev-parse", "--verify", "--quiet", f"{cand}^{{commit}}"], cwd).returncode == 0:
            ref = cand
            break
    if ref is None:
        if base:
            raise SluiceError(f"--base {base}: no such git branch, tag or commit")
        raise SluiceError("--changed: no base branch found (tried "
                          + ", ".join(_DEFAULT_BASES) + "); pass --base REF")
    mb = _git(["merge-base", ref, "HEAD"], cwd)
    start = mb.stdout.strip() if mb.returncode == 0 and mb.stdout.strip() else ref
    diff = _git(["diff", "--name-only", "-z", start, "--"], cwd)
    if diff.returncode != 0:
        raise SluiceError(f"--changed: git diff against {ref} failed: "
                          f"{' '.join(diff.stderr.split())}")
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], cwd)
    names = [n for n in diff.stdout.split("\0") if n]
    # ls-files prints paths relative to cwd, diff relative to the top level
    out = {(toplevel / n).resolve() for n in names}
    out |= {(cwd / n).resolve() for n in untracked.stdout.split("\0") if n}
    return out


# --------------------------------------------------------------------------- analysis


@dataclass
class _Context:
    config: SluiceConfig
    layout: Layout
    dialects: list[str]
    render: bool
    stub_modules: list[str]
    known_rules: set[str]
    sql: bool = False
    renderer: Renderer | None = None
    stack: contextlib.ExitStack | None = None
    _active: list[Any] | None = None
    _split: dict[tuple[str, ...], tuple[RuleIndex, dict[str, RuleIndex]]] = field(
        default_factory=dict)

    def _rules_for(self, dialects: list[str]) -> tuple[RuleIndex, dict[str, RuleIndex]]:
        key = tuple(dialects)
        if key not in self._split:
            from sluice.lint.registry import RuleIndex, active_rules

            if self._active is None:
                self._active = [r for r in active_rules(self.config) if r.family != "meta"]
            shared = [r for r in self._active if set(dialects) <= set(r.dialects)]
            in_shared = {id(r) for r in shared}  # rules are distinct objects
            specific = {d: RuleIndex([r for r in self._active
                                      if id(r) not in in_shared and d in r.dialects])
                        for d in dialects}
            self._split[key] = (RuleIndex(shared), specific)
        return self._split[key]

    def shared_rules(self, dialects: list[str]) -> RuleIndex:
        """Active rules that cover every dialect in ``dialects``."""
        return self._rules_for(dialects)[0]

    def specific_rules(self, dialects: list[str], dialect: str) -> RuleIndex:
        """Active rules for ``dialect`` that do not cover all of ``dialects``."""
        return self._rules_for(dialects)[1][dialect]

    def get_renderer(self) -> Renderer:
        if self.renderer is None:
            self.stack = contextlib.ExitStack()
            self.renderer = self.stack.enter_context(Renderer(
                self.layout.alembic_cfg,
                script_location=self.layout.script_location,
                version_locations=[str(v) for v in self.layout.version_locations],
                dialects=self.dialects,
                stub_modules=self.stub_modules,
                sys_path=self.layout.sys_path,
                project_root=self.layout.root,
                sql=self.sql,
            ))
        return self.renderer

    def close(self) -> None:
        if self.stack is not None:
            self.stack.close()
            self.stack = None
            self.renderer = None


_DIALECT_LITERAL = re.compile(r"""['"](postgresql|postgres|mysql|mariadb|sqlite)['"]""")
_DIALECT_SENSITIVE = re.compile(
    r"dialect|get_bind|get_context|\.engine\b|\bbind\b|connection|context\.config|"
    r"get_x_argument|environ"
)
#: Substrings one of which every match of _DIALECT_SENSITIVE / _DIALECT_LITERAL contains
#: (``in`` is much faster than a regex alternation over the whole file).
_SENSITIVE_HINTS = ("dialect", "get_bind", "get_context", ".engine", "bind", "connection",
                    "context.config", "get_x_argument", "environ")
_DIALECT_HINTS = ("postgres", "mysql", "mariadb", "sqlite")


def _dialect_sensitive(source: str) -> bool:
    """``_DIALECT_SENSITIVE.search(source)``, skipping the regex when it cannot match."""
    return any(h in source for h in _SENSITIVE_HINTS) and bool(_DIALECT_SENSITIVE.search(source))


def _dialect_branch_lines(source: str, tree: ast.Module | None = None) -> set[int]:
    """Lines inside ``if`` branches whose test names a dialect (``tree``: ``source`` parsed)."""
    if not any(h in source for h in _DIALECT_HINTS) or not _DIALECT_LITERAL.search(source):
        return set()
    if tree is None:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return set()
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _DIALECT_LITERAL.search(ast.unparse(node.test)):
            for stmt in node.body + node.orelse:
                lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    return lines


def _unresolved(value: Any) -> bool:
    return value is None or value == "?"


def _enrich(s: Op, r: Op) -> Op:
    """The static op, with what rendering knew and the source did not say."""
    out = Op.__new__(Op)  # dataclasses.replace(s, args=...) without re-running __init__
    out.__dict__.update(s.__dict__)
    out.args = dict(s.args)
    if out.sql is None and r.sql:
        out.sql = r.sql
        if out.table is None:
            out.table = sql_target_table(r.sql.split(";\n", 1)[0])
    for attr in ("table", "column", "schema", "name"):
        if getattr(out, attr) is None and getattr(r, attr) is not None:
            setattr(out, attr, getattr(r, attr))
    for key, value in r.args.items():
        if key not in out.args and value is not None:
            out.args[key] = value
    return out


def merge_ops(static_ops: list[Op], render_ops: list[Op], phases: Iterable[str],
              branch_lines: set[int]) -> list[Op]:
    """One op list from both layers (see the module docstring)."""
    rendered_phases = set(phases)
    pending: dict[tuple[str, int | None, str], list[Op]] = {}
    for r in render_ops:
        pending.setdefault((r.phase, r.line, r.kind), []).append(r)
    out: list[Op] = []
    for s in static_ops:
        if s.phase not in rendered_phases:
            out.append(s)
            continue
        cands = pending.get((s.phase, s.line, s.kind))
        if cands:
            out.append(_enrich(s, cands.pop(0)))
            continue
        if s.line in branch_lines and not s.kind.startswith("script."):
            continue  # in a dialect branch rendering did not take
        out.append(s)
    leftovers = [r for r in render_ops if any(r is c for c in
                                               pending.get((r.phase, r.line, r.kind), []))]
    for r in leftovers:
        if r.kind == "execute" and r.sql and r.table is None:
            r.table = sql_target_table(r.sql.split(";\n", 1)[0])
        idx = None
        for i, o in enumerate(out):
            if o.phase == r.phase and not o.kind.startswith("script.") \
                    and (o.line or 0) <= (r.line or 0):
                idx = i
        if idx is None:
            idx = next((i - 1 for i, o in enumerate(out) if o.phase == r.phase), len(out) - 1)
        out.insert(idx + 1, r)
    # tables created earlier in the same phase (render-only ops need it computed)
    created: dict[str, set[str]] = {"upgrade": set(), "downgrade": set()}
    for o in out:
        bucket = created.setdefault(o.phase, set())
        if o.source == "render" and o.table and o.table in bucket:
            o.table_is_new = True
        if o.kind == "create_table" and o.table:
            bucket.add(o.table)
    return out


@dataclass
class _FileResult:
    report: RevisionReport
    findings: list[Finding]
    suppressed: list[Finding]


def _meta_findings(ops: list[Op], config: SluiceConfig) -> list[Finding]:
    from sluice.lint.registry import active_rules, run_rules

    meta = [r for r in active_rules(config) if r.family == "meta"]
    return run_rules(ops, config, dialect=None, rules=meta) if meta else []


def _analyze(node: _Node, ctx: _Context, failure: Exception | None = None) -> _FileResult:
    """Both layers, rules, suppressions for one file. ``failure``: analysing it with the
    render layer raised (a bug in Sluice); analyse statically and say so."""
    from sluice.lint.registry import run_rules

    path = str(node.path)
    static = _static(node)
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
        return _FileResult(report, _meta_findings([op], ctx.config), [])
    source = node.text() or ""

    outcome: RenderOutcome | None = None
    if failure is not None:
        outcome = RenderOutcome(ok=False, reason=f"internal error ({type(failure).__name__})",
                                detail=f"{type(failure).__name__}: {failure}",
                                hint="a bug in Sluice; please report it with this revision")
        report.status, report.reason = "static", outcome.reason
        report.detail, report.hint = outcome.detail, outcome.hint
    elif ctx.render:
        sensitive = _dialect_sensitive(source) or any(
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

    branch_lines = (_dialect_branch_lines(source, static.tree)
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
        raw.extend(_meta_findings([Op(
            "lint.static_only", line=outcome.line or 1, path=path, revision=node.revision,
            args={"reason": outcome.reason, "detail": outcome.detail, "hint": outcome.hint},
        )], ctx.config))
    findings = _dedup(raw, ctx.dialects)
    suppressions = parse_suppressions(source)
    kept, silenced = apply_suppressions(findings, suppressions)
    if suppressions:
        kept.extend(_meta_findings(
            suppression_ops(suppressions, path=path, revision=node.revision,
                            known=ctx.known_rules), ctx.config))
    return _FileResult(report, kept, silenced)


def _duplicate_findings(node: _Node, nodes: list[_Node], config: SluiceConfig,
                        root: Path) -> list[Finding]:
    """SL905 for ``node`` when another revision file declares the same id."""
    if not node.revision:
        return []
    others = [str(_display(n.path, root)) for n in nodes
              if n is not node and n.revision == node.revision]
    if not others:
        return []
    source = node.text() or ""
    m = re.search(r"^revision\s*(?::[^=\n]*)?=", source, re.M)
    line = source.count("\n", 0, m.start()) + 1 if m else 1
    return _meta_findings([Op("lint.duplicate_revision", line=line, path=str(node.path),
                              revision=node.revision, args={"others": others})], config)


def _dedup(findings: list[Finding], dialects: list[str]) -> list[Finding]:
    """One finding per rule, file, line and target, across dialects and layers."""
    groups: dict[tuple[str, str | None, int | None], list[tuple[Finding, set[str]]]] = {}
    order: list[tuple[str, str | None, int | None]] = []
    for f in findings:
        key = (f.rule, f.path, f.line)
        if key not in groups:
            groups[key] = []
            order.append(key)
        target = f.op.target if f.op is not None else None
        for i, (existing, seen) in enumerate(groups[key]):
            etarget = existing.op.target if existing.op is not None else None
            if etarget == target or _unresolved(target) or _unresolved(etarget):
                seen.update([f.dialect] if f.dialect else dialects)
                if _unresolved(etarget) and not _unresolved(target):
                    groups[key][i] = (f, seen)
                break
        else:
            groups[key].append((f, {f.dialect} if f.dialect else set(dialects)))
    out: list[Finding] = []
    for key in order:
        for f, seen in groups[key]:
            f.dialect = next(iter(seen)) if len(seen) == 1 and len(dialects) > 1 else None
            out.append(f)
    return out


# --------------------------------------------------------------------------- entry point


def _normalise_dialects(values: Iterable[str], origin: str) -> list[str]:
    return normalise(values, origin)


def reviewed_files(layout: Layout, config: SluiceConfig) -> set[str] | None:
    """Real paths of the revision files ``sluice.sum`` records with the checksum they
    still have (reviewed history); None when the project has no sum file."""
    from sluice.check.sumfile import file_digest, parse_sum, sum_path

    path = sum_path(layout.root, config.check.sum_file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SluiceError(f"{path}: cannot read: {exc}") from None
    out: set[str] = set()
    for rel, digest in parse_sum(text).files.items():
        file = layout.root / rel
        with contextlib.suppress(OSError):
            if file_digest(file) == digest:
                out.add(os.path.realpath(file))
    return out


def _rules_fingerprint() -> str:
    """Changes whenever the lint package's code changes (so the cache never goes stale)."""
    import sluice

    parts = [getattr(sluice, "__version__", "0")]
    base = Path(__file__).resolve().parent
    for p in sorted(base.rglob("*.py")):
        with contextlib.suppress(OSError):
            st = p.stat()
            parts.append(f"{p.name}:{st.st_mtime_ns}:{st.st_size}")
    return ";".join(parts)


def _config_key(config: SluiceConfig, dialects: list[str], stubs: list[str], render: bool,
                x_args: Sequence[str], sql: bool) -> str:
    data = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
            if not f.metadata.get("internal")}
    payload = json.dumps({
        "config": _jsonable(data), "dialects": dialects, "stubs": stubs, "render": render,
        "x": list(x_args), "sql": sql, "rules": _rules_fingerprint(),
    }, sort_keys=True, default=str)
    return hashlib.sha1(payload.encode(), usedforsecurity=False).hexdigest()


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.metadata.get("internal")}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _select_trees(history: History, nodes: list[_Node], layout: Layout,
                  trees: Sequence[str]) -> set[int]:
    """Indexes (into ``nodes``) of the revisions in the named trees."""
    selected: set[int] = set()
    labels = history.labels()
    for tree in trees:
        name = tree.strip().rstrip("/")
        locations = _match_locations(name, layout)
        if locations:
            for i, n in enumerate(nodes):
                if any(n.path.is_relative_to(loc) for loc in locations):
                    selected.add(i)
            continue
        if name in labels:
            rev = labels[name]
            ids = {rev} | history.ancestors(rev) | history.descendants(rev)
            selected |= {i for i, n in enumerate(nodes) if n.revision in ids}
            continue
        available = sorted({str(_display(p, layout.root)) for p in layout.version_locations}
                           | set(labels))
        close = difflib.get_close_matches(name, available, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise SluiceError(f"tree '{tree}': not a version location or branch label{hint} "
                          f"(available: {', '.join(available) or 'none'})")
    return selected


def _match_locations(name: str, layout: Layout) -> list[Path]:
    """Every version location ``name`` names: its path, or its folder name, which several
    locations may share (one ``expand`` folder per service: all of them)."""
    found = []
    for loc in layout.version_locations:
        candidates = {str(loc), loc.name, str(_display(loc, layout.root))}
        with contextlib.suppress(OSError):
            if Path(name).resolve() == loc or (layout.root / name).resolve() == loc:
                candidates.add(name)
        if name in candidates:
            found.append(loc)
    return found


def _display(path: Path, root: Path | None = None) -> Path:
    """``path`` relative to the working directory (else ``root``) when it is inside it."""
    text = str(path)
    for base in (str(Path.cwd()), str(root) if root is not None else None):
        if base and text.startswith(base.rstrip(os.sep) + os.sep):
            return Path(text[len(base.rstrip(os.sep)) + 1:])
    return path


def _display_str(text: str, cwd: str) -> str:
    prefix = cwd.rstrip(os.sep) + os.sep
    return text[len(prefix):] if text.startswith(prefix) else text


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
    cache_dir = None
    if use_cache and lint_cfg.cache_dir:
        cache_dir = Path(lint_cfg.cache_dir)
        if not cache_dir.is_absolute():
            cache_dir = layout.root / cache_dir
    dialect_key = chosen + [f"{loc}={d}" for loc, d in choice.by_location.items()]
    cache = LintCache(cache_dir, _config_key(config, dialect_key, stubs, do_render, x_args, sql)
                      if cache_dir is not None else "")

    tree_names = list(trees) if trees is not None else list(lint_cfg.trees)
    unscoped = not (revisions or since is not None or changed_base not in (None, False)
                    or paths is not None)
    whole = unscoped and not tree_names
    reviewed: set[str] | None = None
    if baseline and unscoped:
        reviewed = reviewed_files(layout, config)
        if reviewed is not None:
            whole = False
    contexts: dict[tuple[str, ...], _Context] = {}
    current: list[_Context] = []
    used_locations: list[Path | None] = []

    def context_for(node: _Node) -> _Context:
        wanted = choice.for_location(node.location)
        ctx = contexts.get(tuple(wanted))
        if ctx is None:
            ctx = contexts[tuple(wanted)] = _Context(
                config=config, layout=layout, dialects=list(wanted), render=do_render,
                stub_modules=stubs, known_rules=known, sql=sql)
        if current and current[0] is not ctx:
            current[0].close()  # one renderer open at a time (each patches Alembic)
        current[:] = [ctx]
        return ctx

    findings: list[Finding] = []
    suppressed: list[Finding] = []
    reports: list[RevisionReport] = []
    coverage = Coverage()

    def analyse(node: _Node, done: int, total: int) -> None:
        used_locations.append(node.location)
        entry = cache.get(str(node.path), node.digest)
        if entry is not None:
            report = RevisionReport.from_dict(entry["report"])
            report.cached = True
            file_findings = [Finding(**f) for f in entry["findings"]]
            file_suppressed = [Finding(**f) for f in entry["suppressed"]]
        else:
            ctx = context_for(node)
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
        reports.append(report)
        coverage.add(report)
        findings.extend(file_findings)
        suppressed.extend(file_suppressed)
        if progress is not None:
            progress(done, total)

    try:
        nodes: list[_Node] = []
        for path in files:
            text = str(path)
            try:
                info = os.stat(text)
                stamp = [info.st_size, info.st_mtime_ns]
                # unchanged size and mtime: the content hash the cache recorded still holds
                entry = cache.peek_stamp(text, stamp)
                if entry is not None:
                    raw, digest = None, str(entry["hash"])
                else:
                    with open(text, "rb") as fh:
                        raw = fh.read()
                    # (nothing to look up or store without a cache folder)
                    digest = content_hash(raw) if cache.enabled else ""
                    entry = cache.peek(text, digest)
            except OSError as exc:
                raise SluiceError(f"{path}: cannot read: {exc.strerror or exc}") from None
            node = _Node(path=path, raw=raw, digest=digest, stamp=stamp)
            node.location = next((loc for loc in layout.version_locations
                                  if text.startswith(str(loc).rstrip(os.sep) + os.sep)), None)
            if entry is not None:
                rep = entry["report"]
                _set_graph(node, rep.get("revision"), rep.get("down_revision"),
                           rep.get("branch_labels"), rep.get("depends_on"))
            else:
                # every file is analysed anyway when linting everything: parse it once
                source = node.text()
                head = (_static(node).header if whole or source is None
                        else header_from_source(source, node.path))
                if head is not None:
                    _set_graph(node, head.revision, head.down_revision, head.branch_labels,
                               head.depends_on)
                    if head.syntax_error is not None:
                        node.down_raw = None  # the report shows what a parse could read
            nodes.append(node)
            if whole:
                # everything is analysed in file order: analyse each file as it is
                # read, so that only one parsed module is alive at a time
                analyse(node, len(nodes), len(files))

        history = None
        if tree_names or revisions or (since is not None and since.strip() != "base"):
            history = build_history([
                RevisionHeader(path=n.path, revision=n.revision, down_revisions=n.down,
                               branch_labels=n.labels, depends_on=n.depends)
                for n in nodes], strict=False, root=layout.root)
        selected = set(range(len(nodes)))
        if tree_names:
            assert history is not None
            selected &= _select_trees(history, nodes, layout, tree_names)
        if revisions:
            assert history is not None
            wanted: set[str] = set()
            for spec in revisions:
                wanted |= set(history.resolve(spec, "--revision"))
            selected = {i for i in selected if nodes[i].revision in wanted}
        elif since is not None:
            after: set[str] = set()
            if history is None:  # --since base
                after = {n.revision for n in nodes if n.revision}
            else:
                for rev in history.resolve(since, "--since"):
                    after |= history.descendants(rev)
            selected = {i for i in selected if nodes[i].revision in after
                        or nodes[i].revision is None}
        elif paths is not None:
            wanted_paths = {os.path.realpath(p) for p in paths}
            selected = {i for i in selected if str(nodes[i].path) in wanted_paths}
        elif changed_base is not None and changed_base is not False:
            base = None if changed_base is True else str(changed_base)
            changed = changed_files(layout.root, base)
            selected = {i for i in selected if nodes[i].path in changed}
        skipped = 0
        if reviewed is not None:
            before = len(selected)
            selected = {i for i in selected if str(nodes[i].path) not in reviewed}
            skipped = before - len(selected)

        if not whole:
            order = sorted(selected)
            for done, i in enumerate(order, 1):
                analyse(nodes[i], done, len(order))
        repeated = {r for r, c in Counter(n.revision for n in nodes).items() if r and c > 1}
        for i in (range(len(nodes)) if whole else sorted(selected)) if repeated else ():
            if nodes[i].revision in repeated:
                findings.extend(_duplicate_findings(nodes[i], nodes, config, layout.root))
    finally:
        for ctx in contexts.values():
            ctx.close()
    cache.prune({str(n.path) for n in nodes})
    cache.save()

    cwd = str(Path.cwd())
    for f in findings + suppressed:
        if f.path:
            f.path = _display_str(f.path, cwd)
    for r in reports:
        r.path = _display_str(r.path, cwd)
    findings.sort(key=lambda f: (f.path or "", f.line or 0, f.rule))
    coverage.dialects = choice.describe(used_locations or None, root=layout.root)
    notes = [n for n in (choice.note(used_locations),) if n]
    if baseline and unscoped:
        if reviewed is None:
            notes.append(f"note: no {config.check.sum_file}: every revision was linted, old "
                         "ones included; to count today's history as reviewed and lint only "
                         "newer revisions from now on, run `sluice lock` and commit "
                         f"{config.check.sum_file}")
        elif skipped:
            notes.append(f"{skipped} revision{'s' if skipped != 1 else ''} recorded in "
                         f"{config.check.sum_file} not linted (reviewed history; "
                         "--all lints them too)")
    return LintResult(findings=findings, coverage=coverage, revisions=reports,
                      suppressed=suppressed, dialects=chosen, cache_hits=cache.hits,
                      cache_misses=cache.misses, notes=notes,
                      baseline=skipped if reviewed is not None else None)
