"""PostgreSQL locking: table rewrites and whole-table locks on a live table.

Defaults and type changes that rewrite the table, ``VACUUM FULL`` / ``CLUSTER``, ``LOCK
TABLE`` and ``REINDEX`` (SL207-SL211). Like every rule in :mod:`sluice.lint.rules.postgres`,
these ignore tables created earlier in the same revision.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.lint.model import Hit, Op, TypeInfo
from sluice.lint.registry import UPGRADE, RuleContext, rule
from sluice.lint.rules._util import (
    pg_version,
    sql_statements,
    steps,
)
from sluice.lint.rules.postgres import AUTOCOMMIT, PG, spaced

#: Functions whose value changes per row: a default using them rewrites the table.
_VOLATILE = re.compile(
    r"\b(random|gen_random_uuid|uuid_generate_v[14]\w*|uuid_generate_v1mc|clock_timestamp|"
    r"timeofday|nextval|txid_current|uuid7|gen_random_bytes)\s*\(",
    re.I,
)
_SERIAL = re.compile(r"^\s*(small|big)?serial\b", re.I)


@rule("SL207", "add-column-volatile-default", family="postgres-locking", severity="error",
      dialects=PG, kinds=("add_column", "execute"), phases=UPGRADE)
def add_column_volatile_default(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Adding a column whose default must be computed per row rewrites the whole table.

    Why it is dangerous: from PostgreSQL 11 a constant default (``0``, ``'x'``, even
    ``now()``) is stored once in the catalog and the ALTER is instant. A volatile default
    (``random()``, ``gen_random_uuid()``, ``clock_timestamp()``, a serial or identity
    column) has to be computed for every row, so PostgreSQL rewrites the table under an
    ACCESS EXCLUSIVE lock. Before PostgreSQL 11 (``lint.target_postgres_version``) every
    default does this.

    Safe alternative:
    1. Add the column without a default (or with a constant one).
    2. Set the default for new rows: ``ALTER TABLE t ALTER COLUMN c SET DEFAULT ...``
       (instant, existing rows untouched).
    3. Backfill existing rows in batches (``sluice.data.batched_update``).
    """
    if op.phase != "upgrade":
        return
    version = pg_version(ctx)
    if op.kind == "add_column" and not op.table_is_new:
        default = op.args.get("server_default")
        type_ = str(op.args.get("type_") or "")
        reason = _rewrite_reason(str(default) if default else None, type_, version,
                                 identity=bool(op.args.get("identity")))
        if reason:
            yield _volatile_hit(op.table or "TABLE", op.column or "COLUMN", reason,
                                str(default) if default else None)
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            if act.kind != "add_column":
                continue
            reason = _rewrite_reason(act.default, act.type_ or "", version,
                                     identity="GENERATED" in act.text.upper())
            if reason:
                yield _volatile_hit(stmt.table or "TABLE", act.column or "COLUMN", reason, act.default)


def _rewrite_reason(default: str | None, type_: str, version: int, *, identity: bool) -> str:
    if _SERIAL.match(type_):
        return f"a {type_.split('(')[0].upper()} column fills every row from a sequence"
    if identity:
        return "an identity column fills every row from a sequence"
    if not default or default.strip().upper() == "NULL":
        return ""
    if _VOLATILE.search(default):
        return f"the default {default} is volatile and computed for every row"
    if version < 11:
        return (f"before PostgreSQL 11 (target_postgres_version = {version}) any default, "
                f"even the constant {default}, is written into every row")
    return ""


def _volatile_hit(table: str, column: str, reason: str, default: str | None) -> Hit:
    return Hit(
        f"adds {table}.{column} with a default that rewrites the whole table under an ACCESS "
        f"EXCLUSIVE lock: {reason}",
        steps(
            f"Add {column} with no default: op.add_column('{table}', sa.Column('{column}', "
            "..., nullable=True)).",
            f"Set the default for new rows only: op.alter_column('{table}', '{column}', "
            f"server_default=sa.text({(default or '...')!r})).",
            f"Backfill existing rows of {table} in batches (sluice.data.batched_update).",
        ),
    )


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
    if old.name.upper() == new.name.upper() and old.family not in ("string", "numeric"):
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
                yield _rewrite_hit(table, column,
                                   "the old type is unknown in raw SQL", certain=False)


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


@rule("SL209", "vacuum-full-or-cluster", family="postgres-locking", severity="error",
      dialects=PG, kinds=("execute",), phases=UPGRADE)
def vacuum_full_or_cluster(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """``VACUUM FULL`` and ``CLUSTER`` rewrite the table under an exclusive lock.

    Why it is dangerous: both copy the whole table into a new file while holding an
    ACCESS EXCLUSIVE lock: no reads, no writes, for as long as the copy takes, and they
    need free disk space equal to the table's size.

    Safe alternative:
    1. Leave space reclaim to autovacuum, or use plain ``VACUUM`` (no exclusive lock).
    2. If the table really needs compacting, use ``pg_repack`` (online), outside the
       migration, in a quiet period.
    """
    if op.phase != "upgrade":
        return
    for stmt, is_new in sql_statements(op, ctx):
        if is_new:
            continue
        full = stmt.kind == "VACUUM" and re.search(r"\bFULL\b", stmt.norm)
        if full or stmt.kind == "CLUSTER":
            what = "VACUUM FULL" if full else "CLUSTER"
            yield Hit(
                f"{what}{spaced(stmt.table)} rewrites the table under an ACCESS EXCLUSIVE lock; "
                "every query on it waits for the whole copy",
                steps(
                    "Remove it from the migration; autovacuum or a plain VACUUM reclaims "
                    "space without blocking.",
                    "If the table must be compacted, run pg_repack outside the migration.",
                ),
            )


@rule("SL210", "lock-table", family="postgres-locking", severity="error", dialects=PG,
      kinds=("execute",), phases=UPGRADE)
def lock_table(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """An explicit ``LOCK TABLE`` in a migration blocks the application until commit.

    Why it is dangerous: the lock (ACCESS EXCLUSIVE unless another mode is named) is held
    until the migration's transaction commits, after every later statement in the
    revision, so everything else in the migration becomes downtime.

    Safe alternative:
    1. Remove the explicit lock: each DDL statement takes the lock it needs for as short a
       time as possible.
    2. If ordering against concurrent writes matters, lock the narrowest mode that works
       (e.g. ``SHARE ROW EXCLUSIVE``) right before the statement that needs it, and set a
       ``lock_timeout`` so it fails fast instead of queueing traffic.
    """
    if op.phase != "upgrade":
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "LOCK" or is_new:
            continue
        if re.match(r"LOCK TABLES\b", stmt.norm):
            continue  # MySQL syntax, not this dialect's LOCK TABLE
        mode = re.search(r"\bIN (.+?) MODE\b", stmt.norm)
        yield Hit(
            f"LOCK TABLE{spaced(stmt.table)} in {mode.group(1) if mode else 'ACCESS EXCLUSIVE'} "
            "mode holds the lock until the migration commits, blocking the application for "
            "every statement after it",
            steps(
                "Remove the explicit LOCK; DDL takes the lock it needs by itself.",
                "If you must lock, use the narrowest mode right before the statement that "
                "needs it, with lock_timeout set.",
            ),
        )


@rule("SL211", "reindex-non-concurrently", family="postgres-locking", severity="error",
      dialects=PG, kinds=("execute",), phases=UPGRADE)
def reindex_non_concurrently(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """``REINDEX`` without ``CONCURRENTLY`` blocks writes and queries using the index.

    Why it is dangerous: a plain REINDEX locks out writes to the table and takes an
    ACCESS EXCLUSIVE lock on the index, so queries that would use it wait for the whole
    rebuild.

    Safe alternative:
    1. On PostgreSQL 12 and later, ``REINDEX ... CONCURRENTLY`` inside
       ``op.get_context().autocommit_block()``.
    2. Before 12, create a new index concurrently, drop the old one concurrently, and
       rename the new one.
    """
    if op.phase != "upgrade":
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "REINDEX" or stmt.concurrently or is_new:
            continue
        if pg_version(ctx) >= 12:
            fix = steps("Write REINDEX ... CONCURRENTLY.", f"Run it inside `{AUTOCOMMIT}`.")
        else:
            fix = steps(
                "CREATE INDEX CONCURRENTLY a new copy of the index.",
                "DROP INDEX CONCURRENTLY the old one, then rename the new one.",
            )
        yield Hit(
            f"REINDEX{spaced(stmt.table)} without CONCURRENTLY blocks writes to the table and "
            "queries that use the index until the rebuild finishes",
            fix,
        )
