"""The part of rewriting a revision file (:func:`sluice.recipes.fix_source`) that needs no
Alembic: which ``op`` calls are candidates, how they group, and the file put together from
what the recipes made of each group.

A *chain* is a run of candidate calls in a row (blank lines between at most, the same
indentation): what the recipes make of it depends only on its calls' text, what each
:class:`Candidate` holds of the rest of its function (the tables created or dropped, the
constraints dropped, the columns indexes and constraints depend on: everything the
recipes read there, see :mod:`sluice.lint.fixreads`), the module's imports and its name
for SQLAlchemy, the recipe context and the code of Sluice, Alembic and SQLAlchemy. That
is what lets ``sluice lint`` keep what it drew (:mod:`sluice.lint.fixmemo`) and redraw a
diff after an edit elsewhere in the file without importing Alembic.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from sluice.errors import SluiceError
from sluice.lint.fixreads import (
    ANY_TABLE,
    ColumnRef,
    Surroundings,
    TableRef,
    arg,
    call_dependents,
    module_strings,
    reads_depended,
    table_ref,
    text,
)
from sluice.lint.suppress import parse_suppressions

__all__ = ["ANY_TABLE", "Candidate", "Chain", "ChainOutcome", "ColumnRef", "Plan", "TableRef",
           "assemble", "plan_source", "table_ref"]

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
    new_tables: frozenset[TableRef]
    #: Tables a constraint of which the function drops before the call, reviewed or not
    #: (``op.drop_constraint``, a batch's, or SQL; :data:`ANY_TABLE`: one whose name the
    #: source computes): a constraint created on one of them is taken for the other half
    #: of a swap.
    swapped: frozenset[TableRef] = frozenset()
    #: Columns an index or a constraint made before the call may depend on (every
    #: identifier its column list, expression or SQL names; by any call of the function,
    #: in a block too, and in a downgrade by the upgrade): a recipe that rebuilds a column
    #: is not applied to them. Empty for a call no such recipe rewrites
    #: (:func:`~sluice.lint.fixreads.reads_depended`).
    depended: frozenset[ColumnRef] = frozenset()


@dataclass
class Chain:
    """Candidates in a row: rewritten ones next to each other become one sequence."""

    members: list[Candidate] = field(default_factory=list)


@dataclass
class ChainOutcome:
    """What the recipes made of one chain: per member the rule ids of the recipes applied
    (None: left as written), per run of rewritten members in a row its lines (without the
    indentation or the comments), the import lines those need, and per rewritten member
    where its own lines start in its run (line, indentation within the run), where its
    comment goes."""

    rules: list[tuple[str, ...] | None]
    runs: list[list[str]]
    imports: list[str]
    anchors: list[tuple[int, str] | None] = field(default_factory=list)


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

    def sqlalchemy_name(self) -> tuple[str, str | None]:
        """The name rewritten code calls SQLAlchemy by, and the import that binds it when
        the module does not (None when it does): its own (``import sqlalchemy as sa``),
        else ``sa``, else ``sqlalchemy`` when ``sa`` means something else."""
        bound: set[str] = set()
        for node in self.tree.body:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname and a.name == "sqlalchemy":
                        return a.asname, None
                    if not a.asname and a.name.split(".")[0] == "sqlalchemy":
                        return "sqlalchemy", None
            bound |= _binds(node)
        if "sa" not in bound or "sqlalchemy" in bound:
            return "sa", "import sqlalchemy as sa"
        return "sqlalchemy", "import sqlalchemy"


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
    functions = [fn for fn in tree.body if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and _PHASES.match(fn.name)]
    around = Surroundings(functions, aliases, module_strings(tree))
    for fn in functions:
        calls = [(s, _op_call(s, aliases)) for s in fn.body]
        created = {t for _, c in calls if c is not None
                   for t in [_literal_table(c, "create_table")] if t}
        dropped = {t for _, c in calls if c is not None
                   for t in [_literal_table(c, "drop_table")] if t}
        seen_created: set[TableRef] = set()
        depended: set[ColumnRef] = set()
        for stmt, call in calls:
            if call is None:
                continue
            start, end = stmt.lineno, stmt.end_lineno or stmt.lineno
            table = _literal_table(call, "create_table")
            if table:
                seen_created.add(table)
            depended |= call_dependents(call)
            if _reviewed(lines, reviewed, start, end) or not _alone(lines, stmt):
                continue
            member = Candidate(fn.name, start, end, lines[start - 1][:stmt.col_offset],
                               _comments(lines, stmt), call,
                               ast.get_source_segment(source, stmt) or "",
                               frozenset(seen_created | (dropped - created)),
                               frozenset(around.swapped(fn.name, start)),
                               frozenset(depended | around.depended(fn.name, start)
                                         if reads_depended(call) else ()))
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
        anchors = dict(enumerate(outcome.anchors))
        current: list[tuple[Candidate, tuple[int, str] | None]] = []
        answered: set[str] = set()
        for index, (member, rules) in enumerate(
                [*zip(chain.members, outcome.rules, strict=True), (None, None)]):
            if member is not None and rules is not None:
                fixed.append((member, rules))
                current.append((member, anchors.get(index)))
                answered.update(rules)
                continue
            if current:
                pad = current[0][0].indent
                body = [pad + ln if ln else ln for ln in next(rendered)]
                for m, at in reversed(current):  # each comment above its own call's lines
                    line, indent = at if at is not None else (0, "")
                    body[line:line] = [pad + indent + c for c in m.comments]
                first = current[0][0].start
                while first > 1 and _stale_warning(plan.lines[first - 2], answered):
                    first -= 1  # the comment autogenerate wrote for what the recipe fixes
                runs.append((first, current[-1][0].end, body))
                current, answered = [], set()
    if not runs:
        return plan.source, []
    lines = list(plan.lines)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    for start, end, body in reversed(runs):
        lines[start - 1:end] = [ln + newline for ln in body]
    return add_imports("".join(lines), sorted(imports), plan.tree, newline), fixed


#: The comment the dangerous-ops policy writes above an op it warns about
#: (``dangerous_ops = "warn"``): ``# sluice: error: <message> (SL201 create-index-...)``.
_WARNING_COMMENT = re.compile(r"^\s*#\s*sluice: (?:error|warning|info): .*\((SL\d+) [\w-]+\)\s*$")


def _stale_warning(line: str, rules: set[str]) -> bool:
    """``line`` is Sluice's own warning comment for a rule a recipe just answered."""
    found = _WARNING_COMMENT.match(line)
    return found is not None and found.group(1) in rules


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


def _binds(node: ast.stmt) -> set[str]:
    """The names a module-level statement binds (imports, definitions, assignments)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _literal_table(call: ast.Call, name: str) -> TableRef | None:
    if isinstance(call.func, ast.Attribute) and call.func.attr == name and call.args \
            and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return table_ref(call.args[0].value, text(arg(call, None, "schema")))
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
