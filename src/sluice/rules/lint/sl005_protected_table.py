"""SL005 ``protected-table``. The check's docstring is the rule's documentation.

Fixtures: ``sl005_protected_table.fixtures/`` (``SL005_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL005_ok*.py`` must not).
"""

from __future__ import annotations

from sluice.core.ops import Hit, Op
from sluice.core.patterns import matches_any
from sluice.rules._util import new_tables_before, steps, table_ref
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL005", "protected-table", family="destructive", severity="error", autogenerate=True,
      phases=UPGRADE)
def protected_table(op: Op, ctx: RuleContext) -> Hit | None:
    """An operation touches a table listed in ``protected_tables``.

    Why it is dangerous: protected tables are the ones your team decided must never change
    through a routine migration (billing ledgers, audit logs, tables owned by another
    system). A change to them needs a deliberate, separately reviewed revision.

    Safe alternative:
    1. If the change is intended, write it by hand in a revision of its own.
    2. Allow it explicitly when you generate it (``-x`` goes before the subcommand):
       ``alembic -x allow=KIND:TABLE revision --autogenerate`` (or ``SLUICE_ALLOW``),
       so the review header records who allowed what.
    """
    if op.phase != "upgrade" or op.kind == "create_table" or op.table_is_new:
        return None  # a new protected table comes with its own indexes and constraints
    pattern = matches_any(op.table, ctx.config.protected_tables)
    if pattern is None or (op.table and table_ref(op.table, op.schema)
                           in new_tables_before(op, ctx)):
        return None
    return Hit(
        f"{op.kind} touches protected table {op.table} (matches protected_tables '{pattern}')",
        steps(
            "If this change is intended, move it into a hand-written revision of its own.",
            f"Or allow it when you generate the revision: "
            f'alembic -x allow={op.allow_key} revision --autogenerate -m "..."',
        ),
    )
