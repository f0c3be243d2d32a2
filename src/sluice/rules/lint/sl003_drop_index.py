"""SL003 ``drop-index``. The check's docstring is the rule's documentation.

Fixtures: ``sl003_drop_index.fixtures/`` (``SL003_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL003_ok*.py`` must not).
"""

from __future__ import annotations

from sluice.core.ops import Hit, Op
from sluice.rules._renames import earlier_names, named_after
from sluice.rules._util import (
    dropped_tables,
    index_label,
    op_table,
    sql_statements,
    statement_table,
    steps,
    table_ref,
    unit_ops,
)
from sluice.rules.lint._destructive import _TRANSACTIONAL_DDL, _index_column_dropped
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL003", "drop-index", family="destructive", severity="warning", autogenerate=True,
      kinds=("drop_index",), phases=UPGRADE)
def drop_index(op: Op, ctx: RuleContext) -> Hit | None:
    """Dropping an index can turn fast queries into full table scans.

    Why it is dangerous: the index may serve a query that is rare but important (a nightly
    job, an admin page); after the drop it scans the whole table under load. Autogenerate
    also proposes drops for indexes created outside the models (by hand, by an extension).

    Safe alternative:
    1. Check the index is unused (PostgreSQL ``pg_stat_user_indexes.idx_scan``, MySQL
       ``sys.schema_unused_indexes``) over a full business cycle.
    2. If it was created outside the models, add it to the model or exclude it instead.
    3. Drop it in its own revision (on PostgreSQL with ``postgresql_concurrently=True``
       inside ``op.get_context().autocommit_block()``).

    An index the revision itself created earlier (to speed up its own data migration) is
    not reported, nor one replaced by an index or unique constraint on the columns it is
    named after: created before the drop, or after it where DDL is transactional. A table
    and an index are their schema and their name: one of that name in another schema is
    another.
    """
    if op.kind != "drop_index" or op.phase != "upgrade" or op.table_is_new:
        return None
    if op.table and table_ref(op.table, op.schema) in dropped_tables(op, ctx):
        return None  # the table goes too, in the same revision
    if _index_column_dropped(op, ctx):
        return None  # a column of the index goes too: no query can use the index after
    if _index_replaced_later(op, ctx):
        return None  # renamed: an index on the same columns replaces it
    if _created_earlier(op, ctx):
        return None  # made by this revision for its own work (a data migration's index)
    return Hit(
        f"drops {index_label(op.name, op.target if op.table else None)}; queries using it "
        "fall back to scans",
        steps(
            "Confirm the index is unused (pg_stat_user_indexes / sys.schema_unused_indexes).",
            "If it exists only in the database, declare it in the model instead of dropping it.",
            "Otherwise drop it in a revision of its own, concurrently on PostgreSQL.",
        ),
    )


def _created_earlier(op: Op, ctx: RuleContext) -> bool:
    """The revision created the index itself, before dropping it (a temporary index that
    speeds up its own data migration): no query of the application relies on it. An
    index is its name in its table's schema: one of that name created in another schema
    is another index."""
    if not op.name:
        return False
    index = table_ref(op.name, op.schema)
    for o in unit_ops(op, ctx):
        if o is op:
            return False
        if o.kind == "create_index" and o.name and table_ref(o.name, o.schema) == index:
            return True
        for stmt, _ in sql_statements(o, ctx):
            made_in = statement_table(stmt) if stmt.kind == "CREATE INDEX" else None
            if made_in is not None and table_ref(stmt.index_name or "", made_in[0]) == index:
                return True
    return False


#: What builds an index a query can use in place of the dropped one.
_INDEXING = ("create_index", "create_unique_constraint")


def _index_replaced_later(op: Op, ctx: RuleContext) -> bool:
    """The revision creates an index or a unique constraint on the same table whose columns
    are the ones the dropped index is named after (an index renamed by drop and create, a
    unique constraint in place of a plain index): before the drop on any dialect, after it
    on a dialect with transactional DDL, so no query is ever without it. Table and column
    renames in between are followed back (``ix_block__flag`` dropped, ``flag`` renamed
    ``flag_doc``, an index on ``flag_doc`` created)."""
    table = op_table(op)
    if table is None or not op.name:
        return False
    unit = unit_ops(op, ctx)
    start = next((i for i, o in enumerate(unit) if o is op), len(unit))
    for o in unit[:start]:
        if o.kind in _INDEXING and op_table(o) == table \
                and named_after(op.name, [], table, o.args.get("columns")):
            return True
    if ctx.dialect not in _TRANSACTIONAL_DDL:
        return False
    for i in range(start + 1, len(unit)):
        o = unit[i]
        if o.kind not in _INDEXING:
            continue
        before = unit[:i]  # (the index may be named after what a rename renamed)
        if table in earlier_names(before, op_table(o))[0] \
                and named_after(op.name, before, op_table(o), o.args.get("columns")):
            return True
    return False
