"""SL302 ``mysql-table-rebuild``. The check's docstring is the rule's documentation.

Fixtures: ``sl302_mysql_table_rebuild.fixtures/`` (``SL302_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL302_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import mysql_label, steps
from sluice.rules.lint._mysql import COST_KINDS, MYSQL, op_costs
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL302", "mysql-table-rebuild", family="mysql", severity="warning", dialects=MYSQL,
      kinds=COST_KINDS, phases=UPGRADE)
def mysql_table_rebuild(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """An ALTER that rebuilds the table on the target version, where INSTANT is possible.

    Why it is dangerous: an in-place rebuild lets reads and writes continue, but it
    rewrites every row (hours of I/O on a big table), takes an exclusive metadata lock at
    the start and the end (queueing all queries if a long transaction is open), and
    replicas apply it single-threaded afterwards. Adding and dropping columns is INSTANT
    on newer servers (MySQL 8.0.12 / 8.0.29, MariaDB 10.3 / 10.4); changing NULL/NOT NULL
    always rebuilds.

    Safe alternative:
    1. If production runs a newer server than ``lint.target_mysql_version`` says, raise the
       setting: the change is then INSTANT.
    2. Otherwise run the change on a large table with gh-ost or pt-online-schema-change,
       or in a quiet window with a short ``lock_wait_timeout``.
    3. Avoid changing NULL/NOT NULL on large tables; enforce it in the application instead.
    """
    if op.phase != "upgrade":
        return
    for cost in op_costs(op, ctx):
        if cost.algorithm != "REBUILD":
            continue
        if cost.instant_from:
            first = (f"This is INSTANT from {cost.instant_from}; if production runs that, "
                     "raise lint.target_mysql_version.")
        else:
            first = "Consider enforcing NOT NULL in the application instead on a large table."
        yield Hit(
            f"{cost.what} rebuilds the table on {mysql_label(ctx)}: every row is rewritten "
            "and replicas lag while they replay it",
            steps(
                first,
                "Otherwise run it with gh-ost / pt-online-schema-change, or in a quiet window "
                "with a short lock_wait_timeout.",
            ),
        )
