"""Data changes inside migrations: whole-table updates and unbatched backfills."""

from __future__ import annotations

from collections.abc import Iterator

from sluice.lint.model import Hit, Op
from sluice.lint.registry import UPGRADE, RuleContext, rule
from sluice.lint.rules._util import batched_snippet, bounded, sql_statements, steps


@rule("SL501", "update-without-where", family="data", severity="warning", kinds=("execute",),
      phases=UPGRADE)
def update_without_where(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """An ``UPDATE`` with no ``WHERE`` rewrites every row of the table in one transaction.

    Why it is dangerous: every row is locked until the migration commits, so application
    writes to those rows wait; PostgreSQL writes a new version of every row (the table
    doubles in size until vacuum catches up), InnoDB fills its undo log, and replicas
    lag while they replay it. Often the WHERE was simply forgotten.

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
            yield _hit(table, f"{table}.update() without .where()",
                       batched_snippet("update", table, None))
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind == "UPDATE" and not stmt.has_where and not stmt.has_limit and not is_new:
            table = stmt.table or "the table"
            yield _hit(table, f"UPDATE {table} without WHERE",
                       batched_snippet("update", table, None, stmt.sets))


def _hit(table: str, what: str, snippet: str) -> Hit:
    return Hit(
        f"{what} rewrites every row of {table} in one transaction, locking them all until "
        "the migration commits",
        steps(
            "Add the WHERE you meant (for a backfill: WHERE <col> IS NULL).",
            f"Run it in batches by primary key, in a revision of its own: {snippet}.",
        ),
    )


@rule("SL502", "unbatched-backfill", family="data", severity="warning", kinds=("execute",),
      phases=UPGRADE)
def unbatched_backfill(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A backfill ``UPDATE`` run as one statement instead of in batches.

    Why it is dangerous: a backfill like ``UPDATE orders SET status = 'new' WHERE status IS
    NULL`` can touch millions of rows in one transaction: row locks on all of them until
    commit, a long-running transaction that blocks vacuum (PostgreSQL) or grows the undo
    log (InnoDB), replica lag, and no progress to watch or resume if it is killed.

    Safe alternative:
    1. Move the data change into its own revision, after the schema change.
    2. Run it in batches by primary key with ``sluice.data.batched_update`` (adaptive
       batch size, resumable, lock timeout per batch).
    3. If the table is small for sure, suppress the finding with a reason.
    """
    if op.phase != "upgrade":
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "UPDATE" or not stmt.has_where or is_new:
            continue
        if bounded(stmt):
            continue
        table = stmt.table or "the table"
        where = stmt.where or ""
        shown = where if len(where) <= 60 else where[:57] + "..."
        fix = ["Move it into a revision of its own and run it in batches: "
               f"{batched_snippet('update', stmt.table or 'TABLE', stmt.where, stmt.sets)}."]
        if stmt.joined:
            fix.append("It reads other tables (FROM / WITH): write each new value as a "
                       "correlated subquery in sa.text(), e.g. sa.text('(SELECT s.total FROM "
                       f"sums s WHERE s.id = {table}.id)'), and the WHERE as EXISTS (...).")
        fix.append("If the table is known to stay small, suppress this with a reason: "
                   "# sluice: ignore[SL502] <why>.")
        yield Hit(
            f"UPDATE on {table} with `WHERE {shown}` runs as one statement; on a large table it "
            "locks every matching row in one long transaction",
            steps(*fix),
        )
