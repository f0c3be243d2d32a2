"""SL301 ``mysql-table-copy``. The check's docstring is the rule's documentation.

Fixtures: ``sl301_mysql_table_copy.fixtures/`` (``SL301_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL301_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import mysql_label, steps
from sluice.rules.lint._mysql import COST_KINDS, MYSQL, op_costs
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL301", "mysql-table-copy", family="mysql", severity="error", dialects=MYSQL,
      kinds=COST_KINDS, phases=UPGRADE)
def mysql_table_copy(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """An ALTER that MySQL/MariaDB can only run by copying the whole table.

    Why it is dangerous: with ``ALGORITHM=COPY`` the server builds a new copy of the table
    row by row while every write to it waits (reads continue), needs free disk space for a
    second copy, and on a replica replays the same copy afterwards, so replication lags by
    as long again. Column type changes (other than extending a VARCHAR), adding a foreign
    key with ``foreign_key_checks`` on, dropping a primary key and converting a character
    set all copy. A VARCHAR extension copies when the column's length prefix grows past
    255 bytes; when that holds in utf8mb4 but not in utf8mb3 (``VARCHAR(32)`` to
    ``VARCHAR(64)``), the finding says so, as the table's character set is not in the
    revision.

    Safe alternative:
    1. For a type change, expand and contract: add a new column, backfill it in batches,
       switch the code, drop the old column later.
    2. For a foreign key, check for orphans with a query, then add it with
       ``SET foreign_key_checks = 0`` in the same session, which makes it INPLACE.
    3. For anything else on a large table, use an online schema change tool (gh-ost,
       pt-online-schema-change) outside the migration and record it with a no-op revision.
    4. Write ``ALGORITHM=INPLACE, LOCK=NONE`` in raw ALTERs so the server refuses instead of
       silently copying.
    """
    if op.phase != "upgrade":
        return
    for cost in op_costs(op, ctx):
        if cost.algorithm != "COPY":
            continue
        table = op.table or "the table"
        if "foreign key" in cost.what:
            fix = steps(
                f"Check for orphan rows in {table} with a LEFT JOIN query and fix them first.",
                "Add the key with foreign_key_checks disabled for the session: "
                "op.execute('SET foreign_key_checks = 0'), the create_foreign_key, then "
                "op.execute('SET foreign_key_checks = 1'); this runs INPLACE.",
                "Or add it with gh-ost / pt-online-schema-change on a large table.",
            )
        elif "utf8mb3" in cost.when:
            fix = steps(
                f"Check the column's character set (SHOW CREATE TABLE {table}): in utf8mb3 "
                "the extension is in place and nothing needs to change.",
                "In utf8mb4, run it with gh-ost / pt-online-schema-change outside the "
                "migration, or add a new column, backfill it in batches and switch to it.",
            )
        elif "type" in cost.what or "MODIFY" in cost.what:
            fix = steps(
                f"Add a new column to {table} with the new type; deploy code writing both.",
                "Backfill it in batches (sluice.data.batched_update).",
                "Switch reads to the new column; drop the old one in a later revision.",
                "Or run the change with gh-ost / pt-online-schema-change outside the "
                "migration.",
            )
        else:
            fix = steps(
                "Run the change with gh-ost / pt-online-schema-change outside the migration "
                "and record it with a no-op revision.",
                "In raw SQL, write ALGORITHM=INPLACE, LOCK=NONE so the server refuses "
                "instead of copying.",
            )
        yield Hit(
            f"{cost.what} copies the whole table on {mysql_label(ctx)} (ALGORITHM=COPY)"
            f"{' ' + cost.when if cost.when else ''}: writes wait for the entire copy and "
            "replicas lag by as long again",
            fix,
        )
