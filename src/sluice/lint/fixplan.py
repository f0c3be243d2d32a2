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

__all__ = ["Candidate", "Chain", "ChainOutcome", "ColumnKey", "Plan", "TableKey", "assemble",
           "plan_source", "table_key"]

_PHASES = re.compile(r"^(?:upgrade|downgrade)(?:_\w+)?$")

#: A table as the recipes tell tables apart: ``(schema, name)``, lower case, ``""`` for
#: no schema (the search path's). A table created in ``archive`` is not ``plain``.
TableKey = tuple[str, str]
#: A column of a table: ``(schema, table, column)``, spelt as :data:`TableKey`.
ColumnKey = tuple[str, str, str]


def table_key(table: str, schema: str | None) -> TableKey:
    """The :data:`TableKey` of ``table`` in ``schema`` (None: no schema given)."""
    return ((schema or "").lower(), table.lower())


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
    new_tables: frozenset[TableKey]
    #: Tables a constraint of which an earlier call drops (``op.drop_constraint``): a
    #: constraint created on one of them is taken for the other half of a swap.
    swapped: frozenset[TableKey] = frozenset()
    #: Columns an index or a constraint an earlier call creates may depend on (every
    #: identifier its column list or expression names): a recipe that rebuilds a column
    #: is not applied to them.
    depended: frozenset[ColumnKey] = frozenset()


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
    for fn in tree.body:
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                or not _PHASES.match(fn.name):
            continue
        calls = [(s, _op_call(s, aliases)) for s in fn.body]
        created = {t for _, c in calls if c is not None
                   for t in [_literal_table(c, "create_table")] if t}
        dropped = {t for _, c in calls if c is not None
                   for t in [_literal_table(c, "drop_table")] if t}
        seen_created: set[TableKey] = set()
        swapped: set[TableKey] = set()
        depended: set[ColumnKey] = set()
        for stmt, call in calls:
            if call is None:
                continue
            start, end = stmt.lineno, stmt.end_lineno or stmt.lineno
            table = _literal_table(call, "create_table")
            if table:
                seen_created.add(table)
            depended |= _dependents(call)
            if _reviewed(lines, reviewed, start, end) or not _alone(lines, stmt):
                continue
            member = Candidate(fn.name, start, end, lines[start - 1][:stmt.col_offset],
                               _comments(lines, stmt), call,
                               ast.get_source_segment(source, stmt) or "",
                               frozenset(seen_created | (dropped - created)),
                               frozenset(swapped), frozenset(depended))
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
        answered: set[str] = set()
        for member, rules in [*zip(chain.members, outcome.rules, strict=True), (None, None)]:
            if member is not None and rules is not None:
                fixed.append((member, rules))
                current.append(member)
                answered.update(rules)
                continue
            if current:
                pad = current[0].indent
                body = [pad + c for m in current for c in m.comments]
                body += [pad + ln if ln else ln for ln in next(rendered)]
                first = current[0].start
                while first > 1 and _stale_warning(plan.lines[first - 2], answered):
                    first -= 1  # the comment autogenerate wrote for what the recipe fixes
                runs.append((first, current[-1].end, body))
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


def _arg(call: ast.Call, index: int | None, name: str) -> ast.expr | None:
    """Argument ``index`` (0-based; None: keyword only) of ``call``, or its keyword
    ``name``."""
    if index is not None and len(call.args) > index and not any(
            isinstance(a, ast.Starred) for a in call.args[:index + 1]):
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg == name), None)


def _called(node: ast.expr) -> str:
    """The name a call calls (``sa.ForeignKey(...)``: ``ForeignKey``), else ``""``."""
    func = node.func if isinstance(node, ast.Call) else None
    return func.attr if isinstance(func, ast.Attribute) else \
        func.id if isinstance(func, ast.Name) else ""


def _text(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) \
        else None


def _constraint_dropped(call: ast.Call) -> TableKey | None:
    """The table of ``op.drop_constraint(name, "table", ...)`` (spelled as a literal)."""
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "drop_constraint"):
        return None
    table = _text(_arg(call, 1, "table_name"))
    return None if table is None else table_key(table, _text(_arg(call, None, "schema")))


def _literal_table(call: ast.Call, name: str) -> TableKey | None:
    if isinstance(call.func, ast.Attribute) and call.func.attr == name and call.args \
            and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return table_key(call.args[0].value, _text(_arg(call, None, "schema")))
    return None


#: The calls that make an index or a constraint: the argument (position, keyword) of its
#: columns or expression, and of its table.
_DEPENDENTS = {"create_index": (2, "columns"), "create_unique_constraint": (2, "columns"),
               "create_primary_key": (2, "columns"), "create_check_constraint": (2, "condition"),
               "create_foreign_key": (3, "local_cols")}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _words(node: ast.expr | None) -> set[str]:
    """Every identifier the string literals in ``node`` name (lower case)."""
    if node is None:
        return set()
    return {w.lower() for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) for w in _WORD.findall(n.value)}


def _dependents(call: ast.Call) -> set[ColumnKey]:
    """The columns an index or a constraint the call makes may depend on (as
    :func:`sluice.recipes.apply.dependents` reads an op object)."""
    name = _called(call)
    found: set[ColumnKey] = set()
    schema = _text(_arg(call, None, "schema"))
    if name == "create_foreign_key":
        referent = _text(_arg(call, 2, "referent_table"))
        if referent is not None:
            key = table_key(referent, _text(_arg(call, None, "referent_schema")))
            found |= {(*key, w) for w in _words(_arg(call, 4, "remote_cols"))}
        table = _text(_arg(call, 1, "source_table"))
        schema = _text(_arg(call, None, "source_schema"))
    else:
        table = _text(_arg(call, 1, "table_name"))
    if name in _DEPENDENTS and table is not None:
        found |= {(*table_key(table, schema), w) for w in _words(_arg(call, *_DEPENDENTS[name]))}
    column = _arg(call, 1, "column")
    table = _text(_arg(call, 0, "table_name"))
    if name != "add_column" or not isinstance(column, ast.Call) or table is None:
        return found
    col = _text(column.args[0]) if column.args else None
    made = [a for a in column.args[1:] if _called(a) in ("ForeignKey", "CheckConstraint")]
    if col is not None and (made or any(k.arg in ("index", "unique", "primary_key")
                                        for k in column.keywords)):
        found.add((*table_key(table, schema), col.lower()))
    for ref in made:  # ForeignKey("[schema.]table.column"): that column too
        spec = _text(ref.args[0]) if isinstance(ref, ast.Call) and ref.args else None
        if spec and "." in spec:
            *owner, ref_table, ref_col = spec.split(".")
            found.add((*table_key(ref_table, ".".join(owner) or None), ref_col.lower()))
    return found


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
