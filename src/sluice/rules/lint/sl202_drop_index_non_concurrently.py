"""SL202 ``drop-index-non-concurrently``. The check's docstring is the rule's documentation.

Fixtures: ``sl202_drop_index_non_concurrently.fixtures/`` (``SL202_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL202_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import (
    dropped_tables,
    index_label,
    sql_statements,
    statement_table,
    steps,
    table_ref,
)
from sluice.rules.lint._destructive import _index_column_dropped
from sluice.rules.lint._postgres import AUTOCOMMIT, PG, is_concurrent, spaced
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL202", "drop-index-non-concurrently", family="postgres-locking", severity="warning",
      dialects=PG, kinds=("drop_index", "execute"), phases=UPGRADE)
def drop_index_non_concurrently(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Dropping an index without ``CONCURRENTLY`` takes an ACCESS EXCLUSIVE lock.

    Why it is dangerous: the drop itself is quick, but it needs an ACCESS EXCLUSIVE lock
    on the table, so it waits behind every running query on the table, and every new
    query (reads included) queues behind it. One slow report is enough to stall the
    whole application.

    Safe alternative:
    1. Drop it with ``postgresql_concurrently=True`` (``DROP INDEX CONCURRENTLY``).
    2. Run it inside ``with op.get_context().autocommit_block():``.
    3. Set a ``lock_timeout`` for the migration so a lock wait fails fast instead of
       queueing traffic.

    Not reported when the revision drops the index's table or one of its columns too:
    that drop takes the same lock.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "drop_index" and not op.table_is_new and not is_concurrent(op):
        if op.table and table_ref(op.table, op.schema) in dropped_tables(op, ctx):
            return  # the table goes too, in the same revision
        if _index_column_dropped(op, ctx):
            return  # its column goes too: that drop takes the same lock anyway
        table = f", '{op.table}'" if op.table else ""
        label = index_label(op.name, op.target if op.table else None)
        yield Hit(
            f"drops {label} without CONCURRENTLY; the ACCESS EXCLUSIVE lock waits behind "
            "running queries and blocks every new one",
            steps(
                f"op.drop_index({op.name!r}{table}, postgresql_concurrently=True).",
                f"Wrap it in `{AUTOCOMMIT}`.",
                "Set lock_timeout for the migration so a lock wait fails fast.",
            ),
        )
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind == "DROP INDEX" and not stmt.concurrently and not is_new:
            if statement_table(stmt) in dropped_tables(op, ctx):
                continue
            yield Hit(
                f"DROP INDEX{spaced(stmt.index_name)} without CONCURRENTLY takes an ACCESS "
                "EXCLUSIVE lock that blocks every query on the table",
                steps(
                    "Write DROP INDEX CONCURRENTLY instead.",
                    f"Run it inside `{AUTOCOMMIT}`.",
                ),
            )
