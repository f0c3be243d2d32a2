"""The drift check's differences as sentences: one line per autogenerate diff, saying what
differs and on which side (the models or the database).

Every diff kind Alembic's comparison produces has its own sentence, and so have the
operations Sluice's comparators add (PostgreSQL enum values) and Sluice's rename rewrite;
an operation from another plugin is described from its parts (names, not reprs), so no
line of the report is a raw tuple.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

MODELS, DB = "in the models", "in the database"


def _type(type_: Any, dialect: Any) -> str:
    if type_ is None:
        return "?"
    try:
        return str(type_.compile(dialect=dialect))
    except Exception:
        return repr(type_)


def _null(nullable: Any) -> str:
    return "NULL" if nullable else "NOT NULL"


def _sql(value: Any) -> str:
    text = getattr(value, "text", None)
    return str(text) if text is not None else str(value)


def _default(value: Any) -> str:
    if value is None:
        return "no default"
    if isinstance(value, sa.Computed):
        return f"computed {_sql(value.sqltext)}"
    if isinstance(value, sa.Identity):
        return "identity"
    return f"default {_sql(getattr(value, 'arg', value))}"


def _tname(schema: str | None, table: str | None) -> str:
    return f"{schema}.{table}" if schema else str(table)


def _cols(cols: Sequence[Any]) -> str:
    """Column names, and expressions as SQL (``lower(email)``, not the function's name)."""
    return ", ".join(c.name if isinstance(c, sa.sql.expression.ColumnClause) else _expr(c)
                     for c in cols)


def _expr(value: Any) -> str:
    """An index expression as SQL, its columns unqualified (``lower(email)``)."""
    try:
        return str(value.compile(compile_kwargs={"include_table": False,
                                                 "literal_binds": True}))
    except Exception:  # noqa: BLE001 - a string, or an expression that will not compile
        return str(value)


def _values(values: Sequence[Any]) -> str:
    shown = ", ".join(repr(str(v)) for v in values)
    return f"value{'s' if len(values) != 1 else ''} {shown}"


def _sides(kind: str, what: str, *, added: str) -> str:
    """``what: in the models, missing from the database`` for an ``add_*`` kind, the
    reverse for a ``remove_*`` one."""
    if kind.startswith(added):
        return f"{what}: {MODELS}, missing from the database"
    return f"{what}: {DB}, not in the models"


def _part(value: Any) -> str | None:
    """One part of an unknown diff tuple, by name when it is a schema object."""
    if value is None:
        return None
    if isinstance(value, sa.Table):
        return f"table {_tname(value.schema, value.name)}"
    if isinstance(value, sa.Column):
        table = getattr(value, "table", None)
        owner = f"{_tname(table.schema, table.name)}." if isinstance(table, sa.Table) else ""
        return f"column {owner}{value.name}"
    if isinstance(value, (sa.Index, sa.Constraint)):
        return f"{type(value).__name__} {value.name or '(unnamed)'}"
    if isinstance(value, (tuple, list)):
        return ", ".join(repr(v) if isinstance(v, str) else str(v) for v in value)
    return str(value)


def _column_change(kind: str, diff: Sequence[Any], dialect: Any) -> str:
    _, schema, table, column, _existing, old, new = diff
    where = f"column {_tname(schema, table)}.{column}"
    if kind == "modify_type":
        return f"{where}: type {_type(old, dialect)} {DB}, {_type(new, dialect)} {MODELS}"
    if kind == "modify_nullable":
        return f"{where}: {_null(old)} {DB}, {_null(new)} {MODELS}"
    if kind == "modify_default":
        return f"{where}: {_default(old)} {DB}, {_default(new)} {MODELS}"
    if kind == "modify_comment":
        return f"{where}: comment {old!r} {DB}, {new!r} {MODELS}"
    return f"{where}: {kind.removeprefix('modify_')} {old!r} {DB}, {new!r} {MODELS}"


def describe_diff(diff: Any, dialect: Any) -> str:
    """One line for one autogenerate diff tuple: what differs, and on which side."""
    if not isinstance(diff, (tuple, list)) or not diff:
        return f"{type(diff).__name__}: an operation without a description"
    kind = str(diff[0])
    if kind in ("add_table", "remove_table"):
        t = diff[1]
        name = _tname(t.schema, t.name)
        return (f"table {name}: {MODELS}, missing from the database (no migration creates it)"
                if kind == "add_table" else f"table {name}: {DB}, not in the models")
    if kind in ("add_column", "remove_column"):
        _, schema, table, col = diff
        where = f"column {_tname(schema, table)}.{col.name}"
        spec = f"{_type(col.type, dialect)}, {_null(col.nullable)}"
        return (f"{where}: {MODELS} ({spec}), missing from the database"
                if kind == "add_column" else f"{where}: {DB} ({spec}), not in the models")
    if kind.startswith("modify_") and len(diff) == 7:
        return _column_change(kind, diff, dialect)
    if kind in ("add_index", "remove_index"):
        idx = diff[1]
        table = idx.table
        cols = _cols(idx.expressions if getattr(idx, "expressions", None) else idx.columns)
        what = (f"{'unique ' if idx.unique else ''}index {idx.name} on "
                f"{_tname(table.schema, table.name)} ({cols})")
        return _sides(kind, what, added="add")
    if kind in ("add_constraint", "remove_constraint"):
        con = diff[1]
        table = con.table
        label = type(con).__name__.replace("Constraint", " constraint").lower().strip()
        what = (f"{label} {con.name or '(unnamed)'} on {_tname(table.schema, table.name)} "
                f"({_cols(list(con.columns))})")
        return _sides(kind, what, added="add")
    if kind in ("add_fk", "remove_fk"):
        fk = diff[1]
        table = fk.parent
        ref = fk.elements[0].column.table if fk.elements else None
        refname = _tname(ref.schema, ref.name) if ref is not None else "?"
        refcols = ", ".join(e.column.name for e in fk.elements)
        what = (f"foreign key {fk.name + ' ' if fk.name else ''}"
                f"{_tname(table.schema, table.name)}({_cols(list(fk.columns))}) -> "
                f"{refname}({refcols})")
        return _sides(kind, what, added="add")
    if kind == "add_table_comment":
        t, existing = diff[1], (diff[2] if len(diff) > 2 else None)
        return (f"table {_tname(t.schema, t.name)}: comment {existing!r} {DB}, "
                f"{t.comment!r} {MODELS}")
    if kind == "remove_table_comment":
        t = diff[1]
        return f"table {_tname(t.schema, t.name)}: comment {DB}, none {MODELS}"
    if kind in ("add_enum_values", "remove_enum_values"):
        _, schema, name, values = diff
        where = f"enum {_tname(schema, name)}: {_values(list(values))}"
        return (f"{where} {MODELS}, missing from the database" if kind.startswith("add")
                else f"{where} {DB}, not in the models")
    if kind == "rename_table":
        return f"table {diff[1]}: named {diff[2]} {MODELS}"
    if kind == "execute":
        return f"SQL to run: {_sql(diff[1])}"
    parts = [p for p in (_part(x) for x in diff[1:]) if p]
    return f"{kind.replace('_', ' ')}: {'; '.join(parts)}" if parts else kind.replace("_", " ")


def flatten(diffs: Sequence[Any]) -> Iterator[Any]:
    """Alembic's ``as_diffs()`` nests a column's changes in a list: one diff at a time."""
    for d in diffs:
        if isinstance(d, list):
            yield from flatten(d)
        elif d != ():  # an operation with nothing to compare (a comment line)
            yield d
