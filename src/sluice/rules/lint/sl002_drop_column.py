"""SL002 ``drop-column``. The check's docstring is the rule's documentation.

Fixtures: ``sl002_drop_column.fixtures/`` (``SL002_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL002_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import column_label, sql_statements, steps
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL002", "drop-column", family="destructive", severity="error", autogenerate=True,
      kinds=("drop_column", "execute"), phases=UPGRADE)
def drop_column(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Dropping a column deletes its data and breaks code that still selects it.

    Why it is dangerous: during a rolling deploy the old version of the application is
    still running and its ORM selects every mapped column; the moment the column is gone
    those queries fail. The data cannot be recovered by rolling back.

    Safe alternative:
    1. Stop using the column in code (with SQLAlchemy, remove it from the model, or mark
       it ``deferred`` first); deploy that.
    2. In a later revision, drop the column.
    3. If you want the data, copy it out before the drop.
    """
    if op.phase != "upgrade":
        return None
    if op.kind == "execute":
        for stmt, is_new in sql_statements(op, ctx):
            if stmt.kind != "ALTER TABLE" or is_new:
                continue
            for act in stmt.actions:
                if act.kind == "drop_column":
                    yield _drop_column_hit(stmt.table, act.column)
                elif act.kind == "drop_partition":
                    yield _drop_partition_hit(stmt.table, act.name)
        return None
    if op.kind != "drop_column" or op.table_is_new:
        return None
    yield _drop_column_hit(op.table, op.column,
                           op.target if op.table and op.column else None)
    return None


def _drop_partition_hit(table: str | None, partition: str | None) -> Hit:
    of = table or "the table"
    what = f"partition {partition} of {of}" if partition else f"a partition of {of}"
    return Hit(
        f"drops {what} and every row in it; the rows cannot be recovered by a rollback",
        steps(
            f"Confirm nothing needs the rows of {what} any more.",
            "Copy them out first (or EXCHANGE PARTITION into an archive table) if anyone may.",
        ),
    )


def _drop_column_hit(table: str | None, column: str | None, target: str | None = None) -> Hit:
    target = target or column_label(table, column)
    what = f"column {target}" if table and column else target
    return Hit(
        f"drops {what} and its data; running code that still selects it will fail",
        steps(
            f"Stop using {target} in code (remove it from the model) and deploy that.",
            f"Drop the column in a later revision: op.drop_column('{table or 'TABLE'}', "
            f"'{column or 'COLUMN'}').",
            "Copy the data out first if anyone may need it.",
        ),
    )
