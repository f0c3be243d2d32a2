"""SL007 ``truncate-table``. The check's docstring is the rule's documentation.

Fixtures: ``sl007_truncate_table.fixtures/`` (``SL007_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL007_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._batched import batched_snippet
from sluice.rules._util import sql_statements, steps
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL007", "truncate-table", family="destructive", severity="error", kinds=("execute",),
      phases=UPGRADE)
def truncate_table(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """``TRUNCATE`` empties a table instantly and for good.

    Why it is dangerous: every row is gone in one statement, without row-level triggers
    and, on MySQL, outside any transaction (TRUNCATE commits implicitly). On PostgreSQL it
    takes an ACCESS EXCLUSIVE lock, so every query on the table queues behind it.
    ``CASCADE`` also empties every table with a foreign key to it.

    Safe alternative:
    1. If the table holds data anyone may need, back it up or copy it to an archive table.
    2. Delete in batches (``sluice.data.batched_delete``) so locks stay short and progress
       is visible and resumable.
    3. If the table really must be emptied at once, do it by hand during a maintenance
       window rather than in a migration that runs on every environment.
    """
    if op.phase != "upgrade":
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "TRUNCATE" or is_new:
            continue
        tables = ", ".join(stmt.tables) or "TABLE"
        cascade = " (CASCADE also empties tables that reference it)" \
            if " CASCADE" in stmt.norm else ""
        yield Hit(
            f"TRUNCATE {tables} deletes every row{cascade}; on PostgreSQL it blocks all "
            "reads and writes while it runs",
            steps(
                f"Back up {tables} (or copy the rows to an archive table) if anyone may "
                "need them.",
                "Delete in batches instead: "
                f"{batched_snippet('delete', stmt.tables[0] if stmt.tables else 'TABLE', None)}.",
                "If it must be emptied at once, do it by hand in a maintenance window.",
            ),
        )
