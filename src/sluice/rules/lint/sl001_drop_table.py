"""SL001 ``drop-table``. The check's docstring is the rule's documentation.

Fixtures: ``sl001_drop_table.fixtures/`` (``SL001_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL001_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._rebuild import position, rows_copied_back
from sluice.rules._util import (
    RUNTIME_TABLE,
    TableRef,
    drop_table_refs,
    sql_statements,
    steps,
    table_ref,
)
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL001", "drop-table", family="destructive", severity="error", autogenerate=True,
      kinds=("drop_table", "execute"), phases=UPGRADE)
def drop_table(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Dropping a table deletes its data for good.

    Why it is dangerous: the rows are gone the moment the migration commits; a rollback
    of the deploy does not bring them back, and any code still reading the table fails.
    Autogenerate writes this whenever a model disappears, including by accident (a model
    module not imported in env.py).

    Safe alternative:
    1. Stop reading and writing the table in application code; deploy that.
    2. Take a backup of the table (or rename it to ``<name>_bak`` and exclude that pattern).
    3. Drop it in a later, separate revision once nothing uses it.
    """
    if op.phase != "upgrade":
        return None
    if op.kind == "execute":
        for j, (stmt, is_new) in enumerate(sql_statements(op, ctx)):
            if stmt.kind == "DROP TABLE" and not is_new:
                refs = sorted(drop_table_refs(stmt))
                tables: list[tuple[str | None, TableRef | None]] = [
                    (t, ref) for i, t in enumerate(stmt.tables) if t not in stmt.tables[:i]
                    for ref in refs if ref[1] == t.lower()] or [(None, None)]
                for table, ref in tables:
                    if ref and rows_copied_back(op, ctx, ref, position(op, ctx, j)):
                        continue
                    yield _drop_table_hit(table, f"drops table {table}" if table
                                          else "drops a table")
        return None
    if op.kind != "drop_table" or op.table_is_new:
        return None
    if not op.table:
        yield _drop_table_hit(None, f"drops {RUNTIME_TABLE}")
        return None
    if rows_copied_back(op, ctx, table_ref(op.table, op.schema), position(op, ctx)):
        return None  # rebuilt in place: re-created and its rows copied back
    yield _drop_table_hit(op.table, f"drops table {op.target}", op.target)
    return None


def _drop_table_hit(table: str | None, what: str, target: str | None = None) -> Hit:
    target = target or table or "the table"
    name = table or "TABLE"
    return Hit(
        f"{what} and all its rows; code still reading it fails at once",
        steps(
            f"Remove every use of {target} from the code and deploy that first.",
            f"Back up the data, or rename the table (op.rename_table('{name}', "
            f"'{name}_bak')) and add '*_bak' to exclude_tables.",
            "Drop it in a later revision, after the deploy that stopped using it.",
        ),
    )
