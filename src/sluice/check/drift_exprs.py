"""What the drift check compares beyond Alembic: partial indexes' predicates and generated
columns' expressions.

Alembic's comparison reads neither an index's WHERE (``postgresql_where``,
``sqlite_where``) nor a computed column's expression (it warns "Computed default on ...
cannot be modified" at most, and a database column that is computed where the models'
is not passes): a database whose partial index lost its WHERE, or whose generated column
computes something else, would pass the gate. Here both sides are compared by meaning
(:mod:`sluice.check.sqlexpr`), each database's spelling aside; a difference is a sentence
and the operations that rebuild the object as the models have it (written by hand:
autogenerate does not write them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import sqlalchemy as sa
from alembic.operations import ops as alembic_ops

from sluice.check.sqlexpr import same
from sluice.check.sqlite_ddl import generated_columns, index_parts


class ExpressionDrift(NamedTuple):
    """One difference: its sentence, the operations that fix it, and the object's name."""

    line: str
    ops: list[Any]
    name: str
    #: ``modify_computed`` or ``modify_index_where`` (the JSON output's ``kind``).
    kind: str


def _sql(element: Any, dialect: Any) -> str | None:
    """A model's expression (a string, ``text()`` or a column expression) as the SQL the
    database is given."""
    if element is None:
        return None
    if isinstance(element, str):
        return element
    return str(element.compile(dialect=dialect, compile_kwargs={"literal_binds": True,
                                                                "include_table": False}))


def _differ(models: str | None, database: str | None, dialect: Any) -> bool:
    if models is None or database is None:
        return (models is None) != (database is None)
    return not same(models, database, dialect.name)


def _sqlite_master(conn: Any, schema: str | None) -> dict[tuple[str, str], str]:
    master = f'"{schema}".sqlite_master' if schema else "sqlite_master"
    rows = conn.execute(sa.text(
        f"SELECT type, name, sql FROM {master} "  # noqa: S608 - quoted schema
        "WHERE type IN ('table', 'index') AND sql IS NOT NULL")).fetchall()
    return {(str(t), str(n)): str(s) for t, n, s in rows}


class _Database:
    """The computed expressions and index predicates of the database, read once a schema
    (every table's columns and indexes in one go)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.insp = sa.inspect(conn)
        self.sqlite = conn.dialect.name == "sqlite"
        self.read: dict[str | None, tuple[dict[Any, Any], dict[Any, Any],
                                          dict[tuple[str, str], str]]] = {}

    def _schema(self, schema: str | None) -> tuple[dict[Any, Any], dict[Any, Any],
                                                   dict[tuple[str, str], str]]:
        if schema not in self.read:
            self.read[schema] = (
                dict(self.insp.get_multi_columns(schema=schema)),
                dict(self.insp.get_multi_indexes(schema=schema)),
                _sqlite_master(self.conn, schema) if self.sqlite else {})
        return self.read[schema]

    def has(self, table: sa.Table) -> bool:
        return (table.schema, table.name) in self._schema(table.schema)[0]

    def computed(self, table: sa.Table) -> dict[str, str | None]:
        """Each column of ``table`` in the database: its expression, None when plain."""
        columns, _, master = self._schema(table.schema)
        found = generated_columns(master.get(("table", table.name), "")) if self.sqlite \
            else None
        out: dict[str, str | None] = {}
        for c in columns.get((table.schema, table.name), []):
            if found is not None:
                out[c["name"]] = found[c["name"]][0] if c["name"] in found else None
            else:
                out[c["name"]] = (c.get("computed") or {}).get("sqltext")
        return out

    def wheres(self, table: sa.Table) -> dict[str, str | None]:
        """Each index of ``table`` in the database: its WHERE predicate, None when full."""
        _, indexes, master = self._schema(table.schema)
        out: dict[str, str | None] = {}
        for index in indexes.get((table.schema, table.name), []):
            name = index.get("name")
            if not name:
                continue
            if self.sqlite:
                parsed = index_parts(master.get(("index", name), ""))
                out[name] = parsed[1] if parsed else None
            else:
                where = (index.get("dialect_options") or {}).get(
                    f"{self.conn.dialect.name}_where")
                out[name] = str(where) if where is not None else None
        return out


def _table_name(table: sa.Table) -> str:
    return f"{table.schema}.{table.name}" if table.schema else table.name


def _computed_text(text: str | None) -> str:
    return f"computed {' '.join(text.split())}" if text is not None else "not computed"


def _where_text(text: str | None) -> str:
    return f"WHERE {' '.join(text.split())}" if text is not None else "no WHERE"


def expression_drift(conn: Any, metadata: Any, include_object: Callable[..., bool],
                     reported: set[str]) -> list[ExpressionDrift]:
    """The differences in predicates and computed expressions between the models of
    ``metadata`` (one or a list) and the database, on the tables and objects both have;
    indexes named in ``reported`` (already dropped or created by autogenerate's
    operations) are left to those."""
    dialect = conn.dialect
    partial = dialect.name in ("postgresql", "sqlite")
    db = _Database(conn)
    out: list[ExpressionDrift] = []
    for meta in metadata if isinstance(metadata, list | tuple) else [metadata]:
        for table in meta.tables.values():
            if not include_object(table, table.name, "table", False, None) \
                    or not db.has(table):
                continue
            out.extend(_columns(table, db.computed(table), dialect, include_object))
            if partial:
                out.extend(_indexes(table, db.wheres(table), dialect, include_object,
                                    reported))
    return out


def _columns(table: sa.Table, computed: dict[str, str | None], dialect: Any,
             include_object: Callable[..., bool]) -> list[ExpressionDrift]:
    out = []
    for column in table.columns:
        if column.name not in computed \
                or not include_object(column, column.name, "column", False, None):
            continue
        default = column.server_default
        if isinstance(default, sa.FetchedValue) and not isinstance(
                default, sa.Computed | sa.Identity | sa.DefaultClause):
            continue  # FetchedValue(): the database makes the value, however it does
        models = _sql(default.sqltext, dialect) if isinstance(default, sa.Computed) else None
        database = computed[column.name]
        if not _differ(models, database, dialect):
            continue
        out.append(ExpressionDrift(
            f"column {_table_name(table)}.{column.name}: {_computed_text(database)} in the "
            f"database, {_computed_text(models)} in the models",
            [alembic_ops.DropColumnOp.from_column_and_tablename(table.schema, table.name,
                                                                column),
             alembic_ops.AddColumnOp.from_column_and_tablename(table.schema, table.name,
                                                               column)],
            f"{_table_name(table)}.{column.name}", "modify_computed"))
    return out


def _indexes(table: sa.Table, wheres: dict[str, str | None], dialect: Any,
             include_object: Callable[..., bool], reported: set[str]
             ) -> list[ExpressionDrift]:
    out = []
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        name = str(index.name)
        if index.name is None or name not in wheres or name in reported \
                or not include_object(index, name, "index", False, None):
            continue
        models = _sql(index.dialect_kwargs.get(f"{dialect.name}_where"), dialect)
        database = wheres[name]
        if not _differ(models, database, dialect):
            continue
        out.append(ExpressionDrift(
            f"index {name} on {_table_name(table)}: {_where_text(database)} in the database, "
            f"{_where_text(models)} in the models",
            [alembic_ops.DropIndexOp.from_index(index),
             alembic_ops.CreateIndexOp.from_index(index)],
            name, "modify_index_where"))
    return out
