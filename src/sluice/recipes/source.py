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
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.operations import Operations, ops
from alembic.runtime.migration import MigrationContext

from sluice.errors import SluiceError
from sluice.lint.suppress import parse_suppressions
from sluice.recipes.apply import Applied, apply_recipes, tidy
from sluice.recipes.model import RecipeContext
from sluice.recipes.steps import autogen_context, render_lines

_PHASES = re.compile(r"^(?:upgrade|downgrade)(?:_\w+)?$")


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


def _op_aliases(tree: ast.Module) -> set[str]:
    names = {"op"}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "alembic":
            names |= {a.asname or a.name for a in node.names if a.name == "op"}
    return names


def _op_call(stmt: ast.stmt, aliases: set[str]) -> ast.Call | None:
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        func = stmt.value.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id in aliases:
            return stmt.value
    return None


def _literal_table(call: ast.Call, name: str) -> str | None:
    if isinstance(call.func, ast.Attribute) and call.func.attr == name and call.args \
            and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def fix_source(source: str, ctx: RecipeContext, *, path: str = "<revision>") -> FileFix:
    """Apply the recipes of ``ctx`` to one revision's source text; see the module docstring.

    Raises :class:`SluiceError` naming ``path`` and the line when the file does not parse.
    """
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise SluiceError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    lines = source.splitlines(keepends=True)
    aliases = _op_aliases(tree)
    reviewed = {sup.line for sup in parse_suppressions(source)}
    env = _Env(tree, path, ctx)
    fixed: list[FixedCall] = []
    runs: list[_Run] = []
    for fn in tree.body:
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                or not _PHASES.match(fn.name):
            continue
        calls = [(s, _op_call(s, aliases)) for s in fn.body]
        created = {t for _, c in calls if c is not None
                   for t in [_literal_table(c, "create_table")] if t}
        dropped = {t for _, c in calls if c is not None
                   for t in [_literal_table(c, "drop_table")] if t}
        seen_created: set[str] = set()
        for stmt, call in calls:
            if call is None:
                continue
            start, end = stmt.lineno, stmt.end_lineno or stmt.lineno
            table = _literal_table(call, "create_table")
            if table:
                seen_created.add(table)
            if _reviewed(lines, reviewed, start, end) or not _alone(lines, stmt):
                continue
            recorded = env.evaluate(call, aliases)
            if len(recorded) != 1:
                continue
            result = apply_recipes(recorded, ctx, new_tables=seen_created | (dropped - created))
            if not result.applied:
                continue
            fixed.append(FixedCall(fn.name, start, end, result.applied))
            run = _Run(start, end, lines[start - 1][:stmt.col_offset], result.ops,
                       _comments(lines, stmt))
            if runs and runs[-1].joins(run, lines):
                runs[-1].extend(run)
            else:
                runs.append(run)
    if not runs:
        return FileFix(path, source, source)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    for run in reversed(runs):
        lines[run.start - 1:run.end] = [ln + newline for ln in run.render(env.actx, ctx)]
    after = _add_imports("".join(lines), sorted(env.actx.imports), tree, newline)
    return FileFix(path, source, after, fixed)


class _Env:
    """What evaluating calls needs, built once per file (the imports only when needed)."""

    def __init__(self, tree: ast.Module, path: str, ctx: RecipeContext) -> None:
        self.tree = tree
        self.path = path
        name = _SQLA_NAMES.get(ctx.dialect, ctx.dialect)
        self.mc = MigrationContext.configure(dialect_name=name, opts={"as_sql": True})
        self.actx = autogen_context(name)
        self.ns: dict[str, Any] | None = None

    def evaluate(self, call: ast.Call, aliases: set[str]) -> list[ops.MigrateOperation]:
        if self.ns is None:
            self.ns = _namespace(self.tree, self.path)
        return _evaluate(call, self.ns, aliases, self.mc, self.path)


@dataclass
class _Run:
    """Rewritten calls next to each other (blank lines between at most): one sequence,
    so that adjacent ``autocommit_block``s merge and a lock timeout is set once."""

    start: int
    end: int
    #: The call's own leading whitespace (spaces or tabs, as the file has it).
    indent: str
    ops: list[ops.MigrateOperation]
    #: Trailing comments of the calls, kept as comment lines above the sequence.
    comments: list[str]

    def joins(self, other: _Run, lines: list[str]) -> bool:
        return self.indent == other.indent and all(
            not lines[i].strip() for i in range(self.end, other.start - 1))

    def extend(self, other: _Run) -> None:
        self.end = other.end
        self.ops += other.ops
        self.comments += other.comments

    def render(self, actx: Any, ctx: RecipeContext) -> list[str]:
        pad = self.indent
        out = [pad + c for c in self.comments]
        for o in tidy(self.ops, ctx.dialect):
            out += [pad + ln if ln else ln for ln in render_lines(actx, o)]
        return out


def _comments(lines: list[str], stmt: ast.stmt) -> list[str]:
    """The comment after the call on its last line (``# why``), if any."""
    last = lines[(stmt.end_lineno or stmt.lineno) - 1]
    rest = last.encode()[stmt.end_col_offset or 0:].decode(errors="replace").strip()
    return [rest] if rest.startswith("#") else []


def _reviewed(lines: list[str], reviewed: set[int], start: int, end: int) -> bool:
    """A suppression or allow comment (``reviewed``: the lines lint reads one on) on the
    call's lines or the comment lines above."""
    if any(n in reviewed for n in range(start, end + 1)):
        return True
    i = start - 2
    while i >= 0 and lines[i].strip().startswith("#"):
        if i + 1 in reviewed:
            return True
        i -= 1
    return False


def _alone(lines: list[str], stmt: ast.stmt) -> bool:
    """The statement has its lines to itself (nothing before it on its first line, only
    a comment after it on its last)."""
    first = lines[stmt.lineno - 1]
    if first[:stmt.col_offset].strip():
        return False
    last = lines[(stmt.end_lineno or stmt.lineno) - 1]
    rest = last.encode()[stmt.end_col_offset or 0:].decode(errors="replace").strip()
    return not rest or rest.startswith("#")


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


def _add_imports(text: str, imports: list[str], tree: ast.Module, newline: str) -> str:
    """``imports`` (``from x import y`` lines) the module lacks, after its last import."""
    have = {ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))}
    bound = {a.asname or a.name.split(".")[0] for n in tree.body
             if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    missing = []
    for line in imports:
        try:
            node = ast.parse(line).body[0]
        except SyntaxError:
            continue
        names = {a.asname or a.name.split(".")[0]
                 for a in getattr(node, "names", [])}
        if line not in have and not names <= bound:
            missing.append(line)
    if not missing:
        return text
    last = max((n.end_lineno or n.lineno for n in tree.body
                if isinstance(n, (ast.Import, ast.ImportFrom))), default=0)
    lines = text.splitlines(keepends=True)
    lines[last:last] = [m + newline for m in missing]
    return "".join(lines)


def fix_file(path: str | Path, ctx: RecipeContext, *, write: bool = False,
             display: str | None = None) -> FileFix:
    """:func:`fix_source` on a file; ``write=True`` saves the result when it changed."""
    p = Path(path)
    try:
        source = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SluiceError(f"{p}: cannot read: {exc}") from None
    result = fix_source(source, ctx, path=display or str(p))
    if write and result.changed:
        p.write_text(result.after, encoding="utf-8", newline="")
    return result
