"""The table a step works on (reflected online, sketched from the script offline) and its
statements resolved against it, checked before any row is touched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ClauseElement, ColumnClause
from sqlalchemy.sql.expression import TableClause

from sluice.data.batch import BatchSql
from sluice.data.expressions import adapt, check_text_literals
from sluice.data.keys import choose_key
from sluice.data.model import BackfillFn, KeyArg, Kind, TableArg, fail, table_name


def resolve_target(table: TableArg, schema: str | None, key: KeyArg,
                   values: Mapping[Any, Any] | None, where: Any,
                   conn: Connection | None) -> tuple[TableClause, list[str]]:
    """The table to work on, with the types the script gave, and the key to walk."""
    user = None if isinstance(table, str) else table
    name = table_name(table)
    schema = schema if schema is not None else getattr(user, "schema", None)
    user_cols: dict[str, Any] = {c.name: c.type for c in user.c} if user is not None else {}
    if conn is None:  # offline: no database to reflect
        return _sketch(name, schema, user_cols, values, where), []
    try:
        reflected = sa.Table(name, sa.MetaData(), autoload_with=conn, schema=schema)
    except sa_exc.NoSuchTableError:
        in_schema = f" in schema '{schema}'" if schema else ""
        raise fail(f"table '{name}' does not exist{in_schema}") from None
    walk_on = choose_key(reflected, key)
    cols = []
    for col in reflected.columns:
        type_ = user_cols.get(col.name)
        if type_ is None or isinstance(type_, sa.types.NullType):
            type_ = col.type
        cols.append(sa.column(col.name, type_))
    return sa.table(name, *cols, schema=schema), walk_on


def _sketch(name: str, schema: str | None, user_cols: dict[str, Any],
            values: Mapping[Any, Any] | None, where: Any) -> TableClause:
    """Offline, the table is what the script says about it: its columns and types."""
    names = dict(user_cols)
    for col in (values or {}):
        names.setdefault(col if isinstance(col, str) else col.name, sa.types.NullType())
    expressions = [v for v in (values or {}).values() if isinstance(v, ClauseElement)]
    for expr in [where, *expressions] if where is not None else expressions:
        for el in visitors.iterate(expr):
            if isinstance(el, ColumnClause) and not el.is_literal and (
                el.table is None or getattr(el.table, "name", None) == name
            ):
                names.setdefault(el.name, el.type)
    return sa.table(name, *[sa.column(n, t) for n, t in names.items()], schema=schema)


def prepare(kind: Kind, label: str, target: TableClause, backend: str, key: list[str], *,
            where: Any, values: Mapping[Any, Any] | None, columns: Sequence[str] | None,
            fn: BackfillFn | None) -> BatchSql:
    """The step's statements against ``target``, walking on ``key``."""
    sql = BatchSql(kind=kind, label=label, target=target,
                   key_cols=[target.c[k] for k in key], fn=fn)
    if where is not None:
        check_text_literals(where, backend, "where=")
        sql.where_expr = adapt(where, target, "where=")
    for col, value in (values or {}).items():
        cname = col if isinstance(col, str) else col.name
        sql.set_values[cname] = _set_value(target, backend, key, cname, value)
    if kind == "backfill":
        wanted = list(columns) if columns is not None else list(target.c.keys())
        for cname in wanted:
            if cname not in target.c:
                raise fail(f"columns= names '{cname}', which table '{target.name}' does "
                           f"not have (columns: {', '.join(target.c.keys())})")
        sql.read_cols = [target.c[k] for k in key] + [
            target.c[c] for c in wanted if c not in key
        ]
    return sql


def _set_value(target: TableClause, backend: str, key: list[str], cname: str,
               value: Any) -> Any:
    """The SQL for ``values[cname]``: an expression rebound to the table, or a bind."""
    if cname not in target.c:
        raise fail(f"values= sets column '{cname}', which table '{target.name}' does "
                   f"not have (columns: {', '.join(target.c.keys())})")
    if cname in key:
        raise fail(
            f"values= changes key column '{cname}'. Changing the key the batches walk "
            "on moves rows ahead of the cursor, so they are processed twice or "
            "skipped. Walk on another unique key (key=...) instead."
        )
    if isinstance(value, ClauseElement):
        check_text_literals(value, backend, f"values['{cname}']")
        return adapt(value, target, f"values['{cname}']")
    if not isinstance(target.c[cname].type, sa.types.NullType):
        return sa.literal(value, target.c[cname].type)
    return sa.literal(value)
