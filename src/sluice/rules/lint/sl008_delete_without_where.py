"""SL008 ``delete-without-where``. The check's docstring is the rule's documentation.

Fixtures: ``sl008_delete_without_where.fixtures/`` (``SL008_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL008_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._batched import batched_snippet
from sluice.rules._util import sql_statements, steps
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL008", "delete-without-where", family="destructive", severity="error", kinds=("execute",),
      phases=UPGRADE)
def delete_without_where(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A ``DELETE`` with no ``WHERE`` removes every row of the table.

    Why it is dangerous: usually a missing condition, not an intention. Even when intended,
    deleting a whole table row by row holds row locks on all of it for the duration of the
    migration transaction, bloats the table (PostgreSQL) or the undo log (InnoDB), and fires
    every ``ON DELETE CASCADE`` below it.

    Safe alternative:
    1. Add the ``WHERE`` you meant; review it with a ``SELECT count(*)`` first.
    2. If every row really must go, delete in batches (``sluice.data.batched_delete(table,
       where=sa.true())``), in a revision of its own, so locks stay short and a failure
       does not roll back everything.
    3. Back the rows up first if anyone may need them.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "execute" and op.args.get("construct") == "delete" and not op.args.get("where"):
        if not op.table_is_new:
            table = str(op.args.get("construct_table") or "TABLE")
            yield _delete_hit(table, f"{table}.delete() without .where()")
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind == "DELETE" and not stmt.has_where and not stmt.has_limit and not is_new:
            yield _delete_hit(stmt.table or "TABLE", f"DELETE FROM {stmt.table or 'TABLE'} without WHERE")


def _delete_hit(table: str, what: str) -> Hit:
    return Hit(
        f"{what} deletes every row of {table}, locking them all until the migration commits",
        steps(
            f"Add the WHERE you meant; check it first with SELECT count(*) FROM {table} WHERE ....",
            "If every row must go, delete in batches, in a revision of its own: "
            f"{batched_snippet('delete', table, None)}.",
            f"Back up {table} first if anyone may need the rows.",
        ),
    )
