"""SL103 ``rename-column``. The check's docstring is the rule's documentation.

Fixtures: ``sl103_rename_column.fixtures/`` (``SL103_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL103_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import column_label, sql_statements, steps, unit_ops
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
    """
    if op.phase != "upgrade":
        return
    if op.kind == "alter_column" and op.args.get("new_column_name") and not op.table_is_new:
        if (str(op.table).lower(), str(op.column).lower()) in _added_before(op, ctx):
            return  # added earlier in this revision: no running code knows it yet
        yield _rename_column_hit(op.table, op.column, str(op.args["new_column_name"]))
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            if act.kind == "rename_column":
                if (str(stmt.table).lower(), str(act.column).lower()) in _added_before(op,
                                                                                      ctx):
                    continue
                yield _rename_column_hit(stmt.table, act.column, act.name or "<new>")


def _added_before(op: Op, ctx: RuleContext) -> set[tuple[str, str]]:
    """(table, column), lower-cased, of the columns the revision adds before ``op``."""
    out: set[tuple[str, str]] = set()
    for other in unit_ops(op, ctx):
        if other is op:
            break
        if other.kind == "add_column" and other.table and other.column:
            out.add((other.table.lower(), other.column.lower()))
        for stmt, _ in sql_statements(other, ctx):
            for act in stmt.actions if stmt.kind == "ALTER TABLE" and stmt.table else ():
                if act.kind == "add_column" and act.column:
                    out.add((str(stmt.table).lower(), act.column.lower()))
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
