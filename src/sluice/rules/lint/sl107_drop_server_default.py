"""SL107 ``drop-server-default``. The check's docstring is the rule's documentation.

Fixtures: ``sl107_drop_server_default.fixtures/`` (``SL107_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL107_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import sql_statements, steps
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL107", "drop-server-default", family="compat", severity="warning",
      kinds=("alter_column", "execute"), phases=UPGRADE)
def drop_server_default(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Dropping a column's server default that running code may rely on.

    Why it is dangerous: code that inserts rows without naming the column (the release
    still running during the deploy, raw SQL in jobs, other services) silently gets NULL
    from then on, or fails if the column is NOT NULL.

    Safe alternative:
    1. Make every code path write the column explicitly (or set a Python-side default in
       the model); deploy that.
    2. Drop the server default in a later revision.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "alter_column" and not op.table_is_new and "server_default" in op.args:
        if op.args["server_default"] is not None:
            return
        old = op.args.get("existing_server_default")
        was = f" (was {old})" if old else ""
        yield _drop_default_hit(op.table or "TABLE", op.column or "COLUMN", was)
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            if act.kind == "drop_default":
                yield _drop_default_hit(stmt.table or "TABLE", act.column or "COLUMN", "")


def _drop_default_hit(table: str, column: str, was: str) -> Hit:
    return Hit(
        f"drops the server default of {table}.{column}{was}; inserts that omit the column "
        "(the release still running, jobs, other services) now get NULL or fail",
        steps(
            f"Make every insert into {table} write {column} explicitly; deploy that.",
            f"Drop the default in a later revision: op.alter_column('{table}', '{column}', "
            "server_default=None, existing_type=...).",
        ),
    )
