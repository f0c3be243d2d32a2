"""PostgreSQL locking: statements that block reads or writes on a live table.

Every rule here ignores tables created earlier in the same revision: nobody else can be
waiting on a table that did not exist before the migration started.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.lint.model import Hit, Op, TypeInfo
from sluice.lint.registry import UPGRADE, RuleContext, rule
from sluice.lint.rules._util import (
    constraint_label,
    dropped_tables,
    index_label,
    pg_version,
    sql_statements,
    steps,
)

PG = ("postgresql",)

_AUTOCOMMIT = "with op.get_context().autocommit_block():"


def _sp(name: str | None) -> str:
    """`` name`` for a message, or nothing when the SQL did not say."""
    return f" {name}" if name else ""


def _concurrently(op: Op) -> bool:
    return bool(op.args.get("postgresql_concurrently"))


@rule("SL201", "create-index-non-concurrently", family="postgres-locking", severity="error",
      dialects=PG, kinds=("create_index", "execute"), phases=UPGRADE)
def create_index_non_concurrently(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Creating an index without ``CONCURRENTLY`` blocks every write to the table.

    Why it is dangerous: a plain ``CREATE INDEX`` takes a SHARE lock on the table for the
    whole build: reads continue, but every INSERT, UPDATE and DELETE waits, for minutes on
    a large table. Requests pile up behind it and the application times out.

    Safe alternative:
    1. Build the index with ``postgresql_concurrently=True`` (``CREATE INDEX
       CONCURRENTLY``), which allows writes during the build.
    2. Run it inside ``with op.get_context().autocommit_block():`` because CONCURRENTLY
       cannot run inside a transaction.
    3. Put it in a revision of its own: if the build fails it leaves an INVALID index that
       you drop (``DROP INDEX CONCURRENTLY``) and then retry.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "create_index" and not op.table_is_new and not _concurrently(op):
        cols = op.args.get("columns")
        cols_txt = f"{list(cols)!r}" if isinstance(cols, (list, tuple)) else "[...]"
        label = index_label(op.name, op.target if op.table else None, cols)
        yield Hit(
            f"creates {label} without CONCURRENTLY; every write to the table waits until "
            "the index is built",
            steps(
                f"Pass postgresql_concurrently=True: op.create_index({op.name!r}, "
                f"'{op.table}', {cols_txt}, postgresql_concurrently=True).",
                f"Wrap it in `{_AUTOCOMMIT}` (CONCURRENTLY cannot run in a transaction).",
                "Keep it in a revision of its own; if it fails, drop the INVALID index "
                "concurrently and retry.",
            ),
        )
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind == "CREATE INDEX" and not stmt.concurrently and not is_new:
            yield Hit(
                f"creates {index_label(stmt.index_name, stmt.table, _index_columns(stmt.text))}"
                " with CREATE INDEX "
                "without CONCURRENTLY; every write to the table waits until the index is "
                "built",
                steps(
                    "Write CREATE INDEX CONCURRENTLY instead.",
                    f"Run it inside `{_AUTOCOMMIT}`.",
                    "Keep it in a revision of its own; if it fails, drop the INVALID index "
                    "concurrently and retry.",
                ),
            )


def _index_columns(sql: str) -> list[str]:
    """The column list of a raw ``CREATE INDEX ... ON t (a, lower(b))``, as written."""
    m = re.search(r"\bON\s+(?:ONLY\s+)?[\w.\"`]+\s*(?:USING\s+\w+\s*)?\((.*)\)", sql,
                  re.I | re.S)
    if not m:
        return []
    depth, cur, out = 0, "", []
    for ch in m.group(1):
        if ch == ")" and depth == 0:
            break
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [c for c in out if c]


@rule("SL202", "drop-index-non-concurrently", family="postgres-locking", severity="warning",
      dialects=PG, kinds=("drop_index", "execute"), phases=UPGRADE)
def drop_index_non_concurrently(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Dropping an index without ``CONCURRENTLY`` takes an ACCESS EXCLUSIVE lock.

    Why it is dangerous: the drop itself is quick, but it needs an ACCESS EXCLUSIVE lock
    on the table, so it waits behind every running query on the table, and every new
    query (reads included) queues behind it. One slow report is enough to stall the
    whole application.

    Safe alternative:
    1. Drop it with ``postgresql_concurrently=True`` (``DROP INDEX CONCURRENTLY``).
    2. Run it inside ``with op.get_context().autocommit_block():``.
    3. Set a ``lock_timeout`` for the migration so a lock wait fails fast instead of
       queueing traffic.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "drop_index" and not op.table_is_new and not _concurrently(op):
        if op.table and op.table.lower() in dropped_tables(op, ctx):
            return  # the table goes too, in the same revision
        table = f", '{op.table}'" if op.table else ""
        label = index_label(op.name, op.target if op.table else None)
        yield Hit(
            f"drops {label} without CONCURRENTLY; the ACCESS EXCLUSIVE lock waits behind "
            "running queries and blocks every new one",
            steps(
                f"op.drop_index({op.name!r}{table}, postgresql_concurrently=True).",
                f"Wrap it in `{_AUTOCOMMIT}`.",
                "Set lock_timeout for the migration so a lock wait fails fast.",
            ),
        )
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind == "DROP INDEX" and not stmt.concurrently and not is_new:
            if stmt.table and stmt.table.lower() in dropped_tables(op, ctx):
                continue
            yield Hit(
                f"DROP INDEX{_sp(stmt.index_name)} without CONCURRENTLY takes an ACCESS "
                "EXCLUSIVE lock that blocks every query on the table",
                steps(
                    "Write DROP INDEX CONCURRENTLY instead.",
                    f"Run it inside `{_AUTOCOMMIT}`.",
                ),
            )


def _not_valid_hits(op: Op, ctx: RuleContext, kind: str) -> Iterator[Hit]:
    label = "foreign key" if kind == "foreign_key" else "check constraint"
    op_kind = "create_foreign_key" if kind == "foreign_key" else "create_check_constraint"
    lock = (
        "SHARE ROW EXCLUSIVE lock on both tables (writes blocked)"
        if kind == "foreign_key"
        else "ACCESS EXCLUSIVE lock (reads and writes blocked)"
    )
    if op.kind == op_kind and not op.table_is_new and not op.args.get("postgresql_not_valid"):
        name = op.name or "<name>"
        yield Hit(
            f"adds {constraint_label(label, op.name, op.target if op.table else None)} "
            f"without NOT VALID; PostgreSQL checks every existing row while holding a {lock}",
            steps(
                f"Add it with postgresql_not_valid=True in {op_kind}(...): new rows are "
                "checked at once, existing rows are not scanned.",
                f"In a later revision (or after the deploy), validate it: "
                f"op.execute('ALTER TABLE {op.table} VALIDATE CONSTRAINT {name}'), which "
                "scans without blocking writes.",
            ),
        )
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            if act.kind == "add_constraint" and act.constraint == kind and not act.not_valid:
                name = act.name or "<name>"
                yield Hit(
                    f"adding {constraint_label(label, act.name, stmt.table)} without NOT VALID "
                    f"scans every row while holding a {lock}",
                    steps(
                        "Append NOT VALID to the ADD CONSTRAINT.",
                        f"Validate later: ALTER TABLE {stmt.table} VALIDATE CONSTRAINT {name}.",
                    ),
                )


@rule("SL203", "foreign-key-without-not-valid", family="postgres-locking", severity="error",
      dialects=PG, kinds=("create_foreign_key", "execute"), phases=UPGRADE)
def foreign_key_without_not_valid(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Adding a foreign key without ``NOT VALID`` blocks writes on both tables.

    Why it is dangerous: PostgreSQL validates every existing row while holding a SHARE ROW
    EXCLUSIVE lock on the table and on the table it references, so writes to both stop
    until the scan is done.

    Safe alternative:
    1. Add the constraint with ``postgresql_not_valid=True``: it is enforced for new rows
       immediately and the ALTER is instant.
    2. In a later revision, run ``ALTER TABLE ... VALIDATE CONSTRAINT name``, which scans
       with a lock that lets reads and writes continue.
    """
    if op.phase != "upgrade":
        return
    yield from _not_valid_hits(op, ctx, "foreign_key")


@rule("SL204", "check-constraint-without-not-valid", family="postgres-locking",
      severity="error", dialects=PG, kinds=("create_check_constraint", "execute"), phases=UPGRADE)
def check_without_not_valid(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Adding a check constraint without ``NOT VALID`` blocks the table while it scans.

    Why it is dangerous: PostgreSQL checks every existing row under an ACCESS EXCLUSIVE
    lock: no reads, no writes, for as long as the scan takes.

    Safe alternative:
    1. Add the constraint with ``postgresql_not_valid=True`` (instant; new rows checked).
    2. In a later revision, ``ALTER TABLE ... VALIDATE CONSTRAINT name``, which only
       takes a SHARE UPDATE EXCLUSIVE lock.
    """
    if op.phase != "upgrade":
        return
    yield from _not_valid_hits(op, ctx, "check")


@rule("SL205", "unique-constraint-without-index", family="postgres-locking",
      severity="error", dialects=PG,
      kinds=("create_unique_constraint", "create_primary_key", "execute"), phases=UPGRADE)
def unique_without_index(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Adding a unique constraint or primary key directly builds its index under a lock.

    Why it is dangerous: ``ADD CONSTRAINT ... UNIQUE`` (and ``PRIMARY KEY``) builds a new
    index while holding an ACCESS EXCLUSIVE lock: every read and write on the table waits
    for the whole build.

    Safe alternative:
    1. Build a unique index concurrently first: ``op.create_index(name, table, cols,
       unique=True, postgresql_concurrently=True)`` inside ``autocommit_block()``.
    2. Attach it: ``ALTER TABLE t ADD CONSTRAINT name UNIQUE USING INDEX name`` (or
       ``PRIMARY KEY USING INDEX``), which is instant.
    """
    if op.phase != "upgrade":
        return
    if op.kind in ("create_unique_constraint", "create_primary_key") and not op.table_is_new:
        what = "unique constraint" if op.kind == "create_unique_constraint" else "primary key"
        kw = "UNIQUE" if op.kind == "create_unique_constraint" else "PRIMARY KEY"
        name = op.name or "<name>"
        cols = op.args.get("columns")
        cols_txt = f"{list(cols)!r}" if isinstance(cols, (list, tuple)) else "[...]"
        yield Hit(
            f"adds {what} {op.name or '(unnamed)'} on {op.target} directly; its index is "
            "built under an ACCESS EXCLUSIVE lock that blocks every read and write",
            steps(
                f"Build the index first: op.create_index('{name}', '{op.table}', {cols_txt}, "
                f"unique=True, postgresql_concurrently=True) inside `{_AUTOCOMMIT}`.",
                f"Attach it: op.execute('ALTER TABLE {op.table} ADD CONSTRAINT {name} {kw} "
                f"USING INDEX {name}').",
            ),
        )
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            if act.kind == "add_constraint" and act.constraint in ("unique", "primary_key") \
                    and not act.using_index:
                name = act.name or "<name>"
                yield Hit(
                    f"ALTER TABLE {stmt.table} ADD {act.constraint.replace('_', ' ')} builds "
                    "its index under an ACCESS EXCLUSIVE lock",
                    steps(
                        f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON {stmt.table} (...) "
                        f"inside `{_AUTOCOMMIT}`.",
                        f"ALTER TABLE {stmt.table} ADD CONSTRAINT {name} UNIQUE USING INDEX "
                        f"{name}.",
                    ),
                )


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
    """
    if op.phase != "upgrade":
        return
    if op.kind == "alter_column" and op.args.get("nullable") is False and not op.table_is_new:
        if op.args.get("existing_nullable") is False:
            return
        yield _set_not_null_hit(op.table or "TABLE", op.column or "COLUMN", ctx)
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            if act.kind == "set_not_null":
                yield _set_not_null_hit(stmt.table or "TABLE", act.column or "COLUMN", ctx)


def _set_not_null_hit(table: str, column: str, ctx: RuleContext) -> Hit:
    ck = f"ck_{table}_{column}_not_null"
    fix = [
        f"op.execute('ALTER TABLE {table} ADD CONSTRAINT {ck} CHECK ({column} IS NOT NULL) "
        "NOT VALID')",
        f"In a separate step: op.execute('ALTER TABLE {table} VALIDATE CONSTRAINT {ck}') "
        "(no blocking lock).",
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
                f"{what}{_sp(stmt.table)} rewrites the table under an ACCESS EXCLUSIVE lock; "
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
            f"LOCK TABLE{_sp(stmt.table)} in {mode.group(1) if mode else 'ACCESS EXCLUSIVE'} "
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
            fix = steps("Write REINDEX ... CONCURRENTLY.", f"Run it inside `{_AUTOCOMMIT}`.")
        else:
            fix = steps(
                "CREATE INDEX CONCURRENTLY a new copy of the index.",
                "DROP INDEX CONCURRENTLY the old one, then rename the new one.",
            )
        yield Hit(
            f"REINDEX{_sp(stmt.table)} without CONCURRENTLY blocks writes to the table and "
            "queries that use the index until the rebuild finishes",
            fix,
        )
