"""What the rule files of the ``transactions`` family share.

Transactions (SL4xx): statements that cannot run in, or should not share, the DDL
transaction.
"""

from __future__ import annotations

from sluice.core.ops import Op
from sluice.rules._util import DDL_KINDS, DDL_SQL, sql_statements, unit_ops
from sluice.rules.registry import RuleContext

PG = ("postgresql",)


_AUTOCOMMIT = "with op.get_context().autocommit_block():"


def _locking_ddl(op: Op, ctx: RuleContext) -> tuple[str, str | None] | None:
    """The DDL of ``op`` that takes a lock held to the end of the transaction: its
    description and the table it locks."""
    if op.in_autocommit or op.table_is_new:
        return None
    if op.kind in DDL_KINDS and op.kind != "create_table":
        if op.kind == "create_index" and op.args.get("postgresql_concurrently"):
            return None
        return f"{op.kind} on {op.target} (line {op.line})", op.table
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind in DDL_SQL and stmt.kind != "CREATE TABLE" and not is_new:
            return (f"{stmt.kind} {stmt.table or ''} (line {op.line})".replace("  ", " "),
                    stmt.table)
    return None


def locking_ddl_before(op: Op, ctx: RuleContext,
                       tables: tuple[str | None, ...] = ()) -> str | None:
    """On PostgreSQL, a DDL statement on an existing table that runs before ``op`` in the
    same transaction (its lock is held until that transaction commits), described with its
    line: the first one on one of ``tables`` (the tables ``op`` changes, whose readers wait
    longest), else the first one; None when there is none or ``op`` runs in an autocommit
    block."""
    if ctx.dialect not in PG or op.in_autocommit:
        return None
    wanted = {t.lower() for t in tables if t}
    first = None
    for other in unit_ops(op, ctx):
        if other is op:
            break
        ddl = _locking_ddl(other, ctx)
        if ddl is None:
            continue
        if ddl[1] and ddl[1].lower() in wanted:
            return ddl[0]
        first = first or ddl[0]
    return first
