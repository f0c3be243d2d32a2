"""PostgreSQL enum value changes, which plain autogenerate silently ignores.

Add a value to an ``sa.Enum`` in a model and ``alembic revision --autogenerate`` writes
nothing: the database type keeps its old values and the first insert of the new value
fails in production. Sluice's comparator compares each native enum used by a model table
with the database's type:

- values added in the model become ``ALTER TYPE ... ADD VALUE IF NOT EXISTS ...`` (placed
  ``BEFORE``/``AFTER`` its neighbours in model order) inside
  ``with op.get_context().autocommit_block():``, because ``ADD VALUE`` cannot be used in
  the transaction that adds it (PostgreSQL < 12 refuses it in any transaction block). The
  downgrade swaps the type for one without the value (PostgreSQL cannot drop a value).
- values removed from the model are warned about, with the type swap to do by hand: a
  removal must first move the rows still holding the value, so it is never automatic.

Where env.py imports `alembic-postgresql-enum <https://pypi.org/project/alembic-postgresql-enum/>`_,
that plugin compares enum values itself (``op.add_enum_value``, ``op.sync_enum_values``)
and this comparator stands down: both would otherwise write the same change twice, and
the second ``ADD VALUE`` fails.

Registration: :func:`register` adds the comparator to Alembic's global
``alembic.autogenerate.comparators`` (``dispatch_for("schema")``), which works on every
Alembic from 1.13 to 1.20 and is what Sluice uses. :func:`setup` is the same comparator as
an Alembic 1.18+ plugin (``setup(plugin)``, entry point group ``alembic.plugins``); the
comparator runs once per autogenerate run whichever way it was registered. It only acts in
environments wired with ``sluice.configure_options``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import comparators, renderers
from alembic.operations import Operations
from alembic.operations import ops as alembic_ops

from sluice.notices import notice
from sluice.policy.base import PolicyContext

_DONE = "_sluice_enums_compared"
#: alembic-postgresql-enum: imported (by env.py), it compares enum values itself.
PLUGIN = "alembic_postgresql_enum"


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    if name.isidentifier() and name == name.lower():
        return name
    return '"' + name.replace('"', '""') + '"'


def _type_name(schema: str | None, name: str) -> str:
    return f"{_ident(schema)}.{_ident(name)}" if schema else _ident(name)


@dataclass
class EnumColumn:
    table: str
    column: str
    schema: str | None = None
    default: str | None = None


@dataclass
class EnumUsage:
    """One native enum type as the models declare it."""

    name: str
    schema: str | None
    values: list[str]
    columns: list[EnumColumn] = field(default_factory=list)


def swap_statements(usage: EnumUsage, values: list[str]) -> list[str]:
    """SQL that replaces the enum type with one holding exactly ``values``.

    Every column using the type is converted through text; a row holding a value that is
    not in ``values`` makes the conversion fail, so nothing is lost silently.
    """
    full = _type_name(usage.schema, usage.name)
    old = _type_name(usage.schema, f"{usage.name}_old")
    stmts = [
        f"ALTER TYPE {full} RENAME TO {_ident(usage.name + '_old')}",
        f"CREATE TYPE {full} AS ENUM ({', '.join(_q(v) for v in values)})",
    ]
    for col in usage.columns:
        table = _type_name(col.schema, col.table)
        column = _ident(col.column)
        if col.default is not None:
            stmts.append(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")
        stmts.append(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {full} "
                     f"USING {column}::text::{full}")
        default = col.default.split("::")[0] if col.default is not None else None
        if default is not None and default.strip("'").replace("''", "'") in values:
            stmts.append(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT "
                         f"{default}::{full}")
    stmts.append(f"DROP TYPE {old}")
    return stmts


class AddEnumValuesOp(alembic_ops.MigrateOperation):
    """``ALTER TYPE name ADD VALUE ...`` for each new value, outside the transaction."""

    def __init__(self, usage: EnumUsage, added: list[str], old_values: list[str]) -> None:
        self.usage = usage
        self.added = added
        self.old_values = old_values
        #: Tables using the type: the op belongs to their owning service.
        self.sluice_tables = [(c.table, c.schema) for c in usage.columns]

    def statements(self) -> list[str]:
        values = self.usage.values
        present = set(self.old_values)
        out = []
        for value in self.added:
            idx = values.index(value)
            after = next((v for v in reversed(values[:idx]) if v in present), None)
            before = next((v for v in values[idx + 1:] if v in present), None)
            where = ""
            if after is not None and before is not None:
                where = f" AFTER {_q(after)}"
            elif before is not None:
                where = f" BEFORE {_q(before)}"
            out.append(f"ALTER TYPE {_type_name(self.usage.schema, self.usage.name)} "
                       f"ADD VALUE IF NOT EXISTS {_q(value)}{where}")
            present.add(value)
        return out

    def reverse(self) -> RemoveEnumValuesOp:
        return RemoveEnumValuesOp(self.usage, self.added, self.old_values)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("add_enum_values", self.usage.schema, self.usage.name, tuple(self.added))


class RemoveEnumValuesOp(alembic_ops.MigrateOperation):
    """The downgrade of :class:`AddEnumValuesOp`: a type swap back to the old values."""

    def __init__(self, usage: EnumUsage, removed: list[str], values: list[str]) -> None:
        self.usage = usage
        self.removed = removed
        self.values = values
        self.sluice_tables = [(c.table, c.schema) for c in usage.columns]

    def reverse(self) -> AddEnumValuesOp:
        return AddEnumValuesOp(self.usage, self.removed, self.values)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("remove_enum_values", self.usage.schema, self.usage.name, tuple(self.removed))


def _prefix(autogen_context: Any) -> str:
    return str(autogen_context.opts.get("alembic_module_prefix", "op."))


@renderers.dispatch_for(AddEnumValuesOp)
def _render_add(autogen_context: Any, op: AddEnumValuesOp) -> str:
    prefix = _prefix(autogen_context)
    lines = [
        f"# sluice: enum {op.usage.name} gains {', '.join(_q(v) for v in op.added)}; "
        "ADD VALUE runs outside the transaction",
        f"with {prefix}get_context().autocommit_block():",
    ]
    lines += [f"    {prefix}execute({stmt!r})" for stmt in op.statements()]
    return "\n".join(lines)


@renderers.dispatch_for(RemoveEnumValuesOp)
def _render_remove(autogen_context: Any, op: RemoveEnumValuesOp) -> str:
    prefix = _prefix(autogen_context)
    lines = [
        f"# sluice: PostgreSQL cannot drop an enum value: {op.usage.name} is swapped for a "
        f"type without {', '.join(_q(v) for v in op.removed)}.",
        "# Rows still holding those values make this fail: update them first.",
    ]
    lines += [f"{prefix}execute({stmt!r})" for stmt in swap_statements(op.usage, op.values)]
    return "\n".join(lines)


# --------------------------------------------------------------------------- comparing


def model_enums(autogen_context: Any) -> dict[tuple[str | None, str], EnumUsage]:
    """Native enums used by the model tables autogenerate may see, by (schema, name)."""
    md = autogen_context.metadata
    metadatas = md if isinstance(md, (list, tuple)) else ([md] if md is not None else [])
    out: dict[tuple[str | None, str], EnumUsage] = {}
    for metadata in metadatas:
        for table in metadata.tables.values():
            if not autogen_context.run_object_filters(table, table.name, "table", False, None):
                continue
            for column in table.columns:
                type_ = column.type
                if not isinstance(type_, sa.Enum) or not type_.native_enum or not type_.name:
                    continue
                schema = type_.schema or table.schema
                usage = out.setdefault(
                    (schema, type_.name), EnumUsage(type_.name, schema, list(type_.enums))
                )
                usage.columns.append(EnumColumn(table.name, column.name, table.schema))
    return out


def _db_columns(conn: Any, usage: EnumUsage, default_schema: str) -> list[EnumColumn]:
    rows = conn.execute(sa.text(
        "SELECT tn.nspname, c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid) "
        "FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace tn ON tn.oid = c.relnamespace "
        "JOIN pg_type t ON t.oid = a.atttypid "
        "JOIN pg_namespace n ON n.oid = t.typnamespace "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE t.typname = :name AND n.nspname = :schema AND c.relkind IN ('r', 'p') "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum"
    ), {"name": usage.name, "schema": usage.schema or default_schema})
    return [EnumColumn(table, column, None if schema == default_schema else schema, default)
            for schema, table, column, default in rows]


def compare_enums(autogen_context: Any, upgrade_ops: alembic_ops.UpgradeOps,
                  schemas: Iterable[str | None]) -> Any:
    """Autogenerate comparator (target ``"schema"``): enum values added or removed."""
    mc = autogen_context.migration_context
    if mc is None or "sluice_config" not in mc.opts or autogen_context.dialect is None:
        return None
    if autogen_context.dialect.name != "postgresql" or autogen_context.connection is None:
        return None
    if getattr(autogen_context, _DONE, False):
        return None  # registered both globally and as a plugin
    setattr(autogen_context, _DONE, True)
    if PLUGIN in sys.modules or hasattr(Operations, "sync_enum_values"):
        # imported (its operation registered): its own comparators write
        # op.add_enum_value / op.sync_enum_values
        return None

    conn = autogen_context.connection
    default_schema = conn.dialect.default_schema_name
    inspector = sa.inspect(conn)
    db: dict[tuple[str | None, str], list[str]] = {}
    for schema in set(schemas) | {None}:
        for enum in inspector.get_enums(schema=schema):
            key_schema = None if enum["schema"] == default_schema else enum["schema"]
            db[(key_schema, enum["name"])] = list(enum["labels"])
    new_ops: list[Any] = []
    for key, usage in sorted(model_enums(autogen_context).items(), key=lambda kv: str(kv[0])):
        if key not in db:
            continue  # a new type: created with its table
        current = db[key]
        added = [v for v in usage.values if v not in current]
        removed = [v for v in current if v not in usage.values]
        if not added and not removed:
            continue
        usage.columns = _db_columns(conn, usage, default_schema) or usage.columns
        if added:
            new_ops.append(AddEnumValuesOp(usage, added, current))
        if removed:
            _warn_removed(usage, removed)
    upgrade_ops.ops[0:0] = new_ops
    return None


def _warn_removed(usage: EnumUsage, removed: list[str]) -> None:
    stmts = swap_statements(usage, usage.values)  # the type as the model declares it
    cols = ", ".join(f"{c.table}.{c.column}" for c in usage.columns) or "(no column)"
    names = ", ".join(_q(v) for v in removed)
    steps = "\n".join(f"         {s};" for s in stmts)
    lost_defaults = [f"{c.table}.{c.column}" for c in usage.columns
                     if c.default is not None and c.default.split("::")[0].strip("'") in removed]
    if lost_defaults:
        steps += (f"\n         -- {', '.join(lost_defaults)} defaulted to a removed value: "
                  "SET DEFAULT a new one")
    notice(
        f"sluice: warning: enum {usage.name}: {names} removed from the model but still in the "
        f"database type (used by {cols}); autogenerate does not drop enum values.\n"
        "   PostgreSQL cannot drop a value from an enum; it takes a type swap:\n"
        f"   1. Move the rows off {names} (UPDATE ... SET col = <another value>) and deploy "
        "code that no longer writes them.\n"
        "   2. In a hand-written revision, swap the type:\n"
        f"{steps}\n"
        "   3. The swap rewrites every table using the type under an ACCESS EXCLUSIVE lock; "
        "schedule it for a quiet moment."
    )


def register() -> None:
    """Add the comparator to Alembic's global comparators (Alembic 1.13 and later)."""
    if not getattr(compare_enums, "_sluice_registered", False):
        comparators.dispatch_for("schema")(compare_enums)
        compare_enums._sluice_registered = True  # type: ignore[attr-defined]


def setup(plugin: Any) -> None:
    """Alembic 1.18+ plugin entry point: ``plugin.add_autogenerate_comparator``."""
    plugin.add_autogenerate_comparator(compare_enums, "schema")


register()


# --------------------------------------------------------------------------- review notes


def enum_notes(ctx: PolicyContext, directives: list[alembic_ops.MigrationScript]) -> None:
    """Enum value changes in the review header: ``ALTER TYPE ... ADD VALUE`` is not an
    Alembic operation, so the lint model does not see it; the review header counts and
    lists each :class:`AddEnumValuesOp` as an operation (:func:`describe_enum_values`).
    Kept as a registered policy step, it has nothing left to do here."""
    return None


def describe_enum_values(op: AddEnumValuesOp) -> str:
    """The review header's line for ``op``."""
    return (f"[low   ] add enum values {op.usage.name}: {', '.join(op.added)} "
            "(outside the transaction)")


def _leaves(ops: Iterable[Any]) -> Iterable[Any]:
    for op in ops:
        if isinstance(op, alembic_ops.OpContainer):
            yield from _leaves(op.ops)
        else:
            yield op
