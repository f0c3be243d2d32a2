"""PostgreSQL locking: statements that block reads or writes on a live table.

Indexes and constraints (SL201-SL206) are here; table rewrites and whole-table locks
(SL207-SL211) are in :mod:`sluice.lint.rules.postgres_rewrites`.

Every rule here ignores tables created earlier in the same revision: nobody else can be
waiting on a table that did not exist before the migration started.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.lint.model import Hit, Op
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

AUTOCOMMIT = "with op.get_context().autocommit_block():"


def spaced(name: str | None) -> str:
    """`` name`` for a message, or nothing when the SQL did not say."""
    return f" {name}" if name else ""


def is_concurrent(op: Op) -> bool:
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
    if op.kind == "create_index" and not op.table_is_new and not is_concurrent(op):
        cols = op.args.get("columns")
        cols_txt = f"{list(cols)!r}" if isinstance(cols, (list, tuple)) else "[...]"
        label = index_label(op.name, op.target if op.table else None, cols)
        yield Hit(
            f"creates {label} without CONCURRENTLY; every write to the table waits until "
            "the index is built",
            steps(
                f"Pass postgresql_concurrently=True: op.create_index({op.name!r}, "
                f"'{op.table}', {cols_txt}, postgresql_concurrently=True).",
                f"Wrap it in `{AUTOCOMMIT}` (CONCURRENTLY cannot run in a transaction).",
                "Keep it in a revision of its own; if it fails, drop the INVALID index "
                "concurrently and retry.",
            ),
        )
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind == "CREATE INDEX" and not stmt.concurrently and not is_new \
                and not re.search(r"\bON\s+ONLY\b", stmt.norm):  # ONLY: invalid, nothing built
            yield Hit(
                f"creates {index_label(stmt.index_name, stmt.table, _index_columns(stmt.text))}"
                " with CREATE INDEX "
                "without CONCURRENTLY; every write to the table waits until the index is "
                "built",
                steps(
                    "Write CREATE INDEX CONCURRENTLY instead.",
                    f"Run it inside `{AUTOCOMMIT}`.",
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
    if op.kind == "drop_index" and not op.table_is_new and not is_concurrent(op):
        if op.table and op.table.lower() in dropped_tables(op, ctx):
            return  # the table goes too, in the same revision
        table = f", '{op.table}'" if op.table else ""
        label = index_label(op.name, op.target if op.table else None)
        yield Hit(
            f"drops {label} without CONCURRENTLY; the ACCESS EXCLUSIVE lock waits behind "
            "running queries and blocks every new one",
            steps(
                f"op.drop_index({op.name!r}{table}, postgresql_concurrently=True).",
                f"Wrap it in `{AUTOCOMMIT}`.",
                "Set lock_timeout for the migration so a lock wait fails fast.",
            ),
        )
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind == "DROP INDEX" and not stmt.concurrently and not is_new:
            if stmt.table and stmt.table.lower() in dropped_tables(op, ctx):
                continue
            yield Hit(
                f"DROP INDEX{spaced(stmt.index_name)} without CONCURRENTLY takes an ACCESS "
                "EXCLUSIVE lock that blocks every query on the table",
                steps(
                    "Write DROP INDEX CONCURRENTLY instead.",
                    f"Run it inside `{AUTOCOMMIT}`.",
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
                f"unique=True, postgresql_concurrently=True) inside `{AUTOCOMMIT}`.",
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
                        f"inside `{AUTOCOMMIT}`.",
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
