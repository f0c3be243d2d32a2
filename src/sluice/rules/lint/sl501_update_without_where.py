"""SL501 ``update-without-where``. The check's docstring is the rule's documentation.

Fixtures: ``sl501_update_without_where.fixtures/`` (``SL501_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL501_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import batched_snippet, sql_statements, steps
from sluice.rules.registry import UPGRADE, RuleContext, rule


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
