"""PostgreSQL recipes: indexes built and dropped concurrently, constraints added without
the validating scan under a lock, NOT NULL through a validated check, columns whose default
would rewrite the table added empty and backfilled in batches.

Each recipe runs in ``autocommit_block``: every statement is its own transaction, so the
brief ACCESS EXCLUSIVE lock of a catalog-only statement (``ADD CONSTRAINT ... NOT VALID``,
``... USING INDEX``, ``SET NOT NULL`` after a validated check) ends with it, whatever the
revision runs next. Every step is safe to run again after a kill at any point: an INVALID index left by a
failed concurrent build is dropped before the build, ``IF [NOT] EXISTS`` and catalog checks
guard the rest, ``VALIDATE CONSTRAINT`` and ``SET NOT NULL`` are no-ops when done, and the
batched backfill resumes from its checkpoint.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import sqlalchemy as sa
from alembic.operations import ops

from sluice.core.sql import string_literal
from sluice.recipes.model import RecipeContext, recipe
from sluice.recipes.pg_sql import (
    _DIALECT,
    PG,
    _fits,
    guarded_add_constraint,
    index_guard,
    needs_primary_key,
    probe_sql,
    qualified,
    quote,
)
from sluice.recipes.spelling import final, is_final, spell
from sluice.recipes.steps import AutocommitBlock, Backfill, IndexBuild, SqlStep

#: Defaults computed per row: adding a column with one rewrites the table.
VOLATILE = re.compile(
    r"\b(random|gen_random_uuid|uuid_generate_v[14]\w*|uuid_generate_v1mc|clock_timestamp|"
    r"timeofday|nextval|txid_current|uuid7|gen_random_bytes)\s*\(", re.I)


def _block(ctx: RecipeContext, *inner: ops.MigrateOperation) -> AutocommitBlock:
    return AutocommitBlock(list(inner), ctx.lock_timeout)


def _plain_columns(columns: Any) -> list[str] | None:
    if not isinstance(columns, (list, tuple)) or not columns:
        return None
    if not all(isinstance(c, str) for c in columns):
        return None
    return [str(c) for c in columns]


# ------------------------------------------------------------------------------ indexes


@recipe("pg-create-index-concurrently", rules=("SL201",), dialect=PG,
        since={"postgresql": (11,)}, title="Build an index without blocking writes")
def create_index_concurrently(op: ops.MigrateOperation,
                              ctx: RecipeContext) -> list[ops.MigrateOperation] | None:
    """Naive: `op.create_index("ix_orders_user_id", "orders", ["user_id"])` takes a SHARE
    lock for the whole build: every write to the table waits.

    Safe sequence, outside the revision's transaction (`autocommit_block`):

    1. `SET lock_timeout`, so the build gives up instead of queueing behind a long query.
    2. Drop an INVALID index of the same name, left by an earlier build that failed or was
       killed (`IF NOT EXISTS` alone would keep it, and it is never used by queries). A
       valid index of that name must be the one this op creates (compared with the index
       built on an empty copy of the table: the table, uniqueness, method, columns or
       expressions and predicate): any other stops the revision with an error naming
       it, as the naive op stops on a name in use.
    3. `CREATE INDEX CONCURRENTLY IF NOT EXISTS`: writes continue during the build; a
       valid index from an earlier run is kept.

    PostgreSQL cannot build an index concurrently on a partitioned table: it refuses the
    statement and the revision stops before changing anything; build the index on each
    partition instead.
    """
    if not isinstance(op, ops.CreateIndexOp) or op.kw.get("postgresql_concurrently"):
        return None
    kw = {**op.kw, "postgresql_concurrently": True}
    build = ops.CreateIndexOp(op.index_name, op.table_name, op.columns, schema=op.schema,
                              unique=op.unique, if_not_exists=True, **kw)
    columns = _plain_columns([c.name if isinstance(c, sa.Column) else c for c in op.columns])
    if op.index_name is not None and (is_final(op.index_name) or columns is None):
        # an op.f() name, or expressions a convention's name cannot be asked for with
        name = final(_DIALECT, str(op.index_name), op.schema)
    else:
        name = spell(_DIALECT, "index", op.index_name, str(op.table_name), columns or (),
                     schema=op.schema)
    probe = probe_sql(op)
    if probe is None:
        return None
    return [_block(ctx, *name.setup, index_guard(name, str(op.table_name), op.schema, probe),
                   build)]


@recipe("pg-drop-index-concurrently", rules=("SL202",), dialect=PG,
        since={"postgresql": (11,)}, title="Drop an index without an exclusive lock")
def drop_index_concurrently(op: ops.MigrateOperation,
                            ctx: RecipeContext) -> list[ops.MigrateOperation] | None:
    """Naive: `op.drop_index("ix_orders_user_id", table_name="orders")` needs an ACCESS
    EXCLUSIVE lock: it waits behind every running query and every new query waits behind it.

    Safe sequence, in `autocommit_block`: `SET lock_timeout`, then `DROP INDEX CONCURRENTLY
    IF EXISTS` (a rerun after the drop finds nothing to do).
    """
    if not isinstance(op, ops.DropIndexOp) or op.kw.get("postgresql_concurrently"):
        return None
    kw = {**op.kw, "postgresql_concurrently": True}
    drop = ops.DropIndexOp(op.index_name, table_name=op.table_name, schema=op.schema,
                           if_exists=True, _reverse=op._reverse, **kw)
    return [_block(ctx, drop)]


# -------------------------------------------------------------------------- constraints


def _using_index(op: ops.AddConstraintOp, ctx: RecipeContext, kind: str, sql_kind: str,
                 default: str) -> list[ops.MigrateOperation] | None:
    columns = _plain_columns(op.columns)  # type: ignore[attr-defined]
    extra = {k: v for k, v in op.kw.items() if v is not None}  # type: ignore[attr-defined]
    tail = ""
    if extra.pop("deferrable", None):
        tail = " DEFERRABLE"
    initially = extra.pop("initially", None)
    if initially:
        tail += f" INITIALLY {str(initially).upper()}"
    given = op.constraint_name or None  # type: ignore[attr-defined]
    if columns is None or extra or not _fits(str(given or default)):
        return None
    table, schema = str(op.table_name), op.schema  # type: ignore[attr-defined]
    name = spell(_DIALECT, kind, given, table, columns, schema=schema,
                 default=None if given else default)
    build: ops.MigrateOperation
    if name.variable is None:
        build = ops.CreateIndexOp(given, table, columns, schema=schema, unique=True,
                                  if_not_exists=True, postgresql_concurrently=True)
    else:  # the constraint's name, kept from the index convention by op.f()
        build = IndexBuild(name.variable, table, columns, schema)
    attach = (f"{name.text(f'ALTER TABLE {qualified(table, schema)}')} ADD CONSTRAINT "
              f"{name.quoted} {sql_kind} USING INDEX {name.quoted}{name.text(tail)}")
    probe = probe_sql(ops.CreateIndexOp(None, table, columns, unique=True))
    if probe is None:
        return None
    return [_block(ctx, *name.setup, index_guard(name, table, schema, probe), build,
                   guarded_add_constraint(name, table, schema, attach))]


@recipe("pg-unique-constraint-using-index", rules=("SL205",), dialect=PG,
        since={"postgresql": (11,)}, title="Add a unique constraint on an index built concurrently")
def unique_using_index(op: ops.MigrateOperation,
                       ctx: RecipeContext) -> list[ops.MigrateOperation] | None:
    """Naive: `op.create_unique_constraint("uq_users_email", "users", ["email"])` builds the
    index under an ACCESS EXCLUSIVE lock: no reads, no writes for the whole build.

    Safe sequence:

    1. In `autocommit_block` (each statement commits at once): `SET lock_timeout`, drop
       an INVALID leftover of the same name (and stop on a valid index of that name that
       is not this unique index), `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS` with
       the constraint's name.
    2. `ALTER TABLE ... ADD CONSTRAINT name UNIQUE USING INDEX name`: instant, its ACCESS
       EXCLUSIVE lock released at once; skipped when the constraint exists.

    The constraint (and its index) gets the name `op.create_unique_constraint` would give
    it under env.py's naming convention, asked when the revision runs; an unnamed one
    without a convention gets PostgreSQL's own name (`users_email_key`).
    """
    if not isinstance(op, ops.CreateUniqueConstraintOp):
        return None
    cols = _plain_columns(op.columns)
    if cols is None:
        return None
    return _using_index(op, ctx, "unique", "UNIQUE", f"{op.table_name}_{'_'.join(cols)}_key")


@recipe("pg-primary-key-using-index", rules=("SL205",), dialect=PG,
        since={"postgresql": (11,)}, title="Add a primary key on an index built concurrently")
def primary_key_using_index(op: ops.MigrateOperation,
                            ctx: RecipeContext) -> list[ops.MigrateOperation] | None:
    """Naive: `op.create_primary_key("pk_events", "events", ["id"])` builds the index under
    an ACCESS EXCLUSIVE lock.

    Safe sequence: as for a unique constraint, with `PRIMARY KEY USING INDEX`. The key's
    columns should already be NOT NULL (use the SET NOT NULL recipe first): for a nullable
    column PostgreSQL sets NOT NULL as part of the ALTER, scanning the table under its lock.
    An unnamed key gets the name a naming convention gives it (`pk_%(table_name)s`), else
    PostgreSQL's own name (`events_pkey`).
    """
    if not isinstance(op, ops.CreatePrimaryKeyOp):
        return None
    return _using_index(op, ctx, "primary", "PRIMARY KEY", f"{op.table_name}_pkey")


def _not_valid(op: ops.AddConstraintOp, ctx: RecipeContext, kind: str,
               default: str | None) -> list[ops.MigrateOperation] | None:
    if op.kw.get("postgresql_not_valid"):  # type: ignore[attr-defined]
        return None
    given = op.constraint_name or None  # type: ignore[attr-defined]
    if not (given or default) or not _fits(str(given or default)):
        return None
    table = str(getattr(op, "table_name", None) or getattr(op, "source_table", ""))
    kw: dict[str, Any] = op.kw  # type: ignore[attr-defined]
    schema = getattr(op, "schema", None) or kw.get("source_schema")
    kw["postgresql_not_valid"] = True
    try:
        constraint = op.to_constraint()
    finally:
        del kw["postgresql_not_valid"]
    constraint.name = None  # the name goes in below, as spelt
    ddl = str(sa.schema.AddConstraint(constraint).compile(  # as compiled: literals kept
        dialect=_DIALECT, compile_kwargs={"literal_binds": True})).strip()
    head = f"ALTER TABLE {qualified(table, schema)} ADD "
    if not ddl.startswith(head):
        return None
    if isinstance(op, ops.CreateForeignKeyOp):
        name = spell(_DIALECT, kind, given, table, _plain_columns(op.local_cols) or (),
                     schema=schema, referent=str(op.referent_table),
                     referent_columns=_plain_columns(op.remote_cols) or (),
                     referent_schema=kw.get("referent_schema"),
                     default=None if given else default)
    else:
        name = spell(_DIALECT, kind, given, table, schema=schema)  # a check is named
    add = f"{name.text(head)}CONSTRAINT {name.quoted} {name.text(ddl[len(head):])}"
    validate = name.step(f"{name.text(f'ALTER TABLE {qualified(table, schema)}')} "
                         f"VALIDATE CONSTRAINT {name.quoted}")
    return [_block(ctx, *name.setup, guarded_add_constraint(name, table, schema, add),
                   validate)]


@recipe("pg-foreign-key-not-valid", rules=("SL203",), dialect=PG,
        since={"postgresql": (11,)}, title="Add a foreign key NOT VALID, validate it apart")
def foreign_key_not_valid(op: ops.MigrateOperation,
                          ctx: RecipeContext) -> list[ops.MigrateOperation] | None:
    """Naive: `op.create_foreign_key("fk_orders_user_id", "orders", "users", ["user_id"],
    ["id"])` checks every row while holding a SHARE ROW EXCLUSIVE lock on both tables.

    Safe sequence, in `autocommit_block` (each statement its own transaction, after `SET
    lock_timeout`):

    1. `ADD CONSTRAINT ... NOT VALID`: instant, its lock released at once; new rows are
       checked from now on; skipped when the constraint exists.
    2. `VALIDATE CONSTRAINT`, which scans under a lock that lets reads and writes
       continue.

    The constraint gets the name plain Alembic gives it under env.py's naming convention,
    asked when the revision runs.
    """
    if not isinstance(op, ops.CreateForeignKeyOp):
        return None
    cols = _plain_columns(op.local_cols)
    default = f"{op.source_table}_{'_'.join(cols)}_fkey" if cols else None
    return _not_valid(op, ctx, "foreignkey", default)


@recipe("pg-check-not-valid", rules=("SL204",), dialect=PG,
        since={"postgresql": (11,)}, title="Add a check constraint NOT VALID, validate it apart")
def check_not_valid(op: ops.MigrateOperation,
                    ctx: RecipeContext) -> list[ops.MigrateOperation] | None:
    """Naive: `op.create_check_constraint("ck_orders_total", "orders", "total >= 0")` scans
    every row under an ACCESS EXCLUSIVE lock.

    Safe sequence, in `autocommit_block` (each statement its own transaction, after `SET
    lock_timeout`): `ADD CONSTRAINT ... NOT VALID` (instant, guarded), then `VALIDATE
    CONSTRAINT`, which only takes a SHARE UPDATE EXCLUSIVE lock.

    The constraint gets the name plain Alembic gives it under env.py's naming convention
    (`ck_orders_positive` for `"positive"` under `ck_%(table_name)s_%(constraint_name)s`),
    asked when the revision runs, so that the revision's `drop_constraint` finds it.
    """
    if not isinstance(op, ops.CreateCheckConstraintOp):
        return None
    return _not_valid(op, ctx, "check", None)


# --------------------------------------------------------------------------- NOT NULL


def not_null_steps(table: str, column: str, schema: str | None, ctx: RecipeContext,
                   alter: ops.AlterColumnOp) -> list[ops.MigrateOperation] | None:
    """CHECK (column IS NOT NULL) NOT VALID, VALIDATE, ``alter`` (SET NOT NULL, no scan
    on PostgreSQL 12+), drop the check."""
    check = f"ck_{table}_{column}_not_null"
    if not _fits(check):
        return None
    ref = qualified(table, schema)
    add = (f"ALTER TABLE {ref} ADD CONSTRAINT {quote(check)} CHECK ({quote(column)} "
           "IS NOT NULL) NOT VALID")
    return [_block(
        ctx,
        guarded_add_constraint(final(_DIALECT, check), table, schema, add),
        SqlStep(f"ALTER TABLE {ref} VALIDATE CONSTRAINT {quote(check)}"),
        alter,  # lint knows the valid check: no SL206, SL102 or SL004 to suppress
        SqlStep(f"ALTER TABLE {ref} DROP CONSTRAINT IF EXISTS {quote(check)}"),
    )]


@recipe("pg-set-not-null-via-check", rules=("SL206",), dialect=PG,
        since={"postgresql": (12,)}, title="SET NOT NULL after a validated check")
def set_not_null_via_check(op: ops.MigrateOperation,
                           ctx: RecipeContext) -> list[ops.MigrateOperation] | None:
    """Naive: `op.alter_column("users", "email", existing_type=sa.String(), nullable=False)`
    scans the whole table for NULLs under an ACCESS EXCLUSIVE lock.

    Safe sequence (PostgreSQL 12 and later), in `autocommit_block` (each statement its own
    transaction, its lock released at once, after `SET lock_timeout`):

    1. `ADD CONSTRAINT ck_<table>_<column>_not_null CHECK (column IS NOT NULL) NOT VALID`
       (instant, guarded).
    2. `VALIDATE CONSTRAINT` (scans without blocking writes).
    3. The `alter_column(..., nullable=False)` as written: PostgreSQL finds the valid
       check and skips the scan (and so does `sluice lint`: SL206 does not report a SET
       NOT NULL after such a check).
    4. Drop the check, now redundant.
    """
    if not isinstance(op, ops.AlterColumnOp) or op.modify_nullable is not False:
        return None
    if op.existing_nullable is False or op.modify_type is not None \
            or op.modify_server_default is not False or op.modify_name is not None \
            or op.modify_comment is not False or op.kw:
        return None
    if ctx.target_postgres_version < 12:
        return None
    return not_null_steps(str(op.table_name), str(op.column_name), op.schema, ctx,
                          renderable(op))


def renderable(op: ops.AlterColumnOp) -> ops.AlterColumnOp:
    """``op``, its ``existing_server_default`` a SQL expression (``sa.text("now()")``,
    as autogenerate writes it) wrapped as a ``DefaultClause``: Alembic's renderer takes
    its truth value, which an expression refuses; the code written is the same."""
    existing = op.existing_server_default
    if not isinstance(existing, sa.sql.ClauseElement):
        return op
    out = copy.copy(op)
    out.existing_server_default = sa.DefaultClause(existing)
    return out


# ------------------------------------------------------------------------- add column


def _default_sql(default: Any) -> str | None:
    if default is None:
        return None
    arg = getattr(default, "arg", default)
    if isinstance(arg, str):
        return string_literal(arg)
    if isinstance(arg, sa.sql.elements.TextClause):
        return str(arg.text)
    if isinstance(arg, sa.sql.ClauseElement):
        return str(arg.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
    return None


@recipe("pg-add-column-backfill", rules=("SL207",), dialect=PG,
        since={"postgresql": (12,)}, title="Add a column empty, backfill it in batches")
def add_column_backfill(op: ops.MigrateOperation,
                        ctx: RecipeContext) -> list[ops.MigrateOperation] | None:
    """Naive: `op.add_column("users", sa.Column("token", postgresql.UUID(),
    server_default=sa.text("gen_random_uuid()"), nullable=False))` computes the default for
    every row: PostgreSQL rewrites the table under an ACCESS EXCLUSIVE lock (before
    PostgreSQL 11, every default does).

    Safe sequence:

    1. In `autocommit_block`, each statement committing at once: `SET lock_timeout`; add
       the column nullable, without default, `IF NOT EXISTS`; set the default for new rows
       (`alter_column(server_default=...)`, instant). Each holds its ACCESS EXCLUSIVE
       lock for a moment, not until the backfill has started.
    2. Backfill the existing rows in batches with `sluice.data.batched_update` (one short
       transaction per batch, resumable from its checkpoint), setting each to the
       column's `DEFAULT`: the default of step 1, computed per row as the naive op
       computes it (`sluice.data` refuses SQL text with a literal in it, such as
       `nextval('seq')`; `DEFAULT` has none, whatever the default's text).
    3. When the column is NOT NULL: the SET NOT NULL recipe (check NOT VALID, VALIDATE,
       SET NOT NULL, drop the check).

    The backfill walks the primary key: on a table without one, step 1 stops before
    adding anything (add such a column by hand).

    A column NOT NULL without any default has no mechanical recipe: nothing says what the
    existing rows should hold (SL106 still refuses it). Serial and identity columns have
    none either.
    """
    if not isinstance(op, ops.AddColumnOp):
        return None
    col: sa.Column[Any] = op.column
    default = _default_sql(col.server_default)
    if default is None or col.identity is not None or col.computed is not None \
            or col.primary_key or op.kw or col.foreign_keys or col.constraints \
            or col.unique or col.index:
        return None
    if not VOLATILE.search(default) and ctx.target_postgres_version >= 11:
        return None
    if not col.nullable and ctx.target_postgres_version < 12:
        return None
    table, schema, name = str(op.table_name), op.schema, str(col.name)
    empty = col._copy()
    empty.server_default = None
    empty.nullable = True
    # committed before the backfill starts: the backfill's own set-up (reflection,
    # settings) would otherwise run while the ADD COLUMN's ACCESS EXCLUSIVE lock is held
    out: list[ops.MigrateOperation] = [
        _block(ctx, needs_primary_key(table, schema, "pg-add-column-backfill",
                                      "add the column by hand"),
               ops.AddColumnOp(table, empty, schema=schema, if_not_exists=True),
               ops.AlterColumnOp(table, name, schema=schema, existing_type=col.type,
                                 existing_nullable=True,
                                 modify_server_default=col.server_default)),
        Backfill(table, name, "DEFAULT", schema),  # the default set above, per row
    ]
    if not col.nullable:
        alter = ops.AlterColumnOp(table, name, schema=schema, existing_type=col.type,
                                  existing_nullable=True,
                                  existing_server_default=col.server_default,
                                  modify_nullable=False)
        steps = not_null_steps(table, name, schema, ctx, alter)
        if steps is None:
            return None
        out += steps
    return out
