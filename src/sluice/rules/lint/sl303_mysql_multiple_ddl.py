"""SL303 ``mysql-multiple-ddl``. The check's docstring is the rule's documentation.

Fixtures: ``sl303_mysql_multiple_ddl.fixtures/`` (``SL303_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL303_ok*.py`` must not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import (
    DDL_KINDS,
    DDL_SQL,
    mysql_label,
    run_memo,
    sql_statements,
    steps,
    unit_ops,
)
from sluice.rules.lint._mysql import MYSQL
from sluice.rules.registry import UPGRADE, RuleContext, rule


def _ddl_items(op: Op, ctx: RuleContext) -> list[bool]:
    """One entry per DDL statement in ``op``: True when it works on an existing table."""
    if op.kind in DDL_KINDS:
        return [op.kind != "create_table" and not op.table_is_new]
    return [
        stmt.kind != "CREATE TABLE" and not is_new
        for stmt, is_new in sql_statements(op, ctx)
        if stmt.kind in DDL_SQL
    ]


def _rerunnable(op: Op, ctx: RuleContext) -> bool:
    """Every DDL statement of ``op`` is safe to run again (``if_not_exists=True`` /
    ``if_exists=True``, ``IF [NOT] EXISTS`` in raw SQL)."""
    if op.kind in DDL_KINDS:
        return bool(op.args.get("if_not_exists") or op.args.get("if_exists"))
    return all(
        re.search(r"\bIF (?:NOT )?EXISTS\b", stmt.norm) is not None
        for stmt, _ in sql_statements(op, ctx) if stmt.kind in DDL_SQL
    )


def _ddl_trigger(op: Op, ctx: RuleContext) -> tuple[Op | None, int]:
    """For the revision and phase of ``op``: the first op with a statement that can fail on
    live data (an ALTER of an existing table) while an earlier DDL statement of the
    revision is already committed, and how many DDL statements the revision runs.
    Computed once per unit, not once per op."""
    memo = run_memo(ctx)
    key = ("ddl_trigger", op.path, op.revision, op.phase)
    if key not in memo:
        before = 0
        total = 0
        trigger: Op | None = None
        rerunnable = True
        for other in unit_ops(op, ctx):
            items = _ddl_items(other, ctx)
            if items:
                rerunnable = rerunnable and _rerunnable(other, ctx)
            for on_existing in items:
                if on_existing and before >= 1 and trigger is None:
                    trigger = other
                before += 1
                total += 1
        # every statement re-runnable: a failure half-way is fixed by running it again
        memo[key] = (None if rerunnable else trigger, total)
    return memo[key]  # type: ignore[no-any-return]


@rule("SL303", "mysql-multiple-ddl", family="mysql", severity="warning", dialects=MYSQL,
      kinds=(*DDL_KINDS, "execute"), phases=UPGRADE)
def mysql_multiple_ddl(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Several DDL statements in one revision, on a database without transactional DDL.

    Why it is dangerous: MySQL and MariaDB commit every DDL statement on its own. If the
    third ALTER of a revision fails, the first two stay applied, but Alembic's version
    table still names the previous revision: re-running the upgrade fails on the first
    statement ("Duplicate column name") and someone has to repair the schema by hand,
    during the incident. Reported when a statement that can fail on live data (an ALTER
    of an existing table: duplicates, NULLs, lock timeouts) follows another DDL
    statement; creating new tables and their indexes together is not reported.

    Safe alternative:
    1. Put one DDL statement per revision, so a failure leaves a clean state to retry.
    2. Or make each statement safe to re-run (``if_not_exists=True`` / ``if_exists=True`` on
       Alembic 1.13+ ops, ``IF NOT EXISTS`` in raw SQL).
    """
    if op.phase != "upgrade" or not any(_ddl_items(op, ctx)):
        return
    trigger, total = _ddl_trigger(op, ctx)
    if trigger is not op:
        return
    yield Hit(
        f"this revision runs {total} DDL statements; {mysql_label(ctx)} commits each one on "
        "its own, so a failure half-way leaves the first ones applied and the revision "
        "impossible to re-run",
        steps(
            "Split the revision: one DDL statement per revision.",
            "Or make every statement re-runnable: if_not_exists=True / if_exists=True on the "
            "ops (IF NOT EXISTS / IF EXISTS in raw SQL).",
        ),
    )
