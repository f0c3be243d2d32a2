"""Transactions: statements that cannot run in, or should not share, the DDL transaction."""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.lint.model import Hit, Op
from sluice.lint.registry import UPGRADE, RuleContext, rule
from sluice.lint.rules._util import (
    DDL_KINDS,
    DDL_SQL,
    bounded,
    index_label,
    pg_version,
    sql_statements,
    steps,
    unit_ops,
)

PG = ("postgresql",)
_AUTOCOMMIT = "with op.get_context().autocommit_block():"


@rule("SL401", "concurrently-outside-autocommit", family="transactions", severity="error",
      dialects=PG, kinds=("create_index", "drop_index", "execute"))
def concurrently_outside_autocommit(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """``CONCURRENTLY`` inside the migration transaction fails at run time.

    Why it is dangerous: ``CREATE INDEX CONCURRENTLY``, ``DROP INDEX CONCURRENTLY`` and
    ``REINDEX CONCURRENTLY`` refuse to run inside a transaction block, and Alembic runs
    each migration inside one on PostgreSQL. The revision passes review, then fails in
    the deploy ("cannot run inside a transaction block"), after any earlier statement of
    the same revision already took its locks.

    Safe alternative:
    1. Wrap the statement in ``with op.get_context().autocommit_block():``.
    2. Put it in a revision of its own (the autocommit block commits what came before it).
    3. Make it re-runnable (``if_not_exists=True`` / ``IF NOT EXISTS``): a failed concurrent
       build leaves an INVALID index behind.
    """
    if op.in_autocommit:
        return
    if op.kind in ("create_index", "drop_index") and op.args.get("postgresql_concurrently"):
        verb = "creates" if op.kind == "create_index" else "drops"
        label = index_label(op.name, op.target if op.table else None)
        yield _hit(f"{verb} {label} CONCURRENTLY", op)
        return
    for stmt, _ in sql_statements(op, ctx):
        if stmt.concurrently and stmt.kind in ("CREATE INDEX", "DROP INDEX", "REINDEX"):
            name = stmt.index_name or stmt.table
            yield _hit(f"{stmt.kind} CONCURRENTLY{' ' + name if name else ''}", op)


def _hit(what: str, op: Op) -> Hit:
    return Hit(
        f"{what} outside autocommit_block(); PostgreSQL refuses CONCURRENTLY inside the "
        "migration transaction, so the deploy fails at this line",
        steps(
            f"Wrap it: `{_AUTOCOMMIT}` and indent the op under it.",
            "Move it to a revision of its own (the block commits everything before it).",
            "Make it re-runnable with if_not_exists=True / if_exists=True: a failed concurrent "
            "build leaves an INVALID index to drop first.",
        ),
    )


def _dml_tables(op: Op, ctx: RuleContext) -> list[str]:
    """Existing tables that ``op`` updates or deletes from in bulk."""
    if op.kind == "execute" and op.args.get("construct") in ("update", "delete"):
        if op.table_is_new or op.args.get("where"):
            return []  # a Core statement with .where() is usually per-row, in a loop
        return [str(op.args.get("construct_table") or "TABLE")]
    out = []
    for stmt, is_new in sql_statements(op, ctx):
        if is_new:
            continue
        if (stmt.kind in ("UPDATE", "DELETE") and not bounded(stmt)) or (
            stmt.kind == "INSERT" and stmt.insert_select
        ):
            out.append(stmt.table or "TABLE")
    return out


def _locking_ddl(op: Op, ctx: RuleContext) -> str | None:
    if op.in_autocommit or op.table_is_new:
        return None
    if op.kind in DDL_KINDS and op.kind != "create_table":
        if op.kind == "create_index" and op.args.get("postgresql_concurrently"):
            return None
        return f"{op.kind} on {op.target} (line {op.line})"
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind in DDL_SQL and stmt.kind != "CREATE TABLE" and not is_new:
            return f"{stmt.kind} {stmt.table or ''} (line {op.line})".replace("  ", " ")
    return None


@rule("SL402", "dml-in-ddl-transaction", family="transactions", severity="warning",
      dialects=PG, kinds=("execute",), phases=UPGRADE)
def dml_in_ddl_transaction(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A bulk UPDATE/DELETE after DDL in the same revision keeps the DDL's lock for its run.

    Why it is dangerous: on PostgreSQL the whole revision is one transaction, and the
    ACCESS EXCLUSIVE lock an ALTER takes is held until that transaction commits. A data
    backfill that runs after it in the same revision keeps the table locked for as long
    as the backfill takes: a two-second ALTER becomes a twenty-minute outage.

    Safe alternative:
    1. Move the data change into a revision of its own, after the schema change.
    2. Run it in batches (``sluice.data.batched_update``), each batch its own short
       transaction, so no lock is held for long.
    """
    if op.phase != "upgrade" or op.in_autocommit:
        return
    tables = _dml_tables(op, ctx)
    if not tables:
        return
    ddl = None
    for other in unit_ops(op, ctx):
        if other is op:
            break
        ddl = ddl or _locking_ddl(other, ctx)
    if ddl is None:
        return
    for table in tables:
        yield Hit(
            f"bulk change of {table} runs in the same transaction as {ddl}; the DDL's lock "
            "is held until the data change finishes",
            steps(
                f"Move the data change on {table} into a separate revision after this one.",
                "Run it in batches (sluice.data.batched_update / batched_delete) so each "
                "transaction is short.",
            ),
        )


_NEEDS_AUTOCOMMIT = [
    (r"VACUUM\b", "VACUUM"),
    (r"CREATE DATABASE\b", "CREATE DATABASE"),
    (r"DROP DATABASE\b", "DROP DATABASE"),
    (r"CREATE TABLESPACE\b", "CREATE TABLESPACE"),
    (r"DROP TABLESPACE\b", "DROP TABLESPACE"),
    (r"ALTER SYSTEM\b", "ALTER SYSTEM"),
]


@rule("SL403", "statement-needs-autocommit", family="transactions", severity="error",
      dialects=PG, kinds=("execute",))
def statement_needs_autocommit(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A statement PostgreSQL refuses inside a transaction block.

    Why it is dangerous: ``VACUUM``, ``CREATE/DROP DATABASE``, ``CREATE/DROP TABLESPACE``,
    ``ALTER SYSTEM`` (and, before PostgreSQL 12, ``ALTER TYPE ... ADD VALUE``) cannot run
    in a transaction, and Alembic runs the migration in one: the deploy fails at this
    statement, after the earlier statements of the revision took their locks.

    Safe alternative:
    1. Wrap it in ``with op.get_context().autocommit_block():``.
    2. Better, keep maintenance (VACUUM, ALTER SYSTEM) out of migrations altogether.
    """
    if op.in_autocommit:
        return
    for stmt, _ in sql_statements(op, ctx):
        label = next((name for pat, name in _NEEDS_AUTOCOMMIT if re.match(pat, stmt.norm)),
                     None)
        if label is None and stmt.kind == "ALTER TYPE" and " ADD VALUE" in stmt.norm \
                and pg_version(ctx) < 12:
            label = f"ALTER TYPE ... ADD VALUE (before PostgreSQL 12, target {pg_version(ctx)})"
        if label is None:
            continue
        yield Hit(
            f"{label} cannot run inside a transaction block; the migration fails here",
            steps(
                f"Wrap it: `{_AUTOCOMMIT}`.",
                "Keep maintenance statements out of migrations where you can.",
            ),
        )
