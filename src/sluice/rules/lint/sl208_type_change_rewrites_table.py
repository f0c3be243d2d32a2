"""SL208 ``type-change-rewrites-table``. The check's docstring is the rule's documentation.

Fixtures: ``sl208_type_change_rewrites_table.fixtures/`` (``SL208_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL208_ok*.py`` must not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.core.ops import Hit, Op, TypeInfo
from sluice.rules._sql import _IDENT, _ident
from sluice.rules._util import run_memo, sql_statements, steps, unit_ops
from sluice.rules.lint._postgres import PG
from sluice.rules.registry import UPGRADE, RuleContext, rule


def _pg_rewrites(old: TypeInfo | None, new: TypeInfo | None) -> str | None:
    """Why changing ``old`` to ``new`` rewrites the table on PostgreSQL, or None."""
    if new is None:
        return None
    if old is None:
        return "the current type is unknown (no existing_type)"
    if old.family in ("string", "text") and new.family == "text":
        return None
    if old.family == "string" and new.family == "string":
        if new.length is None or (old.length is not None and new.length >= old.length):
            return None
        return f"shrinking the length from {old.length} to {new.length} rechecks every row"
    if old.family == "text" and new.family == "string" and new.length is None:
        return None
    if old.family == "numeric" and new.family == "numeric":
        if new.precision is None or (
            old.precision is not None and new.precision >= old.precision
            and (new.scale or 0) == (old.scale or 0)
        ):
            return None
        return "changing numeric precision or scale rewrites every row"
    if old.family == "datetime" and new.family == "datetime" and old.timezone != new.timezone:
        return ("timestamp to timestamp with time zone (or back) converts every row; "
                "PostgreSQL 12+ skips the rewrite only when the session TimeZone is UTC")
    if old.family == new.family == "datetime" or (
            old.name.upper() == new.name.upper() and old.family not in ("string", "numeric")):
        return None
    return f"{old.name} to {new.name} is not binary compatible"


@rule("SL208", "type-change-rewrites-table", family="postgres-locking", severity="error",
      dialects=PG, kinds=("alter_column", "execute"), phases=UPGRADE)
def type_change_rewrites(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A column type change that makes PostgreSQL rewrite the table and its indexes.

    Why it is dangerous: unless the new type is binary compatible with the old one
    (VARCHAR to TEXT, a longer VARCHAR, a wider NUMERIC with the same scale), PostgreSQL
    rewrites every row and rebuilds every index on the table under an ACCESS EXCLUSIVE
    lock. INTEGER to BIGINT is the classic: minutes to hours of downtime on a big table.

    Safe alternative:
    1. Add a new column with the new type.
    2. Keep it in sync for new writes (a trigger or the application), deploy.
    3. Backfill it in batches (``sluice.data.batched_update``).
    4. Swap the columns in one short transaction (rename both), then drop the old one in
       a later revision.

    An enum type swap (a column changed to an enum type the same revision creates, as
    alembic-postgresql-enum's ``op.sync_enum_values`` does to remove or rename values)
    rewrites the table too, and fails on a row holding a value the new type lacks. Add
    values with ``ALTER TYPE ... ADD VALUE`` instead (no rewrite); to remove or rename
    some, move the rows off them in batches first and run the swap alone at a quiet moment.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "alter_column" and op.args.get("type_") and not op.table_is_new:
        old = TypeInfo.parse(op.args.get("existing_type"))
        new = TypeInfo.parse(op.args.get("type_"))
        table, column = op.table or "the table", op.column or "a column"
        if _to_citext(old, new):
            yield _citext_hit(table, column)
            return
        reason = _pg_rewrites(old, new)
        if reason:
            yield _rewrite_hit(table, column, reason, certain=old is not None)
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            if act.kind == "alter_type":
                new = TypeInfo.parse(act.type_)
                if new is not None and new.family == "text":
                    continue  # anything textual to TEXT is the common binary-compatible case
                table, column = stmt.table or "the table", act.column or "a column"
                if new is not None and new.family == "citext":
                    yield _citext_hit(table, column)
                    continue
                enum = _type_name(act.type_)
                if enum and enum in _enums_created(op, ctx):
                    yield _enum_swap_hit(table, column, enum)
                    continue
                yield _rewrite_hit(table, column,
                                   "the old type is unknown in raw SQL", certain=False)


_CREATE_ENUM = re.compile(r"CREATE TYPE " + _IDENT + r" AS ENUM\b")


def _type_name(text: str | None) -> str | None:
    """``"public"."status"`` / ``status[]`` -> ``status``."""
    return _ident(text.replace("[]", "")) if text else None


def _enums_created(op: Op, ctx: RuleContext) -> set[str]:
    """Enum types ``CREATE TYPE ... AS ENUM`` makes in the revision and phase of ``op``:
    a column changed to one of them is an enum type swap (the old type renamed away, a new
    one with other values, each column converted through text)."""
    memo = run_memo(ctx)
    key = ("enums_created", op.path, op.revision, op.phase)
    found = memo.get(key)
    if found is None:
        found = memo[key] = {
            name for o in unit_ops(op, ctx) if o.kind == "execute" and o.sql
            and "ENUM" in o.sql.upper()
            for stmt, _ in sql_statements(o, ctx)
            for m in [_CREATE_ENUM.match(stmt.norm)] if m
            for name in [_type_name(m.group(1))] if name}
    return set(found)


def _enum_swap_hit(table: str, column: str, enum: str) -> Hit:
    return Hit(
        f"changes {table}.{column} to a new {enum} enum type (an enum type swap, as "
        "op.sync_enum_values does): PostgreSQL rewrites the table and rebuilds its indexes "
        "under an ACCESS EXCLUSIVE lock, and a row holding a value the new type lacks "
        "makes the migration fail",
        steps(
            "If values are only added, add them instead: op.add_enum_value(...) or ALTER "
            "TYPE ... ADD VALUE (no rewrite).",
            "To remove or rename values, first move the rows off them in batches "
            "(sluice.data.batched_update) and deploy code that no longer writes them.",
            "Then run the swap in a revision of its own at a quiet moment, with a "
            "lock_timeout; on a large table consider keeping the old values in the type.",
        ),
    )


def _to_citext(old: TypeInfo | None, new: TypeInfo | None) -> bool:
    """VARCHAR/TEXT to CITEXT: binary coercible (no table rewrite), new operator class."""
    return (new is not None and new.family == "citext"
            and (old is None or old.family in ("string", "text")))


def _citext_hit(table: str, column: str) -> Hit:
    return Hit(
        f"changes the type of {table}.{column} to CITEXT: the table is not rewritten (text to "
        "citext is binary coercible), but every index on the column is rebuilt under an "
        "ACCESS EXCLUSIVE lock, and a unique index fails on values that differ only in case",
        steps(
            f"Find values of {column} that differ only in case first: SELECT lower({column}), "
            f"count(*) FROM {table} GROUP BY 1 HAVING count(*) > 1.",
            f"On a large table, drop the indexes on {column} concurrently (DROP INDEX "
            "CONCURRENTLY in an autocommit_block) before the type change.",
            "Change the type (quick without indexes), then recreate the indexes with "
            "CREATE INDEX CONCURRENTLY in a later revision.",
        ),
    )


def _rewrite_hit(table: str, column: str, reason: str, *, certain: bool = True) -> Hit:
    effect = ("PostgreSQL rewrites the table and rebuilds its indexes" if certain else
              "unless the new type is binary compatible with the old one, PostgreSQL "
              "rewrites the table and rebuilds its indexes")
    return Hit(
        f"changes the type of {table}.{column}; {reason}: {effect} under an ACCESS "
        "EXCLUSIVE lock",
        steps(
            f"Add a new column to {table} with the new type.",
            f"Keep it in sync with {column} for new writes (trigger or application); deploy.",
            "Backfill it in batches (sluice.data.batched_update).",
            f"Swap the columns in one short revision, then drop the old {column} later.",
        ),
    )
