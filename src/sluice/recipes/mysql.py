"""MySQL and MariaDB recipes: the ALTER written with an explicit ``ALGORITHM`` (and
``LOCK=NONE`` where it applies), so that a server that cannot run the change online refuses
it instead of silently copying the table while writes wait.

Alembic's ``create_index`` and ``add_column`` have no way to say ``ALGORITHM``; the recipe
writes the same change as one ``ALTER TABLE`` statement. On MariaDB it also says ``IF NOT
EXISTS``, so a rerun after a kill completes, behind a guard that stops the revision when
an index or a column of that name is there with another definition
(:mod:`sluice.recipes.mysql_guards`); MySQL has no such clause for these.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.dialects import mysql

from sluice.recipes.model import RecipeContext, recipe
from sluice.recipes.mysql_guards import column_guard, index_guard
from sluice.recipes.spelling import spell
from sluice.recipes.steps import LockTimeout, SqlStep

MYSQL = "mysql"
#: ``named`` paramstyle: a ``%`` in a default or a comment is compiled as one (see
#: :data:`sluice.recipes.pg_sql._DIALECT`).
_DIALECT = mysql.dialect(paramstyle="named")


def quote(name: str) -> str:
    return str(_DIALECT.identifier_preparer.quote(name))


def qualified(name: str, schema: str | None) -> str:
    return f"{quote(schema)}.{quote(name)}" if schema else quote(name)


def _timeout(ctx: RecipeContext) -> LockTimeout:
    seconds = max(1, -(-ctx.lock_timeout_ms // 1000)) if ctx.lock_timeout_ms else 31_536_000
    return LockTimeout(MYSQL, ctx.lock_timeout, seconds)


#: From these versions adding a column is INSTANT (metadata only).
INSTANT_ADD_COLUMN = {"mysql": (8, 0, 12), "mariadb": (10, 3, 2)}
#: MariaDB's NOCOPY (in place, the clustered index is not rebuilt).
NOCOPY = {"mariadb": (10, 3, 7)}


@recipe("mysql-create-index-inplace", rules=(), dialect=MYSQL,
        since={"mysql": (5, 6), "mariadb": (10, 0)},
        title="Create an index with ALGORITHM and LOCK=NONE stated")
def create_index_inplace(op: ops.MigrateOperation,
                         ctx: RecipeContext) -> list[ops.MigrateOperation] | None:
    """Naive: `op.create_index("ix_orders_user_id", "orders", ["user_id"])` runs INPLACE on
    a current server, but nothing stops an older one, or an index type it cannot build in
    place, from copying the table instead.

    Safe form: `SET SESSION lock_wait_timeout`, then `ALTER TABLE orders ADD INDEX
    ix_orders_user_id (user_id), ALGORITHM=INPLACE, LOCK=NONE` (MariaDB 10.3.7+: `ADD INDEX
    IF NOT EXISTS ... ALGORITHM=NOCOPY`): the server refuses rather than copy or block writes.
    On MariaDB a check runs first: an index of that name on other columns, or unique where
    this one is not (or the reverse), stops the revision with an error naming it, as the
    naive op stops on a name in use (`IF NOT EXISTS` alone would keep it silently).
    The index gets the name `op.create_index` would give it under env.py's naming
    convention, asked when the revision runs.
    FULLTEXT and SPATIAL indexes, and indexes on expressions, are left as written.
    """
    if not isinstance(op, ops.CreateIndexOp):
        return None
    if any(k != "mysql_length" for k in op.kw):
        return None
    cols: list[str] = []
    names: list[str] = []
    sizes: list[int | None] = []
    lengths = op.kw.get("mysql_length") or {}
    for c in op.columns:
        if isinstance(c, sa.Column):  # autogenerate's op: the table's columns
            c = c.name
        if not isinstance(c, str):
            return None
        length = lengths.get(c) if isinstance(lengths, dict) else lengths
        cols.append(quote(c) + (f"({int(length)})" if length else ""))
        names.append(c)
        sizes.append(int(length) if length else None)
    mariadb = ctx.mysql_flavor[0] == "mariadb"
    nocopy = ctx.at_least(NOCOPY)
    kind = "UNIQUE INDEX" if op.unique else "INDEX"
    guard = " IF NOT EXISTS" if mariadb else ""
    algorithm = "NOCOPY" if nocopy else "INPLACE"
    table = str(op.table_name)
    # the name env.py's naming convention gives the index when the revision runs
    name = spell(_DIALECT, "index", op.index_name, table, names, schema=op.schema)
    head = f"ALTER TABLE {qualified(table, op.schema)} ADD {kind}{guard}"
    columns = "(" + ", ".join(cols) + "),"
    guard_step = [index_guard(name, table, op.schema, names, sizes, bool(op.unique))] \
        if mariadb else []
    return [_timeout(ctx), *name.setup, *guard_step, name.step(
        f"{name.text(head)} {name.quoted} {name.text(columns)}",
        f"ALGORITHM={algorithm}, LOCK=NONE")]


def _column_ddl(column: sa.Column[Any]) -> str | None:
    try:
        return " ".join(str(sa.schema.CreateColumn(column).compile(dialect=_DIALECT)).split())
    except Exception:
        return None


#: A server default the server can write into the table definition alone: a number or a
#: quoted string.
_CONSTANT = re.compile(r"^\s*(?:[-+]?\d+(?:\.\d+)?|'(?:[^']|'')*')\s*$")


def _constant_default(column: sa.Column[Any]) -> bool:
    """``column`` has no server default, or a constant one (a Python string, or text that
    is a number or a quoted string)."""
    default = column.server_default
    if default is None:
        return True
    arg = getattr(default, "arg", None)
    if isinstance(arg, str):
        return True
    text = getattr(arg, "text", None)
    return isinstance(text, str) and bool(_CONSTANT.match(text))


def _type_constraints(column: sa.Column[Any]) -> bool:
    """``column``'s type makes a constraint Alembic's ``add_column`` adds with it on
    this dialect (the CHECK of ``Boolean(create_constraint=True)`` or of a non-native
    ``Enum``), as Alembic decides it (the constraint's create rule)."""
    table = sa.Table("t", sa.MetaData(), column._copy())
    made = SimpleNamespace(dialect=_DIALECT)  # what a create rule reads of the impl
    rules = [getattr(c, "_create_rule", None) for c in table.constraints
             if not isinstance(c, sa.PrimaryKeyConstraint)]
    return any(rule is None or rule(made) for rule in rules)


@recipe("mysql-add-column-instant", rules=("SL302",), dialect=MYSQL,
        since={"mysql": (5, 6), "mariadb": (10, 0)},
        title="Add a column with ALGORITHM=INSTANT (or INPLACE, LOCK=NONE) stated")
def add_column_instant(op: ops.MigrateOperation,
                       ctx: RecipeContext) -> list[ops.MigrateOperation] | None:
    """Naive: `op.add_column("orders", sa.Column("note", sa.String(200)))` is INSTANT from
    MySQL 8.0.12 and MariaDB 10.3.2; older servers rebuild the table, and some column
    definitions make any server copy it.

    Safe form: `SET SESSION lock_wait_timeout`, then `ALTER TABLE orders ADD COLUMN note
    VARCHAR(200), ALGORITHM=INSTANT` where the target version has INSTANT, else
    `ALGORITHM=INPLACE, LOCK=NONE` (the rebuild stays, but writes continue and the server
    refuses rather than copy). MariaDB adds `IF NOT EXISTS`, after a check that stops the
    revision when a column of that name is there with another type or nullability. Stored
    generated, identity and auto-increment columns, NOT NULL columns without a default
    (SL106), columns
    whose default is an expression (`DEFAULT (uuid())`, which neither server adds in
    place) and columns whose type makes a CHECK that Alembic adds with the column
    (`Boolean(create_constraint=True)`, an `Enum` with `native_enum=False`) are left as
    written.
    """
    if not isinstance(op, ops.AddColumnOp) or op.kw:
        return None
    col: sa.Column[Any] = op.column
    if col.computed is not None or col.identity is not None or col.primary_key \
            or col.autoincrement is True or col.foreign_keys or col.constraints \
            or col.unique or col.index:
        return None
    if not col.nullable and col.server_default is None:
        return None
    if not _constant_default(col):
        return None  # an expression default (uuid(), now()): no INSTANT or INPLACE add
    if _type_constraints(col):
        return None  # the CHECK of its type, which Alembic adds with the column
    ddl = _column_ddl(col)
    if ddl is None:
        return None
    mariadb = ctx.mysql_flavor[0] == "mariadb"
    guard = " IF NOT EXISTS" if mariadb else ""
    algorithm = ("ALGORITHM=INSTANT" if ctx.at_least(INSTANT_ADD_COLUMN)
                 else "ALGORITHM=INPLACE, LOCK=NONE")
    table = str(op.table_name)
    guard_step = [column_guard(table, op.schema, col, _DIALECT)] if mariadb else []
    return [_timeout(ctx), *guard_step, SqlStep(
        f"ALTER TABLE {qualified(table, op.schema)} ADD COLUMN{guard} {ddl},",
        algorithm)]
