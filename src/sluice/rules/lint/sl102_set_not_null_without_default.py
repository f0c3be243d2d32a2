"""SL102 ``set-not-null-without-default``. The check's docstring is the rule's documentation.

Fixtures: ``sl102_set_not_null_without_default.fixtures/`` (``SL102_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL102_ok*.py`` must not).
"""

from __future__ import annotations

import re

from sluice.core.ops import Hit, Op
from sluice.rules._notnull import proven_not_null
from sluice.rules._util import (
    ColumnRef,
    TableRef,
    bounded,
    construct_on,
    has_default,
    op_table,
    sql_statements,
    statement_table,
    steps,
    table_ref,
    unit_ops,
)
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL102", "set-not-null-without-default", family="compat", severity="error",
      autogenerate=True, kinds=("alter_column",), phases=UPGRADE)
def set_not_null_without_default(op: Op, ctx: RuleContext) -> Hit | None:
    """Making an existing column NOT NULL without a server default, or without filling its
    NULLs.

    Why it is dangerous: the ALTER fails if any row holds NULL (a server default given with
    it fills new rows, not the NULLs already there), and code that still inserts without
    the column (the previous release during a rolling deploy) starts failing. On
    PostgreSQL it also scans the whole table under an ACCESS EXCLUSIVE lock.

    Safe alternative:
    1. Give the column a server default and make every code path write it; deploy.
    2. Backfill NULLs in batches (``sluice.data.batched_update``).
    3. On PostgreSQL, add ``CHECK (col IS NOT NULL) NOT VALID``, then ``VALIDATE
       CONSTRAINT`` (no long lock), then SET NOT NULL, which then skips the scan.

    Not reported once such a check, added by an earlier revision, is valid (see SL206): no
    row holds NULL, and every writer already writes the column. Nor with a server default
    and an ``UPDATE`` earlier in the revision that sets the column: on every row, where it
    is NULL, one row or batch at a time (``WHERE id = :id`` in a loop over the rows), a
    ``sa.update(t).where(...).values(col=...)`` construct, or a ``sluice.data`` step (on
    the table of its ``schema=``).
    Without a server default such a backfill is still reported, for the code that does not
    write the column. (A check the revision adds and validates itself fails on NULL rows
    as the NOT NULL would.) A table is its schema and its name: a column added or filled
    in the table of that name in another schema leaves this one's NULLs.
    """
    if op.kind != "alter_column" or op.args.get("nullable") is not False or op.table_is_new:
        return None
    if op.phase != "upgrade":
        return None
    if op.args.get("existing_nullable") is False:
        return None
    ref = op_table(op)
    if ref is not None and op.column and (*ref, op.column.lower()) in \
            _added_with_default_before(op, ctx):
        return None  # existing rows got the default when the column was added
    if proven_not_null(op, ctx, op_table(op), op.column, added_here=False):
        return None  # a valid CHECK (column IS NOT NULL): no NULL row, every writer writes it
    default = has_default(op.args.get("server_default")) or has_default(
        op.args.get("existing_server_default"))
    backfilled = _backfilled_before(op, ctx)
    if default and backfilled:
        return None
    # (the table in its schema: without ``schema=`` the step fills the default one's)
    in_schema = f", schema={op.schema!r}" if op.schema else ""
    backfill = (f"Backfill NULLs in batches: sluice.data.batched_update('{op.table}', "
                f"{{'{op.column}': ...}}, where=<col> IS NULL{in_schema}).")
    later = ("Then set NOT NULL in a later revision (on PostgreSQL via a NOT VALID check "
             "constraint validated first).")
    if default:
        return Hit(
            f"makes {op.target} NOT NULL; its server default fills new rows only, so a row "
            "that already holds NULL makes the ALTER fail",
            steps(f"{backfill} (or in the same revision, before the NOT NULL).", later))
    if backfilled:
        return Hit(
            f"makes {op.target} NOT NULL without a server default; code that does not write "
            "the column (the running release, during the deploy) starts failing",
            steps(f"Add a server default to {op.column}, or make every insert write it and "
                  "deploy that first.", later))
    return Hit(
        f"makes {op.target} NOT NULL without a server default; fails on existing NULLs and "
        "breaks code that does not write the column",
        steps(
            f"Add a server default to {op.column} and make every insert write it; deploy.",
            backfill,
            later,
        ),
    )


def _backfilled_before(op: Op, ctx: RuleContext) -> bool:
    """The revision fills the column's NULLs before ``op``: an ``UPDATE`` of its table that
    sets the column, on every row or where it is NULL, or a ``sluice.data`` step that does
    (``script.data_step``; facts come after the ops, so it is found by line)."""
    ref, column = op_table(op), (op.column or "").lower()
    if ref is None:
        return False
    before = True
    for other in unit_ops(op, ctx):
        if other.kind == "script.data_step" and (other.line or 0) < (op.line or 0) \
                and _step_table(other) == ref \
                and column in {str(c).lower() for c in other.args.get("columns", ())} \
                and other.args.get("where") in ("*", column):
            return True
        before = before and other is not op
        if not before:
            continue
        if other.kind == "execute" and other.args.get("construct") == "update" \
                and construct_on(other, ref) \
                and column in {str(c).lower() for c in other.args.get("set_columns") or ()}:
            return True  # sa.update(t).where(...).values(col=...): per row, or where NULL
        for stmt, _ in sql_statements(other, ctx):
            if stmt.kind != "UPDATE" or statement_table(stmt) != ref:
                continue
            if column not in {c.strip('"`').lower() for c, _ in stmt.sets}:
                continue
            where = re.sub(r'["`\s]+', " ", str(stmt.where or "")).strip().lower()
            if not stmt.has_where or where == f"{column} is null" or bounded(stmt):
                return True  # (bounded: one row or batch of a loop over the rows)
    return False


def _step_table(step: Op) -> TableRef:
    """The :data:`~sluice.rules._util.TableRef` of the table a ``script.data_step`` fills."""
    schema = step.args.get("schema")
    return table_ref(str(step.args.get("table")), schema if isinstance(schema, str) else None)


def _added_with_default_before(op: Op, ctx: RuleContext) -> set[ColumnRef]:
    """The columns (:data:`~sluice.rules._util.ColumnRef`) the revision adds with a server
    default before ``op`` (and does not strip of it again)."""
    out: set[ColumnRef] = set()
    for other in unit_ops(op, ctx):
        if other is op:
            break
        key = (*(op_table(other) or ("", "")), (other.column or "").lower())
        if other.kind == "add_column" and has_default(other.args.get("server_default")):
            out.add(key)
        elif other.kind == "alter_column" and "server_default" in other.args \
                and not has_default(other.args.get("server_default")):
            out.discard(key)
        for stmt, _ in sql_statements(other, ctx):
            ref = statement_table(stmt) if stmt.kind == "ALTER TABLE" else None
            if ref is None:
                continue
            for act in stmt.actions:
                if act.kind == "add_column" and act.column and act.default is not None:
                    out.add((*ref, act.column.lower()))
    return out
