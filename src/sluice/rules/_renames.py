"""The names a table or column had earlier in the same revision: renames followed back.

SL003 and SL004 match a dropped index or constraint with the one the revision creates in
its place; when the revision also renames the table or the column in between
(``block`` -> ``block_document``, ``block_spec_id`` -> ``block_schema_id``), the new one is
on the new names while the dropped one is named after the old ones. A table is its
schema and its name (:data:`~sluice.rules._util.TableRef`): a rename in another schema
renames another table.
"""

from __future__ import annotations

from collections.abc import Sequence

from sluice.core.ops import Op
from sluice.rules._util import TableRef, op_table, table_ref


def earlier_names(ops: Sequence[Op], table: TableRef | None, column: str | None = None
                  ) -> tuple[set[TableRef], set[str]]:
    """(tables, column names lower-cased): ``table`` and ``column`` as the op after ``ops``
    names them, with every name they had before a rename among ``ops``
    (``op.rename_table``, which keeps the schema, ``alter_column(...,
    new_column_name=...)``)."""
    tables = {table} if table else set()
    columns = {column.lower()} if column else set()
    for o in reversed(ops):
        if o.kind == "rename_table" and o.table:
            if table_ref(str(o.args.get("new_table_name") or ""), o.schema) in tables:
                tables.add(table_ref(o.table, o.schema))
        elif o.kind == "alter_column" and o.column and columns and o.args.get("new_column_name"):
            if op_table(o) in tables and str(o.args["new_column_name"]).lower() in columns:
                columns.add(o.column.lower())
    return tables, columns


def named_after(name: str, ops: Sequence[Op], table: TableRef | None, columns: object
                ) -> bool:
    """Every column of ``columns`` (of ``table``, as the op after ``ops`` names them),
    under its name then or an earlier one, is a word of ``name``: ``ix_block__is_default``
    is named after ``is_default``, renamed ``is_default_document`` since."""
    if not isinstance(columns, (list, tuple)) or not columns:
        return False
    padded = f"_{name.lower()}_"
    for col in columns:
        if not isinstance(col, str):
            return False
        _, names = earlier_names(ops, table, col)
        if not any(f"_{n}_" in padded for n in names):
            return False
    return True
