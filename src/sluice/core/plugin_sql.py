"""The SQL that operations of Alembic plugins run, for the lint model.

A plugin's operation (``op.sync_enum_values(...)`` of alembic-postgresql-enum) is not an
Alembic operation: the lint rules cannot read it. What it runs is plain SQL, built here
from its arguments, so that the static layer (which reads the call from the source,
:mod:`sluice.lint.static.plugins`) and autogenerate's judgement (which gets the
operation object, :func:`sluice.core.alembic_ops.ops_to_models`) give the rules the same
statements, as ``execute`` operations for the one dialect the plugin runs on.

tests/test_lint_plugin_ops.py compares each with the installed plugin's own offline SQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sluice.core.ops import Op

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ENUM_PLUGIN", "EnumColumnRef", "add_enum_value_sql", "default_modelled",
           "plugin_models",
           "sync_enum_values_sql"]

#: alembic-postgresql-enum's module; its operations run on PostgreSQL only.
ENUM_PLUGIN = "alembic_postgresql_enum"

#: The comparison operators the plugin defines between the new and the old type while
#: the columns change (so that indexes and constraints comparing them keep working).
_OPERATORS = (("!=", "new_old_not_equals"), ("=", "new_old_equals"))


@dataclass
class EnumColumnRef:
    """One column an enum type's change converts (the plugin's ``TableReference``)."""

    table: str
    column: str
    schema: str | None
    array: bool = False
    default: str | None = None


def default_modelled(default: Any) -> bool:
    """A column's ``existing_server_default`` the SQL here reproduces: none, or a plain
    text one (an ``ARRAY[...]`` default, whose casts the plugin rewrites inside the array,
    is not modelled)."""
    return default is None or isinstance(default, str) and not default.startswith("ARRAY[")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sync_enum_values_sql(schema: str, name: str, values: Sequence[str],
                         columns: Sequence[EnumColumnRef],
                         renames: Sequence[tuple[str, str]] = ()) -> list[str]:
    """``sync_enum_values``: the type is renamed to ``<name>_old``, created anew with
    ``values``, each column is changed to it (``USING col::text::type``, a table rewrite
    under an ACCESS EXCLUSIVE lock), and the old type is dropped."""
    new_type = f'"{schema}"."{name}"'
    old_type = f'"{schema}"."{name}_old"'
    out = [f'ALTER TYPE {new_type} RENAME TO "{name}_old"',
           f"CREATE TYPE {new_type} AS ENUM({', '.join(_quote(v) for v in values)})"]
    for symbol, function in _OPERATORS:
        old_text = "old_enum_val::text"
        if renames:
            whens = " ".join(f"WHEN old_enum_val::text = {_quote(old)} THEN {_quote(new)}"
                             for old, new in renames)
            old_text = f"CASE {whens} ELSE old_enum_val::text END"
        out.append(f'CREATE FUNCTION "{schema}".{function}(new_enum_val {new_type}, '
                   f"old_enum_val {old_type}) RETURNS boolean AS $$ SELECT new_enum_val::text "
                   f"{symbol} {old_text}; $$ LANGUAGE SQL IMMUTABLE")
        out.append(f'CREATE OPERATOR "{schema}".{symbol} (leftarg = {new_type}, '
                   f'rightarg = {old_type}, procedure = "{schema}".{function})')
    for col in columns:
        table = f'"{col.schema}"."{col.table}"' if col.schema else f'"{col.table}"'
        alter = f'ALTER TABLE {table} ALTER COLUMN "{col.column}"'
        if col.default is not None:
            out.append(f"{alter} DROP DEFAULT")
        out.append(f"{alter} {_cast(col.column, new_type, col.array, renames)}")
        if col.default is not None:
            out.append(f"{alter} SET DEFAULT "
                       f"{_renamed_default(col.default, schema, name, renames)}")
    for symbol, function in _OPERATORS:
        out.append(f'DROP OPERATOR IF EXISTS "{schema}".{symbol} ({new_type}, {old_type})')
        out.append(f'DROP FUNCTION "{schema}".{function}(new_enum_val {new_type}, '
                   f"old_enum_val {old_type})")
    out.append(f"DROP TYPE {old_type}")
    return out


def add_enum_value_sql(schema: str, name: str, value: str, before: str | None = None) -> str:
    """``add_enum_value``: one ``ALTER TYPE ... ADD VALUE`` in the migration's transaction
    (placed ``AFTER`` the value named ``before_value``, as the plugin writes it)."""
    sql = f'ALTER TYPE "{schema}"."{name}" ADD VALUE {_quote(value)}'
    return sql + (f" AFTER {_quote(before)}" if before else "")


def _cast(column: str, new_type: str, array: bool, renames: Sequence[tuple[str, str]]) -> str:
    """The ``TYPE ... USING ...`` clause changing ``column`` to the new type."""
    quoted = f'"{column}"'
    if array:
        value = f"{quoted}::text[]"
        for old, new in renames:
            value = f"array_replace({value}, {_quote(old)}, {_quote(new)})"
        return f"TYPE {new_type}[] USING {value}::{new_type}[]"
    if renames:
        whens = " ".join(f"WHEN {quoted}::text = {_quote(old)} THEN {_quote(new)}::{new_type}"
                         for old, new in renames)
        return f"TYPE {new_type} USING CASE {whens} ELSE {quoted}::text::{new_type} END"
    return f"TYPE {new_type} USING {quoted}::text::{new_type}"


def _renamed_default(default: str, schema: str, name: str,
                     renames: Sequence[tuple[str, str]]) -> str:
    """The column's default again, cast to the new type and with renamed values."""
    for old, new in renames:
        default = default.replace(f"'{old}'", f"'{new}'").replace(f'"{old}"', f'"{new}"')
    cut = default.find("::")
    value = default[:cut] if cut >= 0 else default
    suffix = "[]" if default.endswith("[]") else ""
    return f"{value}::{schema}.{name}{suffix}"


def _reference(ref: Any, schema: str) -> EnumColumnRef | None:
    """A ``TableReference`` (or an old-style ``(table, column)`` tuple) as a column."""
    if isinstance(ref, tuple):
        if len(ref) < 2 or not all(isinstance(x, str) for x in ref[:2]):
            return None
        array = len(ref) > 2 and getattr(ref[2], "name", None) == "ARRAY"
        return EnumColumnRef(ref[0], ref[1], schema, array)
    table, column = getattr(ref, "table_name", None), getattr(ref, "column_name", None)
    if not isinstance(table, str) or not isinstance(column, str):
        return None
    table_schema = getattr(ref, "table_schema", None)
    default = getattr(ref, "existing_server_default", None)
    if not default_modelled(default):
        return None
    return EnumColumnRef(
        table, column, table_schema if table_schema is None or isinstance(table_schema, str)
        else schema,  # the plugin's "Unspecified": the enum's schema
        getattr(getattr(ref, "column_type", None), "name", None) == "ARRAY", default)


def plugin_models(op: Any, *, phase: str = "upgrade") -> list[Op] | None:
    """A plugin operation object (what its autogenerate comparators write) as the
    ``execute`` operations of the SQL it runs; None when it is not one modelled here."""
    kind = type(op)
    if not kind.__module__.startswith(ENUM_PLUGIN + "."):
        return None
    schema, name = getattr(op, "schema", None), getattr(op, "name", None)
    new, old = getattr(op, "new_values", None), getattr(op, "old_values", None)
    if not isinstance(schema, str) or not isinstance(name, str) \
            or not isinstance(new, (list, tuple)) or getattr(op, "indexes_to_recreate", None):
        return None
    if kind.__name__ == "AddEnumValuesOp":
        statements = [add_enum_value_sql(schema, name, v) for v in new if v not in (old or ())]
    elif kind.__name__ == "SyncEnumValuesOp":
        columns = [_reference(r, schema) for r in getattr(op, "affected_columns", ())]
        if any(c is None for c in columns):
            return None
        statements = sync_enum_values_sql(schema, name, new,
                                          [c for c in columns if c is not None])
    else:
        return None
    via = f"{ENUM_PLUGIN}.{_OPERATION_NAMES[kind.__name__]}"
    out = []
    for sql in statements:
        model = Op("execute", sql=sql, phase=phase,  # type: ignore[arg-type]
                   args={"via": via, "dialect": "postgresql", "enum": f"{schema}.{name}"},
                   source="autogenerate")
        target = _ALTER_COLUMN.match(sql)
        if target:  # what a refusal names and -x allow=execute:TARGET matches
            model.schema, model.table, model.column = target.groups()
        out.append(model)
    return out


#: The plugin's operation classes -> the ``op.<name>`` they are written as.
_OPERATION_NAMES = {"AddEnumValuesOp": "add_enum_value", "SyncEnumValuesOp": "sync_enum_values"}
_ALTER_COLUMN = re.compile(r'ALTER TABLE (?:"([^"]+)"\.)?"([^"]+)" ALTER COLUMN "([^"]+)"')
