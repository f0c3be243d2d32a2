"""SL210 ``lock-table``. The check's docstring is the rule's documentation.

Fixtures: ``sl210_lock_table.fixtures/`` (``SL210_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL210_ok*.py`` must not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import sql_statements, steps
from sluice.rules.lint._postgres import PG, spaced
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL210", "lock-table", family="postgres-locking", severity="error", dialects=PG,
      kinds=("execute",), phases=UPGRADE)
def lock_table(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """An explicit ``LOCK TABLE`` in a migration blocks the application until commit.

    Why it is dangerous: the lock (ACCESS EXCLUSIVE unless another mode is named) is held
    until the migration's transaction commits, after every later statement in the
    revision, so everything else in the migration becomes downtime.

    Safe alternative:
    1. Remove the explicit lock: each DDL statement takes the lock it needs for as short a
       time as possible.
    2. If ordering against concurrent writes matters, lock the narrowest mode that works
       (e.g. ``SHARE ROW EXCLUSIVE``) right before the statement that needs it, and set a
       ``lock_timeout`` so it fails fast instead of queueing traffic.
    """
    if op.phase != "upgrade":
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "LOCK" or is_new:
            continue
        if re.match(r"LOCK TABLES\b", stmt.norm):
            continue  # MySQL syntax, not this dialect's LOCK TABLE
        mode = re.search(r"\bIN (.+?) MODE\b", stmt.norm)
        yield Hit(
            f"LOCK TABLE{spaced(stmt.table)} in {mode.group(1) if mode else 'ACCESS EXCLUSIVE'} "
            "mode holds the lock until the migration commits, blocking the application for "
            "every statement after it",
            steps(
                "Remove the explicit LOCK; DDL takes the lock it needs by itself.",
                "If you must lock, use the narrowest mode right before the statement that "
                "needs it, with lock_timeout set.",
            ),
        )
