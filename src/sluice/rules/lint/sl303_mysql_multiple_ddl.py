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
    mysql_target,
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


#: Alembic ops whose re-runnable option Alembic renders for MySQL/MariaDB and the server
#: accepts (``drop_constraint(if_exists=True)`` is dropped from the SQL; create_foreign_key,
#: alter_column and the other constraint ops have no such option).
_RERUNNABLE_OPS = {
    "mariadb": {"add_column": "if_not_exists", "drop_column": "if_exists",
                "create_index": "if_not_exists", "drop_index": "if_exists",
                "create_table": "if_not_exists", "drop_table": "if_exists"},
    # MySQL 8 has no ADD COLUMN / CREATE INDEX ... IF NOT EXISTS, no DROP ... IF EXISTS
    # on columns and indexes
    "mysql": {"create_table": "if_not_exists", "drop_table": "if_exists"},
}
#: Statement kinds whose ``IF [NOT] EXISTS`` MySQL 8 accepts (MariaDB: every ALTER too).
_MYSQL_RERUNNABLE_SQL = frozenset({"CREATE TABLE", "DROP TABLE", "DROP VIEW",
                                   "CREATE DATABASE", "DROP DATABASE"})


def _flavor(ctx: RuleContext) -> str:
    return mysql_target(ctx)[0]


def _rerunnable(op: Op, ctx: RuleContext) -> bool:
    """Every DDL statement of ``op`` is safe to run again on the target server
    (``if_not_exists=True`` / ``if_exists=True`` where Alembic renders it and the server
    takes it, ``IF [NOT] EXISTS`` in raw SQL)."""
    flavor = _flavor(ctx)
    if op.kind in DDL_KINDS:
        option = _RERUNNABLE_OPS[flavor].get(op.kind)
        return bool(option and op.args.get(option))
    return all(
        re.search(r"\bIF (?:NOT )?EXISTS\b", stmt.norm) is not None
        and (flavor == "mariadb" or stmt.kind in _MYSQL_RERUNNABLE_SQL)
        for stmt, _ in sql_statements(op, ctx) if stmt.kind in DDL_SQL
    )


def _can_rerun(op: Op, ctx: RuleContext) -> bool:
    """``op`` could be written re-runnably on the target server."""
    if op.kind in DDL_KINDS:
        return op.kind in _RERUNNABLE_OPS[_flavor(ctx)]
    return _flavor(ctx) == "mariadb" or all(
        stmt.kind in _MYSQL_RERUNNABLE_SQL
        for stmt, _ in sql_statements(op, ctx) if stmt.kind in DDL_SQL)


def _ddl_trigger(op: Op, ctx: RuleContext) -> tuple[Op | None, Op | None, int, list[Op]]:
    """For the revision and phase of ``op``: the first op with a statement that can fail on
    live data (an ALTER of an existing table) while an earlier DDL statement of the
    revision is already committed, the first op that runs DDL, how many DDL statements the
    revision runs, and its ops with DDL that is not re-runnable. Computed once per unit."""
    memo = run_memo(ctx)
    key = ("ddl_trigger", op.path, op.revision, op.phase)
    if key not in memo:
        before = 0
        trigger: Op | None = None
        first: Op | None = None
        fixed: list[Op] = []
        for other in unit_ops(op, ctx):
            items = _ddl_items(other, ctx)
            if items:
                first = first or other
                if not _rerunnable(other, ctx):
                    fixed.append(other)
            for on_existing in items:
                if on_existing and before >= 1 and trigger is None:
                    trigger = other
                before += 1
        # every statement re-runnable: a failure half-way is fixed by running it again
        memo[key] = (trigger if fixed else None, first, before, fixed)
    return memo[key]  # type: ignore[no-any-return]


def _rerun_step(ctx: RuleContext, fixed: list[Op], trigger: Op) -> str | None:
    """The "make it re-runnable" step, naming only what the target server takes; None
    when the statement that can fail has no such form there (MySQL 8: ADD COLUMN)."""
    options = _RERUNNABLE_OPS[_flavor(ctx)]
    if not _can_rerun(trigger, ctx):
        return None
    can = [o for o in fixed if _can_rerun(o, ctx)]
    kinds = sorted({o.kind for o in can if o.kind in options})
    how = [f"{k}(..., {options[k]}=True)" for k in kinds]
    if any(o.kind not in DDL_KINDS for o in can):
        how.append("IF [NOT] EXISTS in the raw SQL")
    cannot = sorted({o.kind if o.kind in DDL_KINDS else "raw SQL" for o in fixed
                     if not _can_rerun(o, ctx)})
    rest = (f"; {', '.join(cannot)} cannot be made re-runnable on {mysql_label(ctx)}: move "
            "those calls to revisions of their own") if cannot else ""
    return (f"Or make the statements re-runnable, which {mysql_label(ctx)} accepts: "
            f"{', '.join(how)}{rest}.")


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

    The finding sits on the revision's first DDL statement and names the line of the
    statement that can fail.

    Safe alternative:
    1. Put one DDL statement per revision, so a failure leaves a clean state to retry.
    2. Or, on MariaDB, make each statement safe to re-run: ``if_not_exists=True`` on
       ``add_column``, ``create_index``, ``create_table``, ``if_exists=True`` on
       ``drop_column``, ``drop_index``, ``drop_table``, ``IF [NOT] EXISTS`` in raw SQL.
       MySQL 8 takes that only for ``CREATE TABLE`` / ``DROP TABLE`` (it rejects ``ADD
       COLUMN IF NOT EXISTS``), Alembic leaves ``IF EXISTS`` out of ``drop_constraint`` on
       both, and ``create_foreign_key`` / ``alter_column`` have no such option: the finding
       offers this step only for what the target server (``lint.target_mysql_version``)
       takes, and only such options count as re-runnable.
    """
    if op.phase != "upgrade" or not _ddl_items(op, ctx):
        return
    trigger, first, total, fixed = _ddl_trigger(op, ctx)
    if trigger is None or first is not op:
        return  # (reported at the first DDL statement, where a reader starts)
    later = f"line {trigger.line}" if trigger.line != op.line else "a later statement here"
    fix = ["Split the revision: one DDL statement per revision."]
    rerun = _rerun_step(ctx, fixed, trigger)
    if rerun:
        fix.append(rerun)
    yield Hit(
        f"this revision runs {total} DDL statements, starting here; {mysql_label(ctx)} "
        f"commits each one on its own, so if a later one fails ({later} alters a table that "
        "has data and can), the earlier ones stay applied and the revision cannot be re-run",
        steps(*fix),
    )
