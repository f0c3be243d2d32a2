"""What the recipes read of a revision's other calls when they rewrite one, read from the
file's ``ast`` by :func:`sluice.lint.fixplan.plan_source`, so that every input of a chain
is on its :class:`~sluice.lint.fixplan.Candidate` (and in the key
:mod:`sluice.lint.fixmemo` keeps its outcome under).

Depended-on columns: a recipe that rebuilds a column (``Recipe.rebuilds_column``) stops at
run time on a column something depends on, so it is not applied to a column that, where
the call runs, has

- an index or a constraint made earlier in the same function, by a call of its own or
  inside a block (the ``autocommit_block`` a first ``sluice fix`` wrote: a second run must
  decline what the first declined);
- one made by SQL (``op.execute("CREATE INDEX ... ON t (c)")``, the ``ALTER TABLE t ADD
  CONSTRAINT ...`` of a recipe's step);
- in a downgrade, one the revision's upgrade made: it still stands when the downgrade
  starts.

Every identifier such a call names counts (a superset): declining leaves the op as
written, which runs.

Swapped tables: a constraint dropped earlier in the function (``op.drop_constraint``, or
SQL in a statement of the function's own: ``op.execute("ALTER TABLE t DROP CONSTRAINT IF
EXISTS fk")``) and made again after it is a swap: the two commit together as written.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

__all__ = ["ColumnKey", "Surroundings", "TableKey", "arg", "call_dependents",
           "constraint_dropped", "reads_depended", "sql_dependents", "table_key", "text"]

#: A table as the recipes tell tables apart: ``(schema, name)``, lower case, ``""`` for
#: no schema (the search path's). A table created in ``archive`` is not ``plain``.
TableKey = tuple[str, str]
#: A column of a table: ``(schema, table, column)``, spelt as :data:`TableKey`.
ColumnKey = tuple[str, str, str]


def table_key(table: str, schema: str | None) -> TableKey:
    """The :data:`TableKey` of ``table`` in ``schema`` (None: no schema given)."""
    return ((schema or "").lower(), table.lower())


def arg(call: ast.Call, index: int | None, name: str) -> ast.expr | None:
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


def text(node: ast.expr | None) -> str | None:
    """The value of a string literal, else None."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) \
        else None


def constraint_dropped(call: ast.Call) -> TableKey | None:
    """The table of ``op.drop_constraint(name, "table", ...)`` (spelled as a literal)."""
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "drop_constraint"):
        return None
    table = text(arg(call, 1, "table_name"))
    return None if table is None else table_key(table, text(arg(call, None, "schema")))


#: The calls that make an index or a constraint: the argument (position, keyword) of its
#: columns or expression, and of its table.
_DEPENDENTS = {"create_index": (2, "columns"), "create_unique_constraint": (2, "columns"),
               "create_primary_key": (2, "columns"), "create_check_constraint": (2, "condition"),
               "create_foreign_key": (3, "local_cols")}
_WORD = r"[A-Za-z_][A-Za-z0-9_$]*"


def _words(node: ast.expr | None) -> set[str]:
    """Every identifier the string literals in ``node`` name (lower case)."""
    if node is None:
        return set()
    return {w.lower() for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) for w in re.findall(_WORD, n.value)}


def call_dependents(call: ast.Call) -> set[ColumnKey]:
    """The columns an index or a constraint the call makes may depend on (as
    :func:`sluice.recipes.apply.dependents` reads an op object)."""
    name = _called(call)
    found: set[ColumnKey] = set()
    schema = text(arg(call, None, "schema"))
    if name == "create_foreign_key":
        referent = text(arg(call, 2, "referent_table"))
        if referent is not None:
            key = table_key(referent, text(arg(call, None, "referent_schema")))
            found |= {(*key, w) for w in _words(arg(call, 4, "remote_cols"))}
        table = text(arg(call, 1, "source_table"))
        schema = text(arg(call, None, "source_schema"))
    else:
        table = text(arg(call, 1, "table_name"))
    if name in _DEPENDENTS and table is not None:
        found |= {(*table_key(table, schema), w) for w in _words(arg(call, *_DEPENDENTS[name]))}
    column = arg(call, 1, "column")
    table = text(arg(call, 0, "table_name"))
    if name != "add_column" or not isinstance(column, ast.Call) or table is None:
        return found
    col = text(column.args[0]) if column.args else None
    made = [a for a in column.args[1:] if _called(a) in ("ForeignKey", "CheckConstraint")]
    if col is not None and (made or any(k.arg in ("index", "unique", "primary_key")
                                        for k in column.keywords)):
        found.add((*table_key(table, schema), col.lower()))
    for ref in made:  # ForeignKey("[schema.]table.column"): that column too
        spec = text(ref.args[0]) if isinstance(ref, ast.Call) and ref.args else None
        if spec and "." in spec:
            *owner, ref_table, ref_col = spec.split(".")
            found.add((*table_key(ref_table, ".".join(owner) or None), ref_col.lower()))
    return found


#: The patterns below are compiled on first use (by ``re``'s own cache): most lints
#: never read SQL for a recipe.
_NAME = r'(?:"[^"]+"|[A-Za-z_][\w$]*)'
_REF = rf"({_NAME}(?:\s*\.\s*{_NAME})?)"
#: ``ALTER TABLE t ADD ...`` up to the end of its statement.
_ALTER_ADD = rf"\bALTER\s+TABLE\s+(?:ONLY\s+)?{_REF}\s+ADD\b([^;]*)"
#: ``CREATE [UNIQUE] INDEX ... ON t ...`` up to the end of its statement.
_CREATE_INDEX = (
    rf"\bCREATE\s+(?:UNIQUE\s+)?INDEX\b[^;]*?\bON\s+(?:ONLY\s+)?{_REF}([^;]*)")
#: ``REFERENCES t (columns)``: the other side of a foreign key.
_REFERENCES = rf"\bREFERENCES\s+{_REF}\s*\(([^)]*)\)"
#: ``ALTER TABLE t ... DROP CONSTRAINT``.
_DROP_CONSTRAINT = (
    rf"\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?{_REF}[^;]*?\bDROP\s+CONSTRAINT\b")


def _key(ref: str) -> TableKey:
    parts = [p.strip().strip('"') for p in ref.split(".")]
    return table_key(parts[-1], parts[0] if len(parts) == 2 else None)


def sql_dependents(sql: str) -> set[ColumnKey]:
    """The columns the indexes and constraints ``sql`` makes may depend on."""
    found: set[ColumnKey] = set()
    for pattern in (_ALTER_ADD, _CREATE_INDEX, _REFERENCES):
        for match in re.finditer(pattern, sql, re.I):
            key = _key(match.group(1))
            found |= {(*key, w.lower()) for w in re.findall(_WORD, match.group(2))}
    return found


def _texts(node: ast.AST) -> Iterable[str]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            yield sub.value


def _op_calls(node: ast.AST, aliases: set[str]) -> Iterable[ast.Call]:
    """Every ``op.<name>(...)`` call in ``node``, at any depth."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) \
                and isinstance(sub.func.value, ast.Name) and sub.func.value.id in aliases:
            yield sub


def _made(call: ast.Call) -> set[ColumnKey]:
    found = call_dependents(call)
    for literal in _texts(call):
        found |= sql_dependents(literal)
    return found


def _sql_dropped(stmt: ast.stmt, aliases: set[str]) -> set[TableKey]:
    """Tables a top-level ``op.execute`` statement drops a constraint of."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return set()
    call = stmt.value
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "execute"
            and isinstance(call.func.value, ast.Name) and call.func.value.id in aliases):
        return set()
    return {_key(m.group(1)) for literal in _texts(call)
            for m in re.finditer(_DROP_CONSTRAINT, literal, re.I)}


#: Alembic operations that never record an ``alter_column``: the depended-on columns are
#: read for an ``alter_column`` alone (:func:`sluice.recipes.apply.rewrite_op` asks about
#: the column it changes), so such a call does not read them (and an edit of an index
#: elsewhere keeps what the recipes made of it). A call of another name (a project's own
#: operation) may: it reads them.
_NO_ALTER_COLUMN = frozenset({
    "add_column", "drop_column", "create_table", "drop_table", "rename_table",
    "create_index", "drop_index", "create_foreign_key", "create_unique_constraint",
    "create_check_constraint", "create_primary_key", "create_exclude_constraint",
    "drop_constraint", "create_table_comment", "drop_table_comment", "execute",
    "bulk_insert",
})


def reads_depended(call: ast.Call) -> bool:
    """Whether what the recipes make of ``call`` may depend on the depended-on columns."""
    return _called(call) not in _NO_ALTER_COLUMN


class Surroundings:
    """Per function of a revision, where indexes and constraints are made (and on what),
    and where SQL drops a constraint of a table (see the module)."""

    def __init__(self, functions: Iterable[ast.FunctionDef | ast.AsyncFunctionDef],
                 aliases: set[str]) -> None:
        self.made: dict[str, list[tuple[int, set[ColumnKey]]]] = {}
        self.drops: dict[str, list[tuple[int, set[TableKey]]]] = {}
        for fn in functions:
            self.made[fn.name] = [(c.lineno, found) for c in _op_calls(fn, aliases)
                                  for found in [_made(c)] if found]
            self.drops[fn.name] = [(s.lineno, found) for s in fn.body
                                   for found in [_sql_dropped(s, aliases)] if found]

    def depended(self, phase: str, start: int) -> set[ColumnKey]:
        """The columns something made before line ``start`` of ``phase`` depends on, and in
        a downgrade what its upgrade made."""
        found = {k for line, keys in self.made.get(phase, ()) if line < start for k in keys}
        if phase.startswith("downgrade"):
            upgrade = "upgrade" + phase[len("downgrade"):]
            found |= {k for _, keys in self.made.get(upgrade, ()) for k in keys}
        return found

    def swapped(self, phase: str, start: int) -> set[TableKey]:
        """The tables SQL before line ``start`` of ``phase`` drops a constraint of."""
        return {k for line, keys in self.drops.get(phase, ()) if line < start for k in keys}
