"""SL402 ``dml-in-ddl-transaction``. The check's docstring is the rule's documentation.

Fixtures: ``sl402_dml_in_ddl_transaction.fixtures/`` (``SL402_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL402_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import bounded, every_row_update, sql_statements, steps
from sluice.rules.lint._transactions import PG, locking_ddl_before
from sluice.rules.registry import UPGRADE, RuleContext, rule


def _dml_tables(op: Op, ctx: RuleContext) -> list[str]:
    """Existing tables that ``op`` updates or deletes from in bulk (but not by an UPDATE of
    every row: SL501 reports that one, and says which DDL's lock it holds)."""
    if op.kind == "execute" and op.args.get("construct") in ("update", "delete"):
        if op.table_is_new or op.args.get("where"):
            return []  # a Core statement with .where() is usually per-row, in a loop
        if op.args.get("construct") == "update":
            return []  # every row: SL501
        return [str(op.args.get("construct_table") or "TABLE")]
    out = []
    for stmt, is_new in sql_statements(op, ctx):
        if is_new or every_row_update(stmt):
            continue
        if (stmt.kind in ("UPDATE", "DELETE") and not bounded(stmt)) or (
            stmt.kind == "INSERT" and stmt.insert_select
        ):
            out.append(stmt.table or "TABLE")
    return out


@rule("SL402", "dml-in-ddl-transaction", family="transactions", severity="warning",
      dialects=PG, kinds=("execute",), phases=UPGRADE)
def dml_in_ddl_transaction(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A bulk UPDATE/DELETE after DDL in the same revision keeps the DDL's lock for its run.

    Why it is dangerous: on PostgreSQL the whole revision is one transaction, and the
    ACCESS EXCLUSIVE lock an ALTER takes is held until that transaction commits. A data
    backfill that runs after it in the same revision keeps the table locked for as long
    as the backfill takes: a two-second ALTER becomes a twenty-minute outage.

    An ``UPDATE`` of every row (no ``WHERE``, or one that is always true) is reported by
    SL501 instead, which names the DDL whose lock it holds: one finding per statement.

    Safe alternative:
    1. Move the data change into a revision of its own, after the schema change.
    2. Run it in batches (``sluice.data.batched_update``), each batch its own short
       transaction, so no lock is held for long.
    """
    if op.phase != "upgrade" or op.in_autocommit:
        return
    if locking_ddl_before(op, ctx) is None:
        return
    tables = _dml_tables(op, ctx)  # (after the DDL: it may parse the op's SQL)
    for table in tables:
        ddl = locking_ddl_before(op, ctx, (table,))
        yield Hit(
            f"bulk change of {table} runs in the same transaction as {ddl}; the DDL's lock "
            "is held until the data change finishes",
            steps(
                f"Move the data change on {table} into a separate revision after this one.",
                "Run it in batches (sluice.data.batched_update / batched_delete) so each "
                "transaction is short.",
            ),
        )
