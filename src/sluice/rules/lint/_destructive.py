"""What the rule files of the ``destructive`` family share.

Destructive operations (SL0xx): they remove data or structure that running code may
still use.
"""

from __future__ import annotations

from sluice.core.ops import Op
from sluice.rules._util import dropped_columns, index_columns, table_ref
from sluice.rules.registry import RuleContext


def _index_column_dropped(op: Op, ctx: RuleContext) -> bool:
    """The revision drops, in the same phase, a column of the index ``op`` drops.

    PostgreSQL drops every index involving a dropped column, MySQL and SQLite remove the
    column from it: either way no query on that column is left for the index to serve.
    The columns come from a ``create_index`` of the same name among the ops linted
    together; without one, from the index name (``ix_deployment__queue_id``).
    """
    if not op.table:
        return False
    table = table_ref(op.table, op.schema)
    gone = {col for *tbl, col in dropped_columns(op, ctx) if tuple(tbl) == table}
    if not gone:
        return False
    cols = index_columns(op.name, ctx, op.schema) if op.kind == "drop_index" else None
    if cols is not None:
        return any(c in gone for c in cols)
    name = f"_{(op.name or '').lower()}_"
    return any(f"_{col}_" in name for col in gone)


#: Dialects whose DDL is transactional: a constraint dropped and re-created in one
#: revision is never missing for another session.
_TRANSACTIONAL_DDL = ("postgresql", "sqlite")
