"""Operations that Alembic plugins register, read statically as the SQL they run.

An ``op.<name>`` that is not Alembic's own is a custom operation: the static layer cannot
know what it does, so its revision is rendered offline (importing Alembic, SQLAlchemy and
the plugin). For a plugin operation modelled here, a call whose arguments are all spelled
out becomes the statements the plugin runs, as ``execute`` operations with literal SQL:
the rules read them as they read the rendered ones, and the revision is not rendered.
A call the model cannot read (a value built at run time, a feature it does not model)
stays a custom operation and is rendered as before.

Each model is data (:class:`PluginOperation`: the plugin, the operation's parameters, the
dialect it runs on) plus one function from the call's arguments to the SQL.
tests/test_lint_plugin_ops.py lints each modelled call both ways, against the installed
plugin's own offline SQL, and expects the same findings.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

from sluice.core.plugin_sql import (
    ENUM_PLUGIN,
    EnumColumnRef,
    add_enum_value_sql,
    default_modelled,
    sync_enum_values_sql,
)
from sluice.lint.static.values import UNKNOWN, func_name, literal_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["PLUGIN_OPERATIONS", "PluginOperation", "plugin_statements"]


@dataclass(frozen=True)
class PluginOperation:
    """One plugin operation the static layer reads as SQL."""

    #: ``op.<name>``.
    name: str
    #: The module that registers it (a revision using the plugin's classes imports it).
    module: str
    #: Its parameters in order (positional arguments bind to these).
    params: tuple[str, ...]
    #: The dialect it runs on: on any other the plugin does nothing.
    dialect: str
    #: The call's arguments (by parameter name, as ``ast`` nodes) -> its statements; None
    #: when they are not all spelled out (the revision is rendered instead).
    lift: Callable[[dict[str, ast.expr], dict[str, Any]], list[str] | None]


def plugin_statements(name: str, call: ast.Call, consts: dict[str, Any],
                      source: str | None) -> tuple[PluginOperation, list[str]] | None:
    """The statements ``op.<name>(...)`` runs, when it is a modelled plugin operation
    whose arguments are all spelled out; None otherwise."""
    model = PLUGIN_OPERATIONS.get(name)
    if model is None:
        return None
    params: dict[str, ast.expr] = {}
    for i, node in enumerate(call.args):
        if isinstance(node, ast.Starred) or i >= len(model.params):
            return None
        params[model.params[i]] = node
    for kw in call.keywords:
        if kw.arg is None or kw.arg not in model.params:
            return None  # ``**kwargs`` or a parameter the plugin does not have
        params[kw.arg] = kw.value
    uses_classes = any(isinstance(n, ast.Name) and n.id in _ENUM_CLASSES
                       for n in ast.walk(call))
    if uses_classes and (source is None or model.module not in source):
        return None  # classes of the same name, from somewhere else
    statements = model.lift(params, consts)
    return (model, statements) if statements is not None else None


# ----------------------------------------------------------- alembic-postgresql-enum

#: The classes of alembic-postgresql-enum a call spells its columns with.
_ENUM_CLASSES = frozenset({"TableReference", "ColumnType"})
_REFERENCE_PARAMS = ("table_name", "column_name", "table_schema", "column_type",
                     "existing_server_default")
def _literal(node: ast.expr | None, consts: dict[str, Any], default: Any = None) -> Any:
    return default if node is None else literal_value(node, consts)


def _column(node: ast.expr, schema: str, consts: dict[str, Any]) -> EnumColumnRef | None:
    """One entry of ``affected_columns``: ``("table", "column"[, ColumnType.X])`` (the
    old style: the schema is the enum's) or ``TableReference(...)``."""
    if isinstance(node, ast.Tuple):
        if not 2 <= len(node.elts) <= 3:
            return None
        table, column = (literal_value(e, consts) for e in node.elts[:2])
        array = _column_type(node.elts[2]) if len(node.elts) == 3 else False
        if not isinstance(table, str) or not isinstance(column, str) or array is None:
            return None
        # the plugin reads the column's default from the database here, which a render
        # cannot do either: the DROP / SET DEFAULT around the change are not modelled
        return EnumColumnRef(table, column, schema, array, None)
    if not isinstance(node, ast.Call) or func_name(node.func) != "TableReference":
        return None
    args: dict[str, ast.expr] = dict(zip(_REFERENCE_PARAMS, node.args, strict=False))
    for kw in node.keywords:
        if kw.arg is None or kw.arg not in _REFERENCE_PARAMS:
            return None
        args[kw.arg] = kw.value
    table, column = _literal(args.get("table_name"), consts), _literal(args.get("column_name"),
                                                                      consts)
    table_schema = _literal(args.get("table_schema"), consts, schema)  # unset: the enum's
    default = _literal(args.get("existing_server_default"), consts)
    array = _column_type(args["column_type"]) if "column_type" in args else False
    if not (isinstance(table, str) and isinstance(column, str) and array is not None
            and (table_schema is None or isinstance(table_schema, str))
            and default_modelled(default)):
        return None
    return EnumColumnRef(table, column, table_schema, array, default)


def _column_type(node: ast.expr) -> bool | None:
    """``ColumnType.ARRAY`` -> True, ``ColumnType.COMMON`` -> False, else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
            and node.value.id == "ColumnType" and node.attr in ("ARRAY", "COMMON"):
        return node.attr == "ARRAY"
    return None


def _sync_enum_values(params: dict[str, ast.expr], consts: dict[str, Any]) -> list[str] | None:
    """``op.sync_enum_values(enum_schema, enum_name, new_values, affected_columns,
    enum_values_to_rename=(), indexes_to_recreate=None)`` of alembic-postgresql-enum: the
    type is renamed to ``<name>_old``, created anew with the new values, each column is
    changed to it (``USING col::text::type``, a table rewrite under an ACCESS EXCLUSIVE
    lock), and the old type is dropped. Indexes to recreate are not modelled."""
    schema = _literal(params.get("enum_schema"), consts, UNKNOWN)
    name = _literal(params.get("enum_name"), consts, UNKNOWN)
    values = _literal(params.get("new_values"), consts, UNKNOWN)
    renames = _literal(params.get("enum_values_to_rename"), consts, ())
    indexes = _literal(params.get("indexes_to_recreate"), consts, None)
    columns_node = params.get("affected_columns")
    if not (isinstance(schema, str) and isinstance(name, str)
            and isinstance(values, (list, tuple)) and all(isinstance(v, str) for v in values)
            and isinstance(renames, (list, tuple))
            and all(isinstance(r, (list, tuple)) and len(r) == 2
                    and all(isinstance(x, str) for x in r) for r in renames)
            and indexes in (None, [], ())
            and isinstance(columns_node, (ast.List, ast.Tuple))):
        return None
    columns = [_column(node, schema, consts) for node in columns_node.elts]
    if any(c is None for c in columns):
        return None
    found = [c for c in columns if c is not None]
    return sync_enum_values_sql(schema, name, values, found, [tuple(r) for r in renames])


def _add_enum_value(params: dict[str, ast.expr], consts: dict[str, Any]) -> list[str] | None:
    """``op.add_enum_value(enum_schema, enum_name, new_value, before_value=None)`` of
    alembic-postgresql-enum: one ``ALTER TYPE ... ADD VALUE``."""
    schema = _literal(params.get("enum_schema"), consts, UNKNOWN)
    name = _literal(params.get("enum_name"), consts, UNKNOWN)
    value = _literal(params.get("new_value"), consts, UNKNOWN)
    before = _literal(params.get("before_value"), consts, None)
    if not (isinstance(schema, str) and isinstance(name, str) and isinstance(value, str)
            and (before is None or isinstance(before, str))):
        return None
    return [add_enum_value_sql(schema, name, value, before)]


PLUGIN_OPERATIONS: dict[str, PluginOperation] = {
    "sync_enum_values": PluginOperation(
        name="sync_enum_values",
        module=ENUM_PLUGIN,
        params=("enum_schema", "enum_name", "new_values", "affected_columns",
                "enum_values_to_rename", "indexes_to_recreate"),
        dialect="postgresql",
        lift=_sync_enum_values,
    ),
    "add_enum_value": PluginOperation(
        name="add_enum_value",
        module=ENUM_PLUGIN,
        params=("enum_schema", "enum_name", "new_value", "before_value"),
        dialect="postgresql",
        lift=_add_enum_value,
    ),
}
