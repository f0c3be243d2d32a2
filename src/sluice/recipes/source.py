"""Rewriting a hand-written revision file: the op calls a recipe answers are replaced, line
for line, by the safe sequence rendered as Alembic code; everything else stays as written.

Which calls: ``op.<name>(...)`` statements directly in the body of ``upgrade()`` /
``downgrade()`` (and ``upgrade_<engine>()`` ...), found in the file's ``ast``. A call is
turned into Alembic's own op object by evaluating it against an ``Operations`` that records
instead of running, with the module's imports in scope; a call that cannot be evaluated
that way (it uses a local variable, a helper, an app import that fails) is left as written.
Calls inside ``with``/``if``/loops are left alone (an ``autocommit_block`` the author wrote
is theirs), and so is a call under a ``# sluice: ignore[...]`` or ``# sluice: allowed``
comment: somebody reviewed it, and the recipes' own suppressed steps stay put on a rerun.
"""

from __future__ import annotations

import ast
import difflib
import io
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from alembic.operations import Operations, ops
from alembic.runtime.migration import MigrationContext

from sluice.core.source import declared_encoding, decode_source
from sluice.errors import SluiceError
from sluice.files import write_atomic
from sluice.lint.fixplan import Chain, ChainOutcome, Plan, assemble, plan_source
from sluice.recipes.apply import Applied, apply_recipes, tidy
from sluice.recipes.model import RecipeContext
from sluice.recipes.steps import ANCHOR, Anchor, autogen_context, render_lines


@dataclass
class FixedCall:
    """One call rewritten: where it was (1-based lines) and what was applied."""

    phase: str
    line: int
    end_line: int
    applied: list[Applied]


@dataclass
class FileFix:
    """A revision file before and after the recipes."""

    path: str
    before: str
    after: str
    fixed: list[FixedCall] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        """A unified diff (``a/PATH`` -> ``b/PATH``), empty when nothing changed."""
        return "".join(difflib.unified_diff(
            self.before.splitlines(keepends=True), self.after.splitlines(keepends=True),
            fromfile=f"a/{self.path}", tofile=f"b/{self.path}"))


class _Recorder(Operations):
    """``op`` for evaluating one call: the op object is kept, nothing runs."""

    def __init__(self, mc: MigrationContext) -> None:
        super().__init__(mc)
        self.recorded: list[ops.MigrateOperation] = []

    def invoke(self, operation: ops.MigrateOperation) -> Any:
        self.recorded.append(operation)
        return None


_SQLA_NAMES = {"postgresql": "postgresql", "mysql": "mysql", "sqlite": "sqlite"}


def _namespace(tree: ast.Module, path: str) -> dict[str, Any]:
    """The module's imports, each tried on its own (one that fails is left out)."""
    ns: dict[str, Any] = {"__name__": "sluice_fix_revision", "__file__": path}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            code = compile(ast.Module(body=[node], type_ignores=[]), path, "exec")
            try:
                exec(code, ns)  # noqa: S102 - the revision's own imports
            except Exception:  # noqa: S112 - that import is simply not in scope
                continue
    return ns


def fix_source(source: str, ctx: RecipeContext, *, path: str = "<revision>") -> FileFix:
    """Apply the recipes of ``ctx`` to one revision's source text; see the module docstring.

    Raises :class:`SluiceError` naming ``path`` and the line when the file does not parse.
    """
    plan = plan_source(source, path)
    if not plan.chains:
        return FileFix(path, source, source)
    outcomes, applied = fix_chains(plan, plan.chains, ctx)
    after, fixed = assemble(plan, outcomes)
    return FileFix(path, source, after,
                   [FixedCall(m.phase, m.start, m.end, applied[id(m)]) for m, _ in fixed])


def fix_chains(plan: Plan, chains: list[Chain], ctx: RecipeContext
               ) -> tuple[list[ChainOutcome], dict[int, list[Applied]]]:
    """What the recipes of ``ctx`` make of each of ``chains`` (of ``plan``), and what
    was applied to each rewritten member (by ``id()`` of the member)."""
    env = _Env(plan.tree, plan.path, ctx)
    sa_name, sa_import = plan.sqlalchemy_name()
    env.actx.opts["sqlalchemy_module_prefix"] = f"{sa_name}."
    outcomes: list[ChainOutcome] = []
    applied: dict[int, list[Applied]] = {}
    for chain in chains:
        env.actx.imports = set()
        # the rewrite calls op by the name the chain's first call does (``migrate``)
        env.actx.opts["alembic_module_prefix"] = f"{_op_name(chain.members[0].call)}."
        rules: list[tuple[str, ...] | None] = []
        runs: list[list[ops.MigrateOperation]] = []
        current: list[ops.MigrateOperation] | None = None
        for index, member in enumerate(chain.members):
            recorded = env.evaluate(member.call, plan.aliases)
            phase = "downgrade" if member.phase.startswith("downgrade") else "upgrade"
            result = apply_recipes(recorded, replace(ctx, phase=phase),
                                   new_tables=member.new_tables,
                                   swapped=member.swapped, depended=member.depended) \
                if len(recorded) == 1 else None
            if result is None or not result.applied:
                rules.append(None)
                current = None
                continue
            applied[id(member)] = result.applied
            rules.append(tuple(sorted({r for a in result.applied for r in a.recipe.rules})))
            if current is None:
                current = []
                runs.append(current)
            current += [Anchor(index), *result.ops]
        rendered = [[ln for o in tidy(run, ctx.dialect) for ln in render_lines(env.actx, o)]
                    for run in runs]
        lines, anchors = _take_anchors(rendered, len(chain.members))
        if sa_import is not None and any(_uses(run, sa_name) for run in lines):
            env.actx.imports.add(sa_import)
        outcomes.append(ChainOutcome(rules, lines, sorted(env.actx.imports), anchors))
    return outcomes, applied


def _take_anchors(runs: list[list[str]], members: int
                  ) -> tuple[list[list[str]], list[tuple[int, str] | None]]:
    """The rendered runs without their anchor lines, and per member where its lines
    start in its run: (line, indentation); None for a member not rewritten."""
    anchors: list[tuple[int, str] | None] = [None] * members
    out: list[list[str]] = []
    for run in runs:
        kept: list[str] = []
        for line in run:
            body = line.lstrip(" ")
            if body.startswith(ANCHOR) and body[len(ANCHOR):].isdigit():
                anchors[int(body[len(ANCHOR):])] = (len(kept), line[:len(line) - len(body)])
            else:
                kept.append(line)
        out.append(kept)
    return out, anchors


def _render_item(kind: str, obj: Any, actx: Any) -> Any:
    """Alembic's ``render_item`` hook: a type of the project's own (``myapp.types.Tag()``,
    rendered with its module's path) gets that module's import, which the revision may
    lack (``from myapp.types import Tag`` binds ``Tag`` only); False: render as Alembic
    does."""
    module = type(obj).__module__ if kind == "type" else "sqlalchemy"
    if module.split(".")[0] not in ("sqlalchemy", "builtins", "sluice_fix_revision"):
        actx.imports.add(f"import {module}")
    return False


def _op_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id
    return "op"


def _uses(lines: list[str], name: str) -> bool:
    """The rendered ``lines`` (a block, indented from column 0) use the global ``name``."""
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return any(f"{name}." in line for line in lines)
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(tree))


class _Env:
    """What evaluating calls needs, built once per file (the imports only when needed)."""

    def __init__(self, tree: ast.Module, path: str, ctx: RecipeContext) -> None:
        self.tree = tree
        self.path = path
        name = _SQLA_NAMES.get(ctx.dialect, ctx.dialect)
        # what a plugin's operation writes offline instead of invoking an operation
        # (op.sync_enum_values runs its SQL on the bind) goes nowhere: nothing runs here
        self.mc = MigrationContext.configure(
            dialect_name=name, opts={"as_sql": True, "output_buffer": io.StringIO()})
        self.actx = autogen_context(name, render_item=_render_item)
        self.ns: dict[str, Any] | None = None

    def evaluate(self, call: ast.Call, aliases: set[str]) -> list[ops.MigrateOperation]:
        if self.ns is None:
            self.ns = _namespace(self.tree, self.path)
        return _evaluate(call, self.ns, aliases, self.mc, self.path)


def _evaluate(call: ast.Call, ns: dict[str, Any], aliases: set[str], mc: MigrationContext,
              path: str) -> list[ops.MigrateOperation]:
    recorder = _Recorder(mc)
    scope = {**ns, **{a: recorder for a in aliases}}
    try:
        code = compile(ast.Expression(body=call), path, "eval")
        eval(code, scope)  # noqa: S307 - the revision's own call, recorded, not run
    except Exception:
        return []
    return recorder.recorded


def fix_file(path: str | Path, ctx: RecipeContext, *, write: bool = False,
             display: str | None = None) -> FileFix:
    """:func:`fix_source` on a file; ``write=True`` saves the result when it changed."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SluiceError(f"{p}: cannot read: {exc.strerror or exc}") from None
    text = decode_source(raw)  # UTF-8, or the encoding the file declares (PEP 263)
    if text is None:
        raise SluiceError(f"{p}: cannot read: neither UTF-8 nor the encoding its first "
                          "lines declare")
    source = text.replace("\r\n", "\n").replace("\r", "\n")  # as read_text() reads it
    result = fix_source(source, ctx, path=display or str(p))
    if write and result.changed:  # written back as it was: line endings, encoding, BOM
        after = result.after
        if b"\r\n" in raw and raw.count(b"\r\n") == raw.count(b"\n"):
            after = after.replace("\n", "\r\n")
        bom = b"\xef\xbb\xbf" if raw[:3] == b"\xef\xbb\xbf" else b""
        try:
            data = bom + after.encode(declared_encoding(raw) or "utf-8")
        except UnicodeEncodeError as exc:
            raise SluiceError(f"{p}: the fixed file cannot be written in its encoding "
                              f"({exc.encoding}): {exc.reason}") from None
        write_atomic(p, data, what="a revision file")  # keeps its mode, no symlinks
    return result
