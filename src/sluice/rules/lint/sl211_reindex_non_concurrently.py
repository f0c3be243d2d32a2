"""SL211 ``reindex-non-concurrently``. The check's docstring is the rule's documentation.

Fixtures: ``sl211_reindex_non_concurrently.fixtures/`` (``SL211_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL211_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import pg_version, sql_statements, steps
from sluice.rules.lint._postgres import AUTOCOMMIT, PG, spaced
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL211", "reindex-non-concurrently", family="postgres-locking", severity="error",
      dialects=PG, kinds=("execute",), phases=UPGRADE)
def reindex_non_concurrently(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """``REINDEX`` without ``CONCURRENTLY`` blocks writes and queries using the index.

    Why it is dangerous: a plain REINDEX locks out writes to the table and takes an
    ACCESS EXCLUSIVE lock on the index, so queries that would use it wait for the whole
    rebuild.

    Safe alternative:
    1. On PostgreSQL 12 and later, ``REINDEX ... CONCURRENTLY`` inside
       ``op.get_context().autocommit_block()``.
    2. Before 12, create a new index concurrently, drop the old one concurrently, and
       rename the new one.
    """
    if op.phase != "upgrade":
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "REINDEX" or stmt.concurrently or is_new:
            continue
        if pg_version(ctx) >= 12:
            fix = steps("Write REINDEX ... CONCURRENTLY.", f"Run it inside `{AUTOCOMMIT}`.")
        else:
            fix = steps(
                "CREATE INDEX CONCURRENTLY a new copy of the index.",
                "DROP INDEX CONCURRENTLY the old one, then rename the new one.",
            )
        yield Hit(
            f"REINDEX{spaced(stmt.table)} without CONCURRENTLY blocks writes to the table and "
            "queries that use the index until the rebuild finishes",
            fix,
        )
