"""SL206 ``set-not-null``. The check's docstring is the rule's documentation.

Fixtures: ``sl206_set_not_null.fixtures/`` (``SL206_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL206_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._notnull import proven_not_null, set_not_null_column
from sluice.rules._util import (
    TableRef,
    op_table,
    pg_version,
    sql_statements,
    statement_table,
    steps,
)
from sluice.rules.lint._postgres import PG, pg_ident
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL206", "set-not-null", family="postgres-locking", severity="error", dialects=PG,
      kinds=("alter_column", "execute"), phases=UPGRADE)
def set_not_null(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """``SET NOT NULL`` on an existing column scans the table under an exclusive lock.

    Why it is dangerous: PostgreSQL verifies that no row holds NULL while holding an
    ACCESS EXCLUSIVE lock, blocking every read and write for the whole scan.

    Safe alternative (PostgreSQL 12 and later):
    1. Add ``CHECK (col IS NOT NULL) NOT VALID`` (instant).
    2. ``VALIDATE CONSTRAINT`` it (scans without blocking reads and writes).
    3. ``SET NOT NULL``: PostgreSQL uses the valid check and skips the scan.
    4. Drop the now redundant check constraint.

    A ``SET NOT NULL`` the revision prepares that way is not reported: a valid check
    guarding the column stands (added earlier in the revision, or validated in it and named
    after the column), or the revision drops such a check right after it (the check was
    validated by an earlier revision). A check on the table of that name in another schema
    proves nothing of this one.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "alter_column" and op.args.get("nullable") is False and not op.table_is_new:
        if op.args.get("existing_nullable") is False or _no_scan(op, ctx, op_table(op), op.column):
            return
        yield _set_not_null_hit(op.table or "TABLE", op.column or "COLUMN", ctx)
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            column = set_not_null_column(act) if act.kind == "set_not_null" else None
            if act.kind == "set_not_null" and not _no_scan(op, ctx, statement_table(stmt), column):
                yield _set_not_null_hit(stmt.table or "TABLE", column or "COLUMN", ctx)


def _no_scan(op: Op, ctx: RuleContext, table: TableRef | None, column: str | None) -> bool:
    """PostgreSQL 12+ with a valid ``CHECK (column IS NOT NULL)`` skips the scan: the
    safe alternative below, as written by hand or by ``sluice fix``."""
    return pg_version(ctx) >= 12 and proven_not_null(op, ctx, table, column)


def _set_not_null_hit(table: str, column: str, ctx: RuleContext) -> Hit:
    ck = f"ck_{table}_{column}_not_null".replace('"', "")
    t, c = pg_ident(table), pg_ident(column)
    fix = [
        f"op.execute('ALTER TABLE {t} ADD CONSTRAINT {pg_ident(ck)} CHECK ({c} IS NOT NULL) "
        "NOT VALID')",
        f"In a separate step: op.execute('ALTER TABLE {t} VALIDATE CONSTRAINT "
        f"{pg_ident(ck)}') (no blocking lock).",
    ]
    if pg_version(ctx) >= 12:
        fix += [
            f"Then op.alter_column('{table}', '{column}', nullable=False): the valid check "
            "lets PostgreSQL skip the scan.",
            f"Finally op.drop_constraint('{ck}', '{table}').",
        ]
    else:
        fix += [
            "Before PostgreSQL 12, SET NOT NULL always scans: keep the validated check "
            "constraint instead, or run the ALTER in a quiet window with lock_timeout set.",
        ]
    return Hit(
        f"sets {table}.{column} NOT NULL; PostgreSQL scans the whole table under an ACCESS "
        "EXCLUSIVE lock, blocking every read and write",
        steps(*fix),
    )
