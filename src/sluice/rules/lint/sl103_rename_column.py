"""SL103 ``rename-column``. The check's docstring is the rule's documentation.

Fixtures: ``sl103_rename_column.fixtures/`` (``SL103_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL103_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import (
    ColumnRef,
    column_label,
    op_table,
    sql_statements,
    statement_table,
    steps,
    unit_ops,
)
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL103", "rename-column", family="compat", severity="error",
      kinds=("alter_column", "execute"), phases=UPGRADE)
def rename_column(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Renaming a column breaks every running instance that still uses the old name.

    Why it is dangerous: during a deploy the old release keeps running until the new one
    is up, and its queries name the old column; the moment the rename commits they fail.
    Caches, reports, other services and ORM models compiled against the old name break
    the same way, and a rollback of the code does not rename it back.

    Safe alternative:
    1. Add the new column (nullable) and make the code write both columns; deploy.
    2. Backfill the new column from the old one in batches (``sluice.data.batched_update``).
    3. Switch reads to the new column; deploy.
    4. Stop writing the old column; deploy, then drop it in a later revision.

    A column the same revision added before renaming it is not reported: no running code
    knows it. One of that name added to the table of that name in another schema is
    another column.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "alter_column" and op.args.get("new_column_name") and not op.table_is_new:
        ref = op_table(op)
        if ref is not None and op.column \
                and (*ref, op.column.lower()) in _added_before(op, ctx):
            return  # added earlier in this revision: no running code knows it yet
        yield _rename_column_hit(op.table, op.column, str(op.args["new_column_name"]))
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            if act.kind == "rename_column":
                ref = statement_table(stmt)
                if ref is not None and act.column \
                        and (*ref, act.column.lower()) in _added_before(op, ctx):
                    continue
                yield _rename_column_hit(stmt.table, act.column, act.name or "<new>")


def _added_before(op: Op, ctx: RuleContext) -> set[ColumnRef]:
    """The columns (:data:`~sluice.rules._util.ColumnRef`) the revision adds before
    ``op``."""
    out: set[ColumnRef] = set()
    for other in unit_ops(op, ctx):
        if other is op:
            break
        ref = op_table(other)
        if other.kind == "add_column" and ref is not None and other.column:
            out.add((*ref, other.column.lower()))
        for stmt, _ in sql_statements(other, ctx):
            ref = statement_table(stmt) if stmt.kind == "ALTER TABLE" else None
            if ref is None:
                continue
            for act in stmt.actions:
                if act.kind == "add_column" and act.column:
                    out.add((*ref, act.column.lower()))
    return out


def _rename_column_hit(table: str | None, old: str | None, new: str) -> Hit:
    target = column_label(table, old)
    old = old or "the old column"
    return Hit(
        f"renames {target} to {new}; the release still running during the deploy "
        f"queries {old} and fails until it is replaced",
        steps(
            f"Add {table or 'the table'}.{new} as a new nullable column and make the code write both "
            f"{old} and {new}; deploy.",
            f"Backfill {new} from {old} in batches (sluice.data.batched_update).",
            f"Switch reads to {new}; deploy.",
            f"Stop writing {old}, deploy, then drop it in a later revision.",
        ),
    )
