"""SL209 ``vacuum-full-or-cluster``. The check's docstring is the rule's documentation.

Fixtures: ``sl209_vacuum_full_or_cluster.fixtures/`` (``SL209_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL209_ok*.py`` must not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import sql_statements, steps
from sluice.rules.lint._postgres import PG, spaced
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL209", "vacuum-full-or-cluster", family="postgres-locking", severity="error",
      dialects=PG, kinds=("execute",), phases=UPGRADE)
def vacuum_full_or_cluster(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """``VACUUM FULL`` and ``CLUSTER`` rewrite the table under an exclusive lock.

    Why it is dangerous: both copy the whole table into a new file while holding an
    ACCESS EXCLUSIVE lock: no reads, no writes, for as long as the copy takes, and they
    need free disk space equal to the table's size.

    Safe alternative:
    1. Leave space reclaim to autovacuum, or use plain ``VACUUM`` (no exclusive lock).
    2. If the table really needs compacting, use ``pg_repack`` (online), outside the
       migration, in a quiet period.
    """
    if op.phase != "upgrade":
        return
    for stmt, is_new in sql_statements(op, ctx):
        if is_new:
            continue
        full = stmt.kind == "VACUUM" and re.search(r"\bFULL\b", stmt.norm)
        if full or stmt.kind == "CLUSTER":
            what = "VACUUM FULL" if full else "CLUSTER"
            yield Hit(
                f"{what}{spaced(stmt.table)} rewrites the table under an ACCESS EXCLUSIVE lock; "
                "every query on it waits for the whole copy",
                steps(
                    "Remove it from the migration; autovacuum or a plain VACUUM reclaims "
                    "space without blocking.",
                    "If the table must be compacted, run pg_repack outside the migration.",
                ),
            )
