"""SL501 ``update-without-where``. The check's docstring is the rule's documentation.

Fixtures: ``sl501_update_without_where.fixtures/`` (``SL501_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL501_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._batched import batched_snippet
from sluice.rules._util import (
    every_row_update,
    in_dialect,
    sql_statements,
    steps,
)
from sluice.rules.lint._transactions import locking_ddl_before
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL501", "update-without-where", family="data", severity="warning", kinds=("execute",),
      phases=UPGRADE)
def update_without_where(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """An ``UPDATE`` with no ``WHERE`` rewrites every row of the table in one transaction.

    Why it is dangerous: every row is locked until the migration commits, so application
    writes to those rows wait; PostgreSQL writes a new version of every row (the table
    doubles in size until vacuum catches up), InnoDB fills its undo log, and replicas
    lag while they replay it. Often the WHERE was simply forgotten. A ``WHERE`` that is
    always true (``WHERE 1 = 1``, ``WHERE true``) counts as none, and the message says so.

    On PostgreSQL, when the UPDATE runs after DDL on an existing table in the same
    transaction, this finding also names that DDL: its lock is held until every row is
    rewritten. It covers what SL402 (``dml-in-ddl-transaction``) would say about the
    statement, so SL402 does not report an UPDATE of every row: one finding per statement.

    Safe alternative:
    1. Add the ``WHERE`` you meant (e.g. ``WHERE col IS NULL`` for a backfill).
    2. Run the update in batches by primary key (``sluice.data.batched_update``), in a
       revision of its own, so each batch is a short transaction.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "execute" and op.args.get("construct") == "update" and not op.args.get("where"):
        if not op.table_is_new:
            table = str(op.args.get("construct_table") or "the table")
            yield _hit(table, f"{table}.update() without .where()", None,
                       batched_snippet("update", table, None),
                       locking_ddl_before(op, ctx, (op.table, table)))
        return
    for stmt, is_new in sql_statements(op, ctx):
        if every_row_update(stmt) and not is_new:
            table = stmt.table or "the table"
            where, sets = in_dialect(stmt, ctx.dialect)
            if stmt.where:  # WHERE 1 = 1: written, but it filters nothing
                what = f"UPDATE {table} with a WHERE that matches every row (`WHERE {where}`)"
            else:
                what = f"UPDATE {table} without WHERE"
            yield _hit(table, what, where if stmt.where else None,
                       batched_snippet("update", table, None, sets),
                       locking_ddl_before(op, ctx, (stmt.table,)))


def _hit(table: str, what: str, where: str | None, snippet: str, ddl: str | None) -> Hit:
    held = (f"; it runs after {ddl} in the same transaction, so the lock that DDL took "
            "is held until the last row is written") if ddl else ""
    first = (f"Replace `WHERE {where}` with the condition you meant (for a backfill: "
             "WHERE <col> IS NULL)." if where else
             "Add the WHERE you meant (for a backfill: WHERE <col> IS NULL).")
    return Hit(
        f"{what} rewrites every row of {table} in one transaction, locking them all until "
        f"the migration commits{held}",
        steps(
            first,
            f"Run it in batches by primary key, in a revision of its own: {snippet}.",
        ),
    )
