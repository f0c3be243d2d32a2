"""SL002 ``drop-column``. The check's docstring is the rule's documentation.

Fixtures: ``sl002_drop_column.fixtures/`` (``SL002_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL002_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import (
    TableRef,
    column_label,
    construct_on,
    sql_statements,
    statement_table,
    steps,
    table_ref,
    unit_ops,
)
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

    A copy-and-swap (a new column added, the data copied into it, the old column dropped
    and the new one renamed to the old name, in the same revision) keeps the data: it is
    reported as what it is, a change of the column's type under the running code. So is a
    column dropped and added again under the same name later in the revision. A column the
    same revision added (a temporary copy) is not reported: no running code knows it. A
    table is its schema and its name: a column of that name added or renamed in another
    schema's table (or in the default schema's, where the drop names a schema) is another
    column.
    """
    if op.phase != "upgrade":
        return None
    if op.kind == "execute":
        for stmt, is_new in sql_statements(op, ctx):
            if stmt.kind != "ALTER TABLE" or is_new:
                continue
            for act in stmt.actions:
                if act.kind == "drop_column" and not _added_before(
                        op, ctx, statement_table(stmt), act.column):
                    yield _drop_column_hit(stmt.table, act.column)
                elif act.kind == "drop_partition":
                    yield _drop_partition_hit(stmt.table, act.name)
        return None
    if op.kind != "drop_column" or op.table_is_new:
        return None
    if _added_before(op, ctx, _ref(op), op.column):
        return None  # a column of this revision's own: no running code knows it
    swap = _swapped_for_copy(op, ctx) or _added_again(op, ctx)
    if swap is not None:
        yield swap
        return None
    yield _drop_column_hit(op.table, op.column,
                           op.target if op.table and op.column else None)
    return None


def _swapped_for_copy(op: Op, ctx: RuleContext) -> Hit | None:
    """``op`` drops a column that a column filled earlier in the revision (an UPDATE that
    sets it) replaces: renamed to the dropped name after the drop."""
    ref, column = _ref(op), (op.column or "").lower()
    unit = unit_ops(op, ctx)
    at = next((i for i, o in enumerate(unit) if o is op), len(unit))
    new = next((o for o in unit[at + 1:] if o.kind == "alter_column" and o.column
                and _ref(o) == ref
                and str(o.args.get("new_column_name") or "").lower() == column), None)
    if new is None or ref is None or not column:
        return None
    copy = str(new.column).lower()
    filled = False
    for o in unit[:at]:
        if o.kind == "execute" and construct_on(o, ref) \
                and copy in {str(c).lower() for c in o.args.get("set_columns") or ()}:
            filled = True
        for stmt, _ in sql_statements(o, ctx):
            filled = filled or (stmt.kind == "UPDATE" and statement_table(stmt) == ref
                                and copy in {c.strip('"`').lower() for c, _ in stmt.sets})
    if not filled:
        return None
    added = next((o for o in unit[:at] if o.kind == "add_column"
                  and _ref(o) == ref and (o.column or "").lower() == copy), None)
    type_ = f" ({added.args['type_']})" if added is not None and added.args.get("type_") \
        else ""
    return Hit(
        f"replaces {op.target} with its copy {new.column}{type_}, renamed to {op.column} at "
        f"line {new.line}; the data is kept, but the column changes type under the running "
        "code: the release still running during the deploy reads and writes it as before",
        steps(
            f"Make the code handle both the old and the new type of {op.column} and deploy "
            "it first.",
            f"Or keep {op.column}, write both columns from code, and switch reads to "
            f"{new.column} in a later release before dropping {op.column}.",
        ),
    )


def _ref(op: Op) -> TableRef | None:
    """The table ``op`` works on, None when the source computes its name."""
    return table_ref(op.table, op.schema) if op.table else None


def _added_before(op: Op, ctx: RuleContext, table: TableRef | None,
                  column: str | None) -> bool:
    """``column`` of ``table`` was added by an ``add_column`` earlier in the revision (and
    not dropped since)."""
    if table is None or not column:
        return False
    column = column.lower()
    unit = unit_ops(op, ctx)
    at = next((i for i, o in enumerate(unit) if o is op), 0)
    added = False
    for o in unit[:at]:
        if _ref(o) == table and (o.column or "").lower() == column:
            if o.kind == "add_column":
                added = True
            elif o.kind == "drop_column":
                added = False
    return added


def _added_again(op: Op, ctx: RuleContext) -> Hit | None:
    """``op`` drops a column that an ``add_column`` later in the revision adds again under
    the same name (often with another type, filled from a copy made before the drop)."""
    ref, column = _ref(op), (op.column or "").lower()
    unit = unit_ops(op, ctx)
    at = next((i for i, o in enumerate(unit) if o is op), len(unit))
    again = next((o for o in unit[at + 1:] if o.kind == "add_column"
                  and _ref(o) == ref and (o.column or "").lower() == column), None)
    if again is None or ref is None or not column:
        return None
    own = {(o.column or "").lower() for o in unit[:at] if o.kind == "add_column"
           and _ref(o) == ref}
    copied = [c for o in unit[:at] if o.kind == "execute"
              and construct_on(o, ref)
              for c in o.args.get("set_columns") or () if str(c).lower() in own]
    type_ = f" as {again.args['type_']}" if again.args.get("type_") else ""
    kept = (f"its values are kept in {copied[0]}" if copied else
            "its values are gone unless copied first")
    return Hit(
        f"drops {op.target} and adds it again{type_} at line {again.line}; {kept}, and the "
        "column changes type under the running code: the release still running during "
        "the deploy reads and writes it as before, and fails or misreads it in between",
        steps(
            f"Make the code handle both the old and the new form of {op.column} and deploy "
            "it first.",
            f"Or add the new column under another name, write both from code, switch reads "
            f"in a later release, then drop {op.column}.",
        ),
    )


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
