"""The part of rewriting a revision file (:func:`sluice.recipes.fix_source`) that needs no
Alembic: which ``op`` calls are candidates, how they group, and the file put together from
what the recipes made of each group.

A *chain* is a run of candidate calls in a row (blank lines between at most, the same
indentation): what the recipes make of it depends only on its calls' text, the tables the
revision creates or drops before each, the module's imports, the recipe context and the
code of Sluice, Alembic and SQLAlchemy, never on the rest of the file. That is what lets
``sluice lint`` keep what it drew (:mod:`sluice.lint.fixmemo`) and redraw a diff after an
edit elsewhere in the file without importing Alembic.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from sluice.errors import SluiceError
from sluice.lint.suppress import parse_suppressions

__all__ = ["Candidate", "Chain", "ChainOutcome", "Plan", "assemble", "plan_source"]

_PHASES = re.compile(r"^(?:upgrade|downgrade)(?:_\w+)?$")


@dataclass
class Candidate:
    """One ``op.<name>(...)`` statement a recipe may rewrite (1-based lines)."""

    phase: str
    start: int
    end: int
    #: The statement's own leading whitespace (spaces or tabs, as the file has it).
    indent: str
    #: The trailing comment of the call, kept as a comment line above its rewrite.
    comments: list[str]
    call: ast.Call
    #: The statement's source text, exactly as written.
    text: str
    #: Tables this call may treat as new (created before it, or dropped and not created).
    new_tables: frozenset[str]
    #: Tables a constraint of which an earlier call drops (``op.drop_constraint``): a
    #: constraint created on one of them is taken for the other half of a swap.
    swapped: frozenset[str] = frozenset()


@dataclass
class Chain:
    """Candidates in a row: rewritten ones next to each other become one sequence."""

    members: list[Candidate] = field(default_factory=list)


@dataclass
class ChainOutcome:
    """What the recipes made of one chain: per member the rule ids of the recipes applied
    (None: left as written), per run of rewritten members in a row its lines (without the
    indentation or the comments), and the import lines those need."""

    rules: list[tuple[str, ...] | None]
    runs: list[list[str]]
    imports: list[str]


@dataclass
class Plan:
    """A revision file read for rewriting."""

    path: str
    source: str
    tree: ast.Module
    lines: list[str]
    aliases: set[str]
    chains: list[Chain]

    def imports_text(self) -> str:
        """The module's import statements (what a call is evaluated with)."""
        return "\n".join(ast.unparse(n) for n in self.tree.body
                         if isinstance(n, (ast.Import, ast.ImportFrom)))


def plan_source(source: str, path: str) -> Plan:
    """Read ``source`` for rewriting. Raises :class:`SluiceError` naming ``path`` and the
    line when it does not parse."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise SluiceError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    lines = source.splitlines(keepends=True)
    aliases = _op_aliases(tree)
    reviewed = {sup.line for sup in parse_suppressions(source)}
    chains: list[Chain] = []
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
        swapped: set[str] = set()
        for stmt, call in calls:
            if call is None:
                continue
            start, end = stmt.lineno, stmt.end_lineno or stmt.lineno
            table = _literal_table(call, "create_table")
            if table:
                seen_created.add(table)
            if _reviewed(lines, reviewed, start, end) or not _alone(lines, stmt):
                continue
            member = Candidate(fn.name, start, end, lines[start - 1][:stmt.col_offset],
                               _comments(lines, stmt), call,
                               ast.get_source_segment(source, stmt) or "",
                               frozenset(seen_created | (dropped - created)),
                               frozenset(swapped))
            table = _constraint_dropped(call)
            if table:
                swapped.add(table)
            last = chains[-1].members[-1] if chains else None
            if last is not None and last.indent == member.indent and all(
                    not lines[i].strip() for i in range(last.end, start - 1)):
                chains[-1].members.append(member)
            else:
                chains.append(Chain([member]))
    return Plan(path, source, tree, lines, aliases, chains)


def assemble(plan: Plan, outcomes: list[ChainOutcome]) -> tuple[str, list[tuple[Candidate,
                                                                               tuple[str, ...]]]]:
    """The file's text with each chain's runs in place of their calls (and the imports they
    need), and the rewritten calls with the rule ids of their recipes."""
    runs: list[tuple[int, int, list[str]]] = []  # first line, last line, lines
    fixed: list[tuple[Candidate, tuple[str, ...]]] = []
    imports: set[str] = set()
    for chain, outcome in zip(plan.chains, outcomes, strict=True):
        imports.update(outcome.imports)
        rendered = iter(outcome.runs)
        current: list[Candidate] = []
        for member, rules in [*zip(chain.members, outcome.rules, strict=True), (None, None)]:
            if member is not None and rules is not None:
                fixed.append((member, rules))
                current.append(member)
                continue
            if current:
                pad = current[0].indent
                body = [pad + c for m in current for c in m.comments]
                body += [pad + ln if ln else ln for ln in next(rendered)]
                runs.append((current[0].start, current[-1].end, body))
                current = []
    if not runs:
        return plan.source, []
    lines = list(plan.lines)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    for start, end, body in reversed(runs):
        lines[start - 1:end] = [ln + newline for ln in body]
    return add_imports("".join(lines), sorted(imports), plan.tree, newline), fixed


def add_imports(text: str, imports: list[str], tree: ast.Module, newline: str) -> str:
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


def _constraint_dropped(call: ast.Call) -> str | None:
    """The table of ``op.drop_constraint(name, "table", ...)`` (spelled as a literal)."""
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "drop_constraint"):
        return None
    node = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "table_name"), None)
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) \
        else None


def _literal_table(call: ast.Call, name: str) -> str | None:
    if isinstance(call.func, ast.Attribute) and call.func.attr == name and call.args \
            and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


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
