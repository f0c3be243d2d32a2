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

Swapped tables: a constraint dropped earlier in the function and made again after it is
a swap: the two commit together as written. Every drop counts, whether lint reports it or
not (a reviewed one, under a suppression, is still half of the swap), wherever it is in the
function (in a block, on a line shared with other code): ``op.drop_constraint``, a batch's
``batch_op.drop_constraint`` (on the batch's table), SQL an ``execute`` call runs
(``op.execute("ALTER TABLE t DROP CONSTRAINT IF EXISTS fk")``). A drop whose table is not
a literal (nor a module-level string constant) may be of any table (:data:`ANY_TABLE`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from sluice.rules._util import ColumnRef, TableRef, table_ref

__all__ = ["ANY_TABLE", "ColumnRef", "Surroundings", "TableRef", "arg", "call_dependents",
           "module_strings", "reads_depended", "sql_dependents", "table_ref", "text"]

#: A table the source computes the name of: any table may be the one meant.
ANY_TABLE: TableRef = ("*", "*")


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


def module_strings(tree: ast.Module) -> dict[str, str]:
    """The module's string constants (``TABLE = "orders"`` at its top level)."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and text(node.value) is not None:
            found |= {t.id: str(text(node.value)) for t in node.targets
                      if isinstance(t, ast.Name)}
    return found


def _table_named(node: ast.expr | None, schema: ast.expr | None,
                 strings: dict[str, str]) -> TableRef:
    """The table ``node`` names (a literal or a module constant, in ``schema``), else
    :data:`ANY_TABLE`."""
    def value(n: ast.expr | None) -> str | None:
        return strings.get(n.id) if isinstance(n, ast.Name) else text(n)

    no_schema = schema is None or (isinstance(schema, ast.Constant) and schema.value is None)
    table = value(node)
    if table is None or not (no_schema or value(schema) is not None):
        return ANY_TABLE
    return table_ref(table, None if no_schema else value(schema))


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


def call_dependents(call: ast.Call) -> set[ColumnRef]:
    """The columns an index or a constraint the call makes may depend on (as
    :func:`sluice.recipes.apply.dependents` reads an op object)."""
    name = _called(call)
    found: set[ColumnRef] = set()
    schema = text(arg(call, None, "schema"))
    if name == "create_foreign_key":
        referent = text(arg(call, 2, "referent_table"))
        if referent is not None:
            key = table_ref(referent, text(arg(call, None, "referent_schema")))
            found |= {(*key, w) for w in _words(arg(call, 4, "remote_cols"))}
        table = text(arg(call, 1, "source_table"))
        schema = text(arg(call, None, "source_schema"))
    else:
        table = text(arg(call, 1, "table_name"))
    if name in _DEPENDENTS and table is not None:
        found |= {(*table_ref(table, schema), w) for w in _words(arg(call, *_DEPENDENTS[name]))}
    column = arg(call, 1, "column")
    table = text(arg(call, 0, "table_name"))
    if name != "add_column" or not isinstance(column, ast.Call) or table is None:
        return found
    col = text(column.args[0]) if column.args else None
    made = [a for a in column.args[1:] if _called(a) in ("ForeignKey", "CheckConstraint")]
    if col is not None and (made or any(k.arg in ("index", "unique", "primary_key")
                                        for k in column.keywords)):
        found.add((*table_ref(table, schema), col.lower()))
    for ref in made:  # ForeignKey("[schema.]table.column"): that column too
        spec = text(ref.args[0]) if isinstance(ref, ast.Call) and ref.args else None
        if spec and "." in spec:
            *owner, ref_table, ref_col = spec.split(".")
            found.add((*table_ref(ref_table, ".".join(owner) or None), ref_col.lower()))
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


def _key(ref: str) -> TableRef:
    parts = [p.strip().strip('"') for p in ref.split(".")]
    return table_ref(parts[-1], parts[0] if len(parts) == 2 else None)


def sql_dependents(sql: str) -> set[ColumnRef]:
    """The columns the indexes and constraints ``sql`` makes may depend on."""
    found: set[ColumnRef] = set()
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


def _made(call: ast.Call) -> set[ColumnRef]:
    found = call_dependents(call)
    for literal in _texts(call):
        found |= sql_dependents(literal)
    return found


def _batches(fn: ast.AST, strings: dict[str, str]) -> dict[str, TableRef]:
    """The names ``with op.batch_alter_table(...) as NAME`` binds in ``fn``, and their
    tables."""
    found: dict[str, TableRef] = {}
    for node in ast.walk(fn):
        for item in node.items if isinstance(node, (ast.With, ast.AsyncWith)) else ():
            call, var = item.context_expr, item.optional_vars
            if isinstance(call, ast.Call) and _called(call) == "batch_alter_table" \
                    and isinstance(var, ast.Name):
                found[var.id] = _table_named(arg(call, 0, "table_name"),
                                             arg(call, None, "schema"), strings)
    return found


def _constraint_drops(fn: ast.AST, aliases: set[str],
                      strings: dict[str, str]) -> list[tuple[int, set[TableRef]]]:
    """Where in ``fn`` a constraint is dropped, and of which tables (see the module)."""
    batches = _batches(fn, strings)
    found: list[tuple[int, set[TableRef]]] = []
    for call in ast.walk(fn):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        owner = call.func.value.id if isinstance(call.func.value, ast.Name) else ""
        if call.func.attr == "execute":
            tables = {_key(m.group(1)) for literal in _texts(call)
                      for m in re.finditer(_DROP_CONSTRAINT, literal, re.I)}
        elif call.func.attr != "drop_constraint":
            continue
        elif owner in batches:
            tables = {batches[owner]}
        else:  # op.drop_constraint, or a call on something else of that name: any table
            tables = {_table_named(arg(call, 1, "table_name"), arg(call, None, "schema"),
                                   strings) if owner in aliases else ANY_TABLE}
        if tables:
            found.append((call.lineno, tables))
    return found


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
    and where a constraint of a table is dropped (see the module). ``strings``: the
    module's string constants (:func:`module_strings`)."""

    def __init__(self, functions: Iterable[ast.FunctionDef | ast.AsyncFunctionDef],
                 aliases: set[str], strings: dict[str, str] | None = None) -> None:
        self.made: dict[str, list[tuple[int, set[ColumnRef]]]] = {}
        self.drops: dict[str, list[tuple[int, set[TableRef]]]] = {}
        for fn in functions:
            self.made[fn.name] = [(c.lineno, found) for c in _op_calls(fn, aliases)
                                  for found in [_made(c)] if found]
            self.drops[fn.name] = _constraint_drops(fn, aliases, strings or {})

    def depended(self, phase: str, start: int) -> set[ColumnRef]:
        """The columns something made before line ``start`` of ``phase`` depends on, and in
        a downgrade what its upgrade made."""
        found = {k for line, keys in self.made.get(phase, ()) if line < start for k in keys}
        if phase.startswith("downgrade"):
            upgrade = "upgrade" + phase[len("downgrade"):]
            found |= {k for _, keys in self.made.get(upgrade, ()) for k in keys}
        return found

    def swapped(self, phase: str, start: int) -> set[TableRef]:
        """The tables a call before line ``start`` of ``phase`` drops a constraint of
        (:data:`ANY_TABLE` among them: maybe any)."""
        return {k for line, keys in self.drops.get(phase, ()) if line < start for k in keys}
