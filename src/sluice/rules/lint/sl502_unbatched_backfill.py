"""SL502 ``unbatched-backfill``. The check's docstring is the rule's documentation.

Fixtures: ``sl502_unbatched_backfill.fixtures/`` (``SL502_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL502_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._batched import batched_snippet
from sluice.rules._util import bounded, in_dialect, sql_statements, steps
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL502", "unbatched-backfill", family="data", severity="warning", kinds=("execute",),
      phases=UPGRADE)
def unbatched_backfill(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A backfill ``UPDATE`` run as one statement instead of in batches.

    Why it is dangerous: a backfill like ``UPDATE orders SET status = 'new' WHERE status IS
    NULL`` can touch millions of rows in one transaction: row locks on all of them until
    commit, a long-running transaction that blocks vacuum (PostgreSQL) or grows the undo
    log (InnoDB), replica lag, and no progress to watch or resume if it is killed.
    An UPDATE that is one batch of a loop is not reported: its WHERE pins a key or a small
    key range, it has a LIMIT, or it is joined (``t.id = b.id``) to a CTE or subquery ``b``
    that selects one batch (``WITH b AS (SELECT id ... LIMIT 500) UPDATE t ... FROM b``, or
    ``SELECT ... WHERE id = :id``).

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
        where, sets = in_dialect(stmt, ctx.dialect)  # (quoted and reused as the dialect reads it)
        where = where or ""
        shown = where if len(where) <= 60 else where[:57] + "..."
        fix = ["Move it into a revision of its own and run it in batches: "
               f"{batched_snippet('update', stmt.table or 'TABLE', where, sets)}."]
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
