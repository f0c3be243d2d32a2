"""Tables a revision rebuilds in place: dropped and re-created with their rows copied
back, or renamed away and straight back. On a dialect with transactional DDL no other
session ever sees the table missing, renamed or empty."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sluice.core.ops import Op
from sluice.rules._sql import statements
from sluice.rules._util import TableRef, run_memo, statement_table, table_ref, unit_ops

if TYPE_CHECKING:
    from sluice.rules.registry import RuleContext

#: Dialects whose DDL runs inside the migration's transaction.
TRANSACTIONAL_DDL = ("postgresql", "sqlite")

#: (op index in its revision phase, statement index in the op; -1 for the op itself)
Pos = tuple[int, int]


@dataclass(frozen=True)
class _Event:
    """One step of a rebuild seen in a revision: a table created, renamed, filled or copied."""

    pos: Pos
    #: create, rename, fill (rows written into ``table``), copy (``INSERT INTO table
    #: ... SELECT ... FROM source``)
    kind: str
    table: TableRef
    #: rename: the new name; copy: the source table
    other: TableRef | None = None


def _ref(raw: str, schema: str | None = None) -> TableRef:
    """The :data:`TableRef` of a name as SQL writes it (``audit."Orders"``); ``schema``
    when it names none."""
    parts = [p.strip('"`[]') for p in raw.split(".")]
    return table_ref(parts[-1], parts[-2] if len(parts) > 1 else schema)


def _fill_schema(o: Op) -> str | None:
    """The schema ``bulk_insert`` writes into: its table construct's (``sa.table(...,
    schema=)``) where the source says."""
    schema = o.args.get("construct_schema")
    return schema if isinstance(schema, str) else o.schema


def _op_events(i: int, o: Op, dialect: str | None) -> list[_Event]:
    table = table_ref(o.table, o.schema) if o.table else None
    if o.kind == "create_table" and table:
        return [_Event((i, -1), "create", table)]
    if o.kind == "rename_table" and table and isinstance(o.args.get("new_table_name"), str):
        # (``schema=`` is both names' schema: Alembic renames within one schema)
        return [_Event((i, -1), "rename", table,
                       table_ref(o.args["new_table_name"], o.schema))]
    if o.kind == "bulk_insert" and o.table:
        return [_Event((i, -1), "fill", table_ref(o.table, _fill_schema(o)))]
    if o.kind != "execute" or not o.sql:
        return []
    found = []
    for j, stmt in enumerate(statements(o.sql, dialect)):
        if stmt.kind not in ("CREATE TABLE", "INSERT", "ALTER TABLE"):
            continue  # (before stmt.table: reading it may parse the statement)
        ref = statement_table(stmt)
        if ref is None or not ref[1]:
            continue
        if stmt.kind == "CREATE TABLE":
            found.append(_Event((i, j), "create", ref))
        elif stmt.kind == "INSERT":
            found.append(_Event((i, j), "fill", ref))
            for src in re.findall(r"\bFROM\s+([\"`\w.]+)", stmt.norm):
                found.append(_Event((i, j), "copy", ref, _ref(src)))
        elif stmt.kind == "ALTER TABLE":
            # (``RENAME TO`` keeps the table in its schema: PostgreSQL and SQLite take no
            # schema there)
            found.extend(_Event((i, j), "rename", ref, _ref(a.name, ref[0] or None))
                         for a in getattr(stmt, "actions", [])
                         if a.kind == "rename_table" and a.name)
    return found


def _events(op: Op, ctx: RuleContext) -> list[_Event]:
    memo = run_memo(ctx)
    key = ("rebuild_events", op.path, op.revision, op.phase)
    found = memo.get(key)
    if found is None:
        found = memo[key] = [e for i, o in enumerate(unit_ops(op, ctx))
                             for e in _op_events(i, o, ctx.dialect)]
    return list(found)


def position(op: Op, ctx: RuleContext, stmt_index: int = -1) -> Pos:
    """Where ``op`` (and its ``stmt_index``-th SQL statement) stands in its revision."""
    index = next((i for i, o in enumerate(unit_ops(op, ctx)) if o is op), -1)
    return (index, stmt_index)


def rows_copied_back(op: Op, ctx: RuleContext, table: TableRef, pos: Pos) -> bool:
    """The table (:data:`TableRef`) dropped at ``pos`` is re-created afterwards with its
    rows: created again and then filled (rows read before the drop,
    ``bulk_insert``/``INSERT``), or rebuilt the SQLite way (``INSERT INTO new ... SELECT ... FROM table`` before the drop, then
    ``new`` renamed to ``table``), all in its schema: a table of that name in another
    schema is another table. Only on a dialect with transactional DDL."""
    if ctx.dialect not in TRANSACTIONAL_DDL or pos[0] < 0:
        return False
    events = _events(op, ctx)
    copies = {e.table for e in events if e.pos < pos and e.kind == "copy" and e.other == table}
    for e in events:
        if e.pos <= pos:
            continue
        if e.kind == "rename" and e.other == table and e.table in copies:
            return True
        if e.kind == "create" and e.table == table or (
                e.kind == "rename" and e.other == table):
            return any(f.pos > e.pos and f.kind == "fill" and f.table == table
                       for f in events)
    return False


def renamed_back(op: Op, ctx: RuleContext, old: TableRef, new: TableRef, pos: Pos) -> bool:
    """The rename ``old`` -> ``new`` (:data:`TableRef`) at ``pos`` is undone in the same
    revision, or undoes an earlier one, in that schema: the name running code uses never
    changes outside the transaction. Only on a dialect with transactional DDL."""
    if ctx.dialect not in TRANSACTIONAL_DDL or pos[0] < 0:
        return False
    return any(e.kind == "rename" and e.pos != pos and e.table == new and e.other == old
               for e in _events(op, ctx))
