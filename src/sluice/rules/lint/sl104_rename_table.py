"""SL104 ``rename-table``. The check's docstring is the rule's documentation.

Fixtures: ``sl104_rename_table.fixtures/`` (``SL104_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL104_ok*.py`` must not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._rebuild import position, renamed_back
from sluice.rules._util import RUNTIME_TABLE, sql_statements, statement_table, steps, table_ref
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL104", "rename-table", family="compat", severity="error", kinds=("rename_table", "execute"),
      phases=UPGRADE)
def rename_table(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Renaming a table breaks every running instance that still uses the old name.

    Why it is dangerous: the release still running during a deploy, background workers,
    other services and reporting jobs all query the old name and fail from the moment
    the rename commits. Foreign keys and sequences follow the rename, code does not.

    Safe alternative:
    1. Create the new table, or keep the old one and add a view with the new name
       (on PostgreSQL a simple view over one table is updatable).
    2. Make the code write to both (or to the updatable view) and backfill in batches.
    3. Switch reads to the new name; deploy.
    4. Drop the old table (or the view) in a later revision once nothing uses it.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "rename_table" and not op.table_is_new:
        new = op.args.get("new_table_name")
        if op.table and isinstance(new, str) and renamed_back(
                op, ctx, table_ref(op.table, op.schema), table_ref(new, op.schema),
                position(op, ctx)):
            return
        yield _rename_table_hit(op.table or RUNTIME_TABLE,
                                str(new or "a name computed at run time"))
        return
    for j, (stmt, is_new) in enumerate(sql_statements(op, ctx)):
        if is_new:
            continue
        if stmt.kind == "RENAME TABLE":
            m = re.match(r"RENAME TABLE \S+ TO ([\"`\w.]+)", stmt.norm)
            new = m.group(1).split(".")[-1].strip('"`').lower() if m else "<new>"
            yield _rename_table_hit(stmt.table or "the table", new)
        elif stmt.kind == "ALTER TABLE":
            ref = statement_table(stmt)
            for act in stmt.actions:
                # (``RENAME TO`` keeps the table in its schema)
                if act.kind == "rename_table" and not (
                        ref and act.name
                        and renamed_back(op, ctx, ref, table_ref(act.name, ref[0]),
                                         position(op, ctx, j))):
                    yield _rename_table_hit(stmt.table or "the table", act.name or "<new>")


def _rename_table_hit(old: str, new: str) -> Hit:
    what = old if old == RUNTIME_TABLE else f"table {old}"
    return Hit(
        f"renames {what} to {new}; every query still using {old} (the running "
        "release, workers, other services) fails at once",
        steps(
            f"Create {new} (or a view named {new} over {old}) and make the code write to it "
            "as well; deploy.",
            f"Backfill {new} from {old} in batches if they are separate tables.",
            f"Switch reads to {new}; deploy.",
            f"Drop {old} (or the view) in a later revision once nothing uses it.",
        ),
    )
