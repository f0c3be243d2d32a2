"""Script facts of a revision file: what it imports, where it creates an engine, and what
its ``downgrade()`` is (``script.import``, ``script.create_engine``, ``script.downgrade``).

Each ``script.import`` says how the revision uses what it imports (``args["uses"]``):
``"none"`` (no name it binds is used), ``"values"`` (only inside the type, ``default=`` or
``onupdate=`` of an ``sa.Column("name", ...)`` given to ``add_column`` / ``create_table``:
values the rules read from the source text alone, the type, or not at all, the Python-side
defaults; rendering cannot change what they find) or ``"code"`` (anything else: called as
a statement, passed as a name or an option, in a loop, a decorator, ``op.execute``,
module-level code, ``alter_column``'s ``type_=`` / ``existing_type=``, a
``server_default``, rebound, or a ``*`` import). Building a column's type or default is
taken to issue no operation.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator

from sluice.lint.model import Op
from sluice.lint.static.newop import make_op
from sluice.lint.static.values import func_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ENGINE_FACTORIES", "USES_CODE", "USES_NONE", "USES_VALUES", "downgrade_fact",
           "module_facts"]

ENGINE_FACTORIES = {"create_engine", "create_async_engine", "engine_from_config",
                     "async_engine_from_config", "create_mock_engine"}
_TRUSTED_TOP = {"alembic", "sqlalchemy", "__future__"}
_STDLIB: frozenset[str] = frozenset(getattr(sys, "stdlib_module_names", ())) | {
    "typing_extensions",
}
_ENGINE_NAMES = "|".join(sorted(ENGINE_FACTORIES))  # compiled where used: "engine" in source
_BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)
USES_NONE = "none"
USES_VALUES = "values"
USES_CODE = "code"


def module_facts(tree: ast.Module, source: str | None,
                 column_values: set[int] | frozenset[int] = frozenset()) -> list[Op]:
    """Imports and engine creation anywhere in the file (phase by enclosing function);
    ``column_values``: ``id()`` of the column values of Alembic operations where an
    imported name is used as a value only (see the module docstring)."""
    out: list[Op] = []
    nodes: Iterable[tuple[ast.AST, str]]
    if source is not None and not source.isascii():
        # Python reads identifiers NFKC-normalised (a fullwidth ``ｃreate_engine`` is
        # ``create_engine``); the text of the source as the parser sees its names
        import unicodedata  # lazy: only for a source that is not ASCII

        source = unicodedata.normalize("NFKC", source)
    steps = source is None or "sluice.data" in source  # (sluice.data's steps: see below)
    if source is not None and ("engine" not in source or not re.search(_ENGINE_NAMES, source)):
        # no engine factory is named anywhere: only statements can hold what is sought
        nodes = _imports_with_phase(tree, calls=steps)
    else:
        nodes = _walk_with_phase(tree)
    bound: dict[int, list[str]] = {}  # id() of an import fact -> the names it binds
    for node, phase in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                _import_fact(out, alias.name, node, phase, names=[], bound=bound,
                             binds=[alias.asname or alias.name.split(".")[0]])
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            _import_fact(out, module, node, phase, names=[a.name for a in node.names],
                         bound=bound, binds=[a.asname or a.name for a in node.names])
        elif isinstance(node, ast.Call) and func_name(node.func) in ENGINE_FACTORIES:
            out.append(Op("script.create_engine", args={"call": func_name(node.func)},
                          line=node.lineno, phase=phase))  # type: ignore[arg-type]
        elif isinstance(node, ast.Expr) and steps:
            fact = data_step_fact(node, phase)
            if fact is not None:
                out.append(fact)
    if bound:
        _mark_uses(tree, out, bound, column_values)
    return out


#: Imports a render could add nothing for: ``sluice fix``'s ``conventional_name``, whose
#: uses the static layer reads itself (:class:`~sluice.lint.static.values.RuntimeName`; a
#: use it cannot read leaves the SQL unknown, which makes the revision render anyway), and
#: ``sluice.data``'s steps, which offline (``--sql``) run no operation (they write their
#: statement as annotated text for a reader, which a render does not analyse).
_MODELLED = {"sluice.recipes.naming": {"conventional_name"},
             "sluice.data": {"batched_update", "batched_delete", "backfill", "BatchInfo",
                             "DataMigrationError", "LockRetriesExhausted"}}


def _import_fact(out: list[Op], module: str, node: ast.stmt, phase: str,
                 names: list[str], bound: dict[int, list[str]], binds: list[str]) -> None:
    top = module.split(".")[0]
    if names and set(names) <= _MODELLED.get(module, set()):
        return
    if module.startswith(".") or (top not in _STDLIB and top not in _TRUSTED_TOP):
        op = make_op("script.import", node.lineno, phase, {"names": names})
        op.name = module
        out.append(op)
        bound[id(op)] = binds


def _mark_uses(tree: ast.Module, facts: list[Op], bound: dict[int, list[str]],
               column_values: set[int] | frozenset[int]) -> None:
    """``args["uses"]`` of each import fact: the most telling use of a name it binds."""
    names = {n for binds in bound.values() for n in binds}
    seen = _name_uses(tree, names, column_values)
    for op in facts:
        binds = bound.get(id(op))
        if binds is None:
            continue
        uses = [seen.get(n, USES_NONE) for n in binds]
        op.args["uses"] = (USES_CODE if "*" in binds or USES_CODE in uses
                           else USES_VALUES if USES_VALUES in uses else USES_NONE)


def _name_uses(tree: ast.Module, names: set[str],
               column_values: set[int] | frozenset[int]) -> dict[str, str]:
    """For each of ``names`` used in ``tree``: ``values`` when every use is a load inside
    one of ``column_values``, else ``code``."""
    out: dict[str, str] = {}
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, in_value = stack.pop()
        if not in_value and id(node) in column_values:
            in_value = True
        if type(node) is ast.Name:
            if node.id in names:
                if in_value and type(node.ctx) is ast.Load:
                    out.setdefault(node.id, USES_VALUES)
                else:
                    out[node.id] = USES_CODE
            continue
        stack.extend((child, in_value) for child in ast.iter_child_nodes(node))
    return out


def downgrade_fact(functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef],
                   ops: list[Op]) -> Op:
    """The one ``script.downgrade`` fact: missing, raises, pass, empty or ops; with what
    ``upgrade()`` does (``ops``: the operations found so far)."""
    fn = functions.get("downgrade")
    ups = [o for o in ops if o.phase == "upgrade" and not o.kind.startswith("script.")]
    # what upgrade() does, for telling a data-only upgrade from a schema change:
    # (kind, literal SQL, Core construct) per operation
    args: dict[str, Any] = {
        "upgrade_ops": len(ups),
        "upgrade_detail": [(o.kind, o.sql, o.args.get("construct")) for o in ups],
    }
    if fn is None:
        up = functions.get("upgrade")
        line = up.lineno if up is not None else 1
        return make_op("script.downgrade", line, "downgrade", {"kind": "missing", **args})
    for o in ops:
        if o.phase == "downgrade" and not o.kind.startswith("script."):
            kind = "ops"
            break
    else:
        body = [s for s in fn.body if not _is_docstring(s)]
        if any(isinstance(s, ast.Raise) for s in body):
            kind = "raises"
        elif all(_is_noop(s) for s in body):
            kind = "pass"
        else:
            kind = "empty"
    return make_op("script.downgrade", fn.lineno, "downgrade", {"kind": kind, **args})


#: ``sluice.data``'s steps that fill columns, and the argument holding their columns.
_DATA_STEPS = {"batched_update": "values", "backfill": "columns"}


def data_step_fact(stmt: ast.Expr, phase: str) -> Op | None:
    """``script.data_step`` for a statement that calls a ``sluice.data`` step filling
    columns (``batched_update(table, {"col": ...}, where=...)``, ``backfill(table, fn,
    ["col"], where=...)``), with the table, its ``schema=`` and the columns spelled as
    literals: ``args`` ``call``, ``table``, ``schema`` (None: none given), ``columns`` and
    ``where``, which is ``*`` for every row, the column whose NULLs it fills
    (``sa.column("c").is_(None)``, ``sa.text("c IS NULL")``), or ``?``."""
    call = stmt.value
    name = func_name(call.func) if isinstance(call, ast.Call) else None
    if name not in _DATA_STEPS or not isinstance(call, ast.Call):
        return None
    params = dict(zip(("table", _DATA_STEPS[name] if name == "batched_update" else "fn",
                       "columns" if name == "backfill" else "where", "where"),
                      call.args, strict=False))
    params.update({k.arg: k.value for k in call.keywords if k.arg})
    table = params.get("table")
    cols = params.get(_DATA_STEPS[name])
    keys = cols.keys if isinstance(cols, ast.Dict) else \
        cols.elts if isinstance(cols, (ast.List, ast.Tuple)) else None
    schema = params.get("schema")
    if not (isinstance(table, ast.Constant) and isinstance(table.value, str)) or not keys \
            or not all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in keys) \
            or not (schema is None or (isinstance(schema, ast.Constant) and (
                schema.value is None or isinstance(schema.value, str)))):
        return None  # (a schema computed at run time: which table it fills is not known)
    return make_op("script.data_step", stmt.lineno, phase, {
        "call": name, "table": table.value,
        "schema": schema.value if isinstance(schema, ast.Constant) else None,
        "columns": [k.value for k in keys if isinstance(k, ast.Constant)],
        "where": _null_filled(params.get("where"))})


def _null_filled(where: ast.expr | None) -> str:
    if where is None or (isinstance(where, ast.Constant) and where.value is None):
        return "*"
    if isinstance(where, ast.Call) and func_name(where.func) == "is_" and where.args \
            and isinstance(where.args[0], ast.Constant) and where.args[0].value is None \
            and isinstance(where.func, ast.Attribute) and isinstance(where.func.value, ast.Call) \
            and func_name(where.func.value.func) == "column" and where.func.value.args \
            and isinstance(where.func.value.args[0], ast.Constant):
        return str(where.func.value.args[0].value).lower()
    if isinstance(where, ast.Call) and func_name(where.func) == "text" and where.args \
            and isinstance(where.args[0], ast.Constant) and isinstance(where.args[0].value, str):
        m = re.fullmatch(r'\s*"?(\w+)"?\s+IS\s+NULL\s*', where.args[0].value, re.I)
        if m:
            return m.group(1).lower()
    return "?"


def _imports_with_phase(tree: ast.Module, *, calls: bool = True) -> list[tuple[ast.AST, str]]:
    """The import statements (and, with ``calls``, the call statements)
    :func:`_walk_with_phase` would yield, in the same order, visiting statements only."""
    out: list[tuple[ast.AST, str]] = []
    _statement_imports(tree, "upgrade", out, calls)
    return out


def _statement_imports(node: ast.AST, phase: str, out: list[tuple[ast.AST, str]],
                       calls: bool) -> None:
    # a module-level function, not a closure: a closure that calls itself is a reference
    # cycle, garbage only the cycle collector frees, once per revision
    for name in _block_fields(type(node)):
        value = getattr(node, name, None)
        if not isinstance(value, list) or not value or not isinstance(value[0], _BLOCKS):
            continue
        for child in value:
            kind = type(child)
            if kind is ast.Import or kind is ast.ImportFrom or (
                    calls and kind is ast.Expr and type(child.value) is ast.Call):
                out.append((child, phase))
            elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
                _statement_imports(
                    child, "downgrade" if child.name.startswith("downgrade") else phase, out,
                    calls)
            elif kind is not ast.Expr and kind is not ast.Assign and kind is not ast.Return \
                    and _block_fields(kind):
                _statement_imports(child, phase, out, calls)


#: The fields of the grammar that hold statements (``stmt*``), exception handlers
#: (``excepthandler*``) or match cases (``match_case*``): no other field does.
_BLOCK_NAMES = frozenset({"body", "orelse", "finalbody", "handlers", "cases"})
_BLOCK_FIELDS: dict[type, tuple[str, ...]] = {}


def _block_fields(kind: type) -> tuple[str, ...]:
    """The fields of node type ``kind`` that can hold statements, in ``_fields`` order."""
    found = _BLOCK_FIELDS.get(kind)
    if found is None:
        found = _BLOCK_FIELDS[kind] = tuple(
            f for f in getattr(kind, "_fields", ()) if f in _BLOCK_NAMES)
    return found


def _walk_with_phase(tree: ast.Module) -> Iterator[tuple[ast.AST, str]]:
    return _walk_phase(tree, "upgrade")


def _walk_phase(node: ast.AST, phase: str) -> Iterator[tuple[ast.AST, str]]:
    # module level, not a closure calling itself (a reference cycle per revision)
    yield node, phase
    for child in ast.iter_child_nodes(node):
        child_phase = phase
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                child.name.startswith("downgrade"):
            child_phase = "downgrade"
        yield from _walk_phase(child, child_phase)


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _is_noop(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
