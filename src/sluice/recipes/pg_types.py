"""PostgreSQL: a column type change that rewrites the table, as expand and contract.

The column is rebuilt beside the old one instead of in place: ``<column>__new`` of the new
type, kept equal to ``<column>`` by a trigger (an assignment, converting as ``ALTER ...
TYPE`` does), backfilled in batches, then swapped in by one short transaction. Every step checks the catalog first, so a rerun
after a kill at any point carries on where the last run stopped, and a rerun after the
swap finds the column already of the new type and does nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.operations import ops

from sluice.core.alembic_ops import type_text
from sluice.core.ops import TypeInfo
from sluice.core.sql import string_literal
from sluice.recipes.model import RecipeContext, recipe
from sluice.recipes.pg_sql import _DIALECT, PG, _fits, qualified, quote
from sluice.recipes.steps import AutocommitBlock, Backfill, SqlStep
from sluice.rules.lint._compat import type_change_loses_data
from sluice.rules.lint.sl208_type_change_rewrites_table import (
    _pg_rewrites as pg_rewrites,  # noqa: PLC2701 - the rule's own test, shared
)

#: Suffix of the column the new type is built in.
NEW_SUFFIX = "__new"
#: Suffix of the trigger (and its function) that keeps the new column in step.
SYNC_SUFFIX = "__sync"


class _Names:
    """The quoted names and catalog references one type change uses."""

    def __init__(self, table: str, column: str, schema: str | None, type_sql: str) -> None:
        self.table = qualified(table, schema)
        self.table_ref = string_literal(self.table)
        self.column, self.column_lit = quote(column), string_literal(column)
        self.new = quote(column + NEW_SUFFIX)
        self.new_lit = string_literal(column + NEW_SUFFIX)
        self.trigger = quote(column + SYNC_SUFFIX)
        self.trigger_lit = string_literal(column + SYNC_SUFFIX)
        self.function = qualified(f"{table}_{column}{SYNC_SUFFIX}", schema)
        self.check = f"ck_{table}_{column}_not_null"
        self.check_lit = string_literal(self.check)
        self.type_sql = type_sql

    def has_column(self, lit: str) -> str:
        return (f"EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
                f"to_regclass({self.table_ref}) AND attname = {lit} AND NOT attisdropped)")

    def type_of(self, lit: str, into: str) -> list[str]:
        """PL/pgSQL: the column's type as ``format_type`` spells it into ``into`` (NULL
        when there is no such column)."""
        return [f"SELECT format_type(atttypid, atttypmod) INTO {into} FROM pg_attribute",
                f"WHERE attrelid = to_regclass({self.table_ref}) AND attname = {lit}",
                "AND NOT attisdropped;"]

    def dependents(self, when: str) -> list[str]:
        """PL/pgSQL: fail, naming them, when objects other than the column's default depend
        on the column (an index, a constraint, a view, an owned sequence): dropping the
        column would drop them, and the swap cannot rebuild them. Each named once (a
        check constraint depends on its column twice, automatically and normally)."""
        return [
            "SELECT string_agg(DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid),",
            "', ')",
            "INTO deps FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid",
            "AND a.attnum = d.refobjsubid WHERE d.refclassid = 'pg_class'::regclass",
            f"AND d.refobjid = to_regclass({self.table_ref}) AND a.attname = {self.column_lit}",
            "AND d.classid <> 'pg_attrdef'::regclass AND d.deptype <> 'i';",
            "IF deps IS NOT NULL THEN RAISE EXCEPTION 'recipe pg-alter-type-expand-contract: "
            f"% depend on column %; {when}', deps, {self.column_lit}; END IF;",
        ]


def _want(n: _Names) -> list[str]:
    """PL/pgSQL: the new type as ``format_type`` spells it, into ``want`` (read from a
    column of a temporary table, so that lengths and precisions are spelt as the catalog
    spells them)."""
    probe = "pg_temp.sluice_type_probe"
    return [
        f"DROP TABLE IF EXISTS {probe};",
        f"CREATE TEMP TABLE sluice_type_probe (c {n.type_sql});",
        "SELECT format_type(atttypid, atttypmod) INTO want FROM pg_attribute",
        f"WHERE attrelid = '{probe}'::regclass AND attname = 'c';",
        f"DROP TABLE {probe};",
    ]


def _abandon(n: _Names) -> SqlStep:
    """Drop a new column of another type, with its trigger: the expand step of the
    opposite change, whose swap never ran (a downgrade of an expand revision). That
    undoes the opposite change; a rerun finds nothing to drop."""
    return SqlStep(
        "DO $$ DECLARE want text; pending text; BEGIN",
        *_want(n),
        *n.type_of(n.new_lit, "pending"),
        "IF pending IS DISTINCT FROM want AND pending IS NOT NULL THEN",
        f"DROP TRIGGER IF EXISTS {n.trigger} ON {n.table};",
        f"DROP FUNCTION IF EXISTS {n.function}();",
        f"ALTER TABLE {n.table} DROP COLUMN {n.new};",
        "END IF; END $$",
    )


def _expand(n: _Names) -> SqlStep:
    """Add the new column with its sync trigger in one transaction (no row written in
    between escapes the trigger). Skipped when the new column exists (a rerun) or the
    column already has the new type (the swap is done)."""
    return SqlStep(
        "DO $$ DECLARE want text; have text; deps text; BEGIN",
        *_want(n),
        *n.type_of(n.column_lit, "have"),
        f"IF NOT {n.has_column(n.new_lit)} AND have IS DISTINCT FROM want THEN",
        *n.dependents("drop them first, or change the type by hand"),
        "IF NOT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = "
        f"to_regclass({n.table_ref}) AND indisprimary) THEN",
        "RAISE EXCEPTION 'recipe pg-alter-type-expand-contract: table % has no primary key "
        f"for the batched backfill to walk; change the type by hand', {n.table_ref}; END IF;",
        f"ALTER TABLE {n.table} ADD COLUMN {n.new} {n.type_sql};",
        f"CREATE OR REPLACE FUNCTION {n.function}() RETURNS trigger LANGUAGE plpgsql AS",
        f"$f$ BEGIN NEW.{n.new} := NEW.{n.column}; RETURN NEW; END $f$;",
        f"CREATE TRIGGER {n.trigger} BEFORE INSERT OR UPDATE ON {n.table}",
        f"FOR EACH ROW EXECUTE FUNCTION {n.function}();",
        "END IF; END $$",
    )


def _not_null_check(n: _Names) -> list[SqlStep]:
    """When the old column is NOT NULL: ``CHECK (<new> IS NOT NULL) NOT VALID``, then
    VALIDATE (a scan that lets writes continue), so that the swap's SET NOT NULL skips
    its scan."""
    return [
        SqlStep(
            "DO $$ BEGIN",
            f"IF {n.has_column(n.new_lit)} AND (SELECT attnotnull FROM pg_attribute",
            f"WHERE attrelid = to_regclass({n.table_ref}) AND attname = {n.column_lit})",
            f"AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = {n.check_lit}",
            f"AND conrelid = to_regclass({n.table_ref})) THEN",
            f"ALTER TABLE {n.table} ADD CONSTRAINT {quote(n.check)} CHECK ({n.new} IS NOT NULL)",
            "NOT VALID;",
            "END IF; END $$",
        ),
        SqlStep(
            "DO $$ BEGIN",
            f"IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = {n.check_lit}",
            f"AND conrelid = to_regclass({n.table_ref}) AND NOT convalidated) THEN",
            f"ALTER TABLE {n.table} VALIDATE CONSTRAINT {quote(n.check)};",
            "END IF; END $$",
        ),
    ]


def _swap(n: _Names) -> SqlStep:
    """One transaction: re-check the dependents, drop the trigger and the old column,
    rename the new one, give it the old column's default, comment and NOT NULL (then
    drop the check that let SET NOT NULL skip its scan)."""
    return SqlStep(
        "DO $$ DECLARE deps text; old_default text; old_comment text; old_not_null boolean; BEGIN",
        f"IF {n.has_column(n.new_lit)} THEN",
        *n.dependents("drop them first, or change the type by hand"),
        "SELECT pg_get_expr(d.adbin, d.adrelid), col_description(a.attrelid, a.attnum),",
        "a.attnotnull INTO old_default, old_comment, old_not_null FROM pg_attribute a LEFT JOIN pg_attrdef d",
        "ON d.adrelid = a.attrelid AND d.adnum = a.attnum",
        f"WHERE a.attrelid = to_regclass({n.table_ref}) AND a.attname = {n.column_lit}",
        "AND NOT a.attisdropped;",
        f"DROP TRIGGER IF EXISTS {n.trigger} ON {n.table};",
        f"DROP FUNCTION IF EXISTS {n.function}();",
        f"ALTER TABLE {n.table} DROP COLUMN {n.column};",
        f"ALTER TABLE {n.table} RENAME COLUMN {n.new} TO {n.column};",
        "IF old_default IS NOT NULL THEN EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s',",
        f"{n.table_ref}, {n.column_lit}, old_default); END IF;",
        "IF old_comment IS NOT NULL THEN EXECUTE format('COMMENT ON COLUMN %s.%I IS %L',",
        f"{n.table_ref}, {n.column_lit}, old_comment); END IF;",
        f"IF old_not_null THEN ALTER TABLE {n.table} ALTER COLUMN {n.column} SET NOT NULL;",
        f"ALTER TABLE {n.table} DROP CONSTRAINT IF EXISTS {quote(n.check)}; END IF;",
        "END IF; END $$",
    )


#: The backfill's condition: true while the sync trigger exists (false after the swap,
#: when a rerun walks the keys and writes nothing).
STILL_SYNCING = ("EXISTS (SELECT FROM pg_trigger WHERE tgname = :trigger "
                 "AND tgrelid = to_regclass(:table))")


@recipe("pg-alter-type-expand-contract", rules=("SL208",), dialect=PG,
        since={"postgresql": (12,)}, title="Change a column's type beside it, swap it in",
        undo_whole=True, rebuilds_column=True)
def alter_type_expand_contract(op: ops.MigrateOperation,
                               ctx: RecipeContext) -> list[ops.MigrateOperation] | None:
    """Naive: `op.alter_column("events", "hits", type_=sa.BigInteger(),
    existing_type=sa.Integer(), existing_nullable=False)` rewrites the table and rebuilds
    its indexes under an ACCESS EXCLUSIVE lock: no reads, no writes, for minutes on a big
    table. (A key column, which an index or a foreign key depends on, is not one it can
    change: see below.)

    Safe sequence (PostgreSQL 12 and later), every statement its own transaction in
    `autocommit_block` after `SET lock_timeout`:

    1. Expand, one DO block: add `<column>__new` of the new type (nullable, no default)
       and a `BEFORE INSERT OR UPDATE` trigger `<column>__sync` that assigns it
       `<column>`. Skipped when `<column>__new` exists (a rerun) or
       the column already has the new type (the swap is done). A DO block before it
       drops a `<column>__new` of another type with its trigger: the expand step of the
       opposite change, left by the downgrade of an expand revision whose contract
       revision never ran.
    2. Backfill in batches with `sluice.data.batched_update`: `SET <column> = <column>`,
       so the trigger fills the new column (one short transaction per batch, resumable),
       while the trigger exists.
    3. When the column is NOT NULL: `CHECK (<column>__new IS NOT NULL) NOT VALID`, then
       `VALIDATE CONSTRAINT` (scans without blocking writes).
    4. Contract, one DO block, one short transaction: drop the trigger and its function,
       drop the old column, rename `<column>__new` to `<column>`, give it the old
       column's default and comment, and, when the old column was NOT NULL, SET NOT NULL
       (no scan: the check is valid) and drop the check.

    `safe_by_default` puts steps 1-2 in the expand revision and 3-4 in a contract
    revision for the next deploy; `sluice fix` writes them in one revision.

    Where it applies: an `alter_column` that changes only the type, with `existing_type`
    given, no `postgresql_using`, and a change SL208 says rewrites the table. Not, in an
    upgrade, to a change SL101 reports as lossy (a shorter VARCHAR, a smaller integer, a
    lower precision, another type family): the expand and contract cannot make it safe
    (values that do not fit still fail), so SL101 and SL208 keep refusing it. In a
    downgrade, which lint does not check, it does (the undo of a widening). Not to a
    column that an index or a constraint (a primary key, a unique, foreign key or check
    constraint) made earlier in the same revision depends on, as the revision's own
    calls show it (the column named in its columns, its expression or its condition,
    or in the SQL of an `op.execute`, a recipe's step included, so that a second `sluice
    fix` leaves what the first left; in a downgrade, also what the upgrade made, which
    still stands when the downgrade starts): the expand and contract cannot keep them,
    the change is left as written and SL208 keeps reporting it.

    What the recipe cannot see: the database, and earlier revisions -- an index created
    three revisions back on the column (the usual `Integer` to `BigInteger` change of a
    key or a foreign key column) is not in this revision's calls. So both DO blocks check
    at run time: when anything other than its default depends on the column (an index, a
    primary key, a unique, foreign key or check constraint, a view, an owned sequence),
    they stop with an error naming each of those objects once (dropping the column would
    drop them), before the backfill in step 1 and again before the swap. Change such a
    column by hand (or drop what depends on it first, and make it again after). The
    backfill walks the primary key: on a table without one, step 1 stops before adding
    anything.

    The values are converted by PL/pgSQL assignment, as `ALTER ... TYPE` without `USING`
    converts them: a value that does not fit the new type (a longer string, a larger
    number, in the downgrade of a widening) raises an error instead of being truncated --
    in the backfill, which stops, or in the write that carries it while the trigger is
    in place, where the naive op would have failed as a whole. The final schema is the naive op's, except
    that the column is now the table's last: `sluice check`'s snapshot comparison does
    not compare column positions. The downgrade's reverse `alter_column` is rewritten the
    same way when it rewrites the table too; with `safe_by_default`'s split, the contract
    revision's downgrade is that reverse recipe as well (the expand revision's then finds
    nothing to do), so either revision downgrades on its own.

    PostgreSQL only: no MariaDB or MySQL recipe is registered; a type change that copies
    the table there (SL301) is refused as before.
    """
    if not isinstance(op, ops.AlterColumnOp) or op.modify_type is None:
        return None
    if op.modify_nullable is not None or op.modify_server_default is not False \
            or op.modify_name is not None or op.modify_comment is not False or op.kw:
        return None
    old_text, new_text = type_text(op.existing_type), type_text(op.modify_type)
    old, new = TypeInfo.parse(old_text), TypeInfo.parse(new_text)
    if old is None or new is None or pg_rewrites(old, new) is None:
        return None
    table, column, schema = str(op.table_name), str(op.column_name), op.schema
    if ctx.in_force("SL101") and type_change_loses_data(old, new) is not None \
            and not ctx.in_downgrade((schema, table, column, old_text, new_text)):
        return None  # lossy: SL101 keeps refusing it (the recipe cannot make it safe)
    names = [column + NEW_SUFFIX, column + SYNC_SUFFIX, f"{table}_{column}{SYNC_SUFFIX}",
             f"ck_{table}_{column}_not_null"]
    if not all(_fits(name) for name in names):
        return None
    type_ = op.modify_type() if isinstance(op.modify_type, type) else op.modify_type
    type_sql = str(sa.types.to_instance(type_).compile(dialect=_DIALECT))
    n = _Names(table, column, schema, type_sql)
    timeout = ctx.lock_timeout
    ctx.rewrote((schema, table, column, new_text, old_text))  # its undo is a downgrade's
    return [
        AutocommitBlock([_abandon(n), _expand(n)], timeout),
        Backfill(table, column, n.column, schema, where=STILL_SYNCING,
                 params={"trigger": column + SYNC_SUFFIX, "table": n.table}),
        AutocommitBlock([
            *_not_null_check(n),
            _swap(n),
        ], timeout),
    ]
