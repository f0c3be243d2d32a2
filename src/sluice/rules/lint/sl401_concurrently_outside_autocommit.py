"""SL401 ``concurrently-outside-autocommit``. The check's docstring is the rule's documentation.

Fixtures: ``sl401_concurrently_outside_autocommit.fixtures/`` (``SL401_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL401_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import index_label, sql_statements, steps
from sluice.rules.lint._transactions import _AUTOCOMMIT, PG
from sluice.rules.registry import RuleContext, rule


@rule("SL401", "concurrently-outside-autocommit", family="transactions", severity="error",
      dialects=PG, kinds=("create_index", "drop_index", "execute"))
def concurrently_outside_autocommit(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """``CONCURRENTLY`` inside the migration transaction fails at run time.

    Why it is dangerous: ``CREATE INDEX CONCURRENTLY``, ``DROP INDEX CONCURRENTLY`` and
    ``REINDEX CONCURRENTLY`` refuse to run inside a transaction block, and Alembic runs
    each migration inside one on PostgreSQL. The revision passes review, then fails in
    the deploy ("cannot run inside a transaction block"), after any earlier statement of
    the same revision already took its locks.

    Safe alternative:
    1. Wrap the statement in ``with op.get_context().autocommit_block():``.
    2. Put it in a revision of its own (the autocommit block commits what came before it).
    3. Make it re-runnable (``if_not_exists=True`` / ``IF NOT EXISTS``): a failed concurrent
       build leaves an INVALID index behind.
    """
    if op.in_autocommit:
        return
    if op.kind in ("create_index", "drop_index") and op.args.get("postgresql_concurrently"):
        verb = "creates" if op.kind == "create_index" else "drops"
        label = index_label(op.name, op.target if op.table else None)
        yield _hit(f"{verb} {label} CONCURRENTLY", op)
        return
    for stmt, _ in sql_statements(op, ctx):
        if stmt.kind in ("CREATE INDEX", "DROP INDEX", "REINDEX") and stmt.concurrently:
            name = stmt.index_name or stmt.table
            yield _hit(f"{stmt.kind} CONCURRENTLY{' ' + name if name else ''}", op)


def _hit(what: str, op: Op) -> Hit:
    return Hit(
        f"{what} outside autocommit_block(); PostgreSQL refuses CONCURRENTLY inside the "
        "migration transaction, so the deploy fails at this line",
        steps(
            f"Wrap it: `{_AUTOCOMMIT}` and indent the op under it.",
            "Move it to a revision of its own (the block commits everything before it).",
            "Make it re-runnable with if_not_exists=True / if_exists=True: a failed concurrent "
            "build leaves an INVALID index to drop first.",
        ),
    )
