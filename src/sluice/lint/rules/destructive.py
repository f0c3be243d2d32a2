"""Destructive operations: they remove data or structure that running code may still use."""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.lint.model import Hit, Op
from sluice.lint.registry import UPGRADE, RuleContext, rule
from sluice.lint.rules._rebuild import position, rows_copied_back
from sluice.lint.rules._sql import Action
from sluice.lint.rules._util import (
    RUNTIME_TABLE,
    batched_snippet,
    column_label,
    constraint_label,
    dropped_columns,
    dropped_tables,
    index_columns,
    index_label,
    matches_any,
    new_tables_before,
    sql_statements,
    steps,
    unit_ops,
)


@rule("SL001", "drop-table", family="destructive", severity="error", autogenerate=True,
      kinds=("drop_table", "execute"), phases=UPGRADE)
def drop_table(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Dropping a table deletes its data for good.

    Why it is dangerous: the rows are gone the moment the migration commits; a rollback
    of the deploy does not bring them back, and any code still reading the table fails.
    Autogenerate writes this whenever a model disappears, including by accident (a model
    module not imported in env.py).

    Safe alternative:
    1. Stop reading and writing the table in application code; deploy that.
    2. Take a backup of the table (or rename it to ``<name>_bak`` and exclude that pattern).
    3. Drop it in a later, separate revision once nothing uses it.
    """
    if op.phase != "upgrade":
        return None
    if op.kind == "execute":
        for j, (stmt, is_new) in enumerate(sql_statements(op, ctx)):
            if stmt.kind == "DROP TABLE" and not is_new:
                tables: list[str | None] = list(stmt.tables) or [None]
                for table in tables:
                    if table and rows_copied_back(op, ctx, table, position(op, ctx, j)):
                        continue
                    yield _drop_table_hit(table, "DROP TABLE in op.execute")
        return None
    if op.kind != "drop_table" or op.table_is_new:
        return None
    if not op.table:
        yield _drop_table_hit(None, f"drops {RUNTIME_TABLE}")
        return None
    if rows_copied_back(op, ctx, op.table, position(op, ctx)):
        return None  # rebuilt in place: re-created and its rows copied back
    yield _drop_table_hit(op.table, f"drops table {op.target}", op.target)
    return None


def _drop_table_hit(table: str | None, what: str, target: str | None = None) -> Hit:
    target = target or table or "the table"
    name = table or "TABLE"
    gone = f"deletes {target} and all its rows" if table else "with all its rows"
    return Hit(
        f"{what} {gone}; code still reading it fails at once",
        steps(
            f"Remove every use of {target} from the code and deploy that first.",
            f"Back up the data, or rename the table (op.rename_table('{name}', "
            f"'{name}_bak')) and add '*_bak' to exclude_tables.",
            "Drop it in a later revision, after the deploy that stopped using it.",
        ),
    )


@rule("SL002", "drop-column", family="destructive", severity="error", autogenerate=True,
      kinds=("drop_column", "execute"), phases=UPGRADE)
def drop_column(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Dropping a column deletes its data and breaks code that still selects it.

    Why it is dangerous: during a rolling deploy the old version of the application is
    still running and its ORM selects every mapped column; the moment the column is gone
    those queries fail. The data cannot be recovered by rolling back.

    Safe alternative:
    1. Stop using the column in code (with SQLAlchemy, remove it from the model, or mark
       it ``deferred`` first); deploy that.
    2. In a later revision, drop the column.
    3. If you want the data, copy it out before the drop.
    """
    if op.phase != "upgrade":
        return None
    if op.kind == "execute":
        for stmt, is_new in sql_statements(op, ctx):
            if stmt.kind != "ALTER TABLE" or is_new:
                continue
            for act in stmt.actions:
                if act.kind == "drop_column":
                    yield _drop_column_hit(stmt.table, act.column)
                elif act.kind == "drop_partition":
                    yield _drop_partition_hit(stmt.table, act.name)
        return None
    if op.kind != "drop_column" or op.table_is_new:
        return None
    yield _drop_column_hit(op.table, op.column,
                           op.target if op.table and op.column else None)
    return None


def _drop_partition_hit(table: str | None, partition: str | None) -> Hit:
    of = table or "the table"
    what = f"partition {partition} of {of}" if partition else f"a partition of {of}"
    return Hit(
        f"drops {what} and every row in it; the rows cannot be recovered by a rollback",
        steps(
            f"Confirm nothing needs the rows of {what} any more.",
            "Copy them out first (or EXCHANGE PARTITION into an archive table) if anyone may.",
        ),
    )


def _drop_column_hit(table: str | None, column: str | None, target: str | None = None) -> Hit:
    target = target or column_label(table, column)
    what = f"column {target}" if table and column else target
    return Hit(
        f"drops {what} and its data; running code that still selects it will fail",
        steps(
            f"Stop using {target} in code (remove it from the model) and deploy that.",
            f"Drop the column in a later revision: op.drop_column('{table or 'TABLE'}', "
            f"'{column or 'COLUMN'}').",
            "Copy the data out first if anyone may need it.",
        ),
    )


@rule("SL003", "drop-index", family="destructive", severity="warning", autogenerate=True,
      kinds=("drop_index",), phases=UPGRADE)
def drop_index(op: Op, ctx: RuleContext) -> Hit | None:
    """Dropping an index can turn fast queries into full table scans.

    Why it is dangerous: the index may serve a query that is rare but important (a nightly
    job, an admin page); after the drop it scans the whole table under load. Autogenerate
    also proposes drops for indexes created outside the models (by hand, by an extension).

    Safe alternative:
    1. Check the index is unused (PostgreSQL ``pg_stat_user_indexes.idx_scan``, MySQL
       ``sys.schema_unused_indexes``) over a full business cycle.
    2. If it was created outside the models, add it to the model or exclude it instead.
    3. Drop it in its own revision (on PostgreSQL with ``postgresql_concurrently=True``
       inside ``op.get_context().autocommit_block()``).
    """
    if op.kind != "drop_index" or op.phase != "upgrade" or op.table_is_new:
        return None
    if op.table and op.table.lower() in dropped_tables(op, ctx):
        return None  # the table goes too, in the same revision
    if _index_column_dropped(op, ctx):
        return None  # a column of the index goes too: no query can use the index after
    if _index_replaced_later(op, ctx):
        return None  # renamed: an index on the same columns replaces it in the transaction
    return Hit(
        f"drops {index_label(op.name, op.target if op.table else None)}; queries using it "
        "fall back to scans",
        steps(
            "Confirm the index is unused (pg_stat_user_indexes / sys.schema_unused_indexes).",
            "If it exists only in the database, declare it in the model instead of dropping it.",
            "Otherwise drop it in a revision of its own, concurrently on PostgreSQL.",
        ),
    )


def _index_column_dropped(op: Op, ctx: RuleContext) -> bool:
    """The revision drops, in the same phase, a column of the index ``op`` drops.

    PostgreSQL drops every index involving a dropped column, MySQL and SQLite remove the
    column from it: either way no query on that column is left for the index to serve.
    The columns come from a ``create_index`` of the same name among the ops linted
    together; without one, from the index name (``ix_deployment__queue_id``).
    """
    if not op.table:
        return False
    table = op.table.lower()
    gone = {col for tbl, col in dropped_columns(op, ctx) if tbl == table}
    if not gone:
        return False
    cols = index_columns(op.name, ctx) if op.kind == "drop_index" else None
    if cols is not None:
        return any(c in gone for c in cols)
    name = f"_{(op.name or '').lower()}_"
    return any(f"_{col}_" in name for col in gone)


def _index_replaced_later(op: Op, ctx: RuleContext) -> bool:
    """On a dialect with transactional DDL, the revision creates afterwards an index on the
    same table whose columns are the ones the dropped index is named after (an index
    renamed by drop and create): no query is ever without it."""
    if ctx.dialect not in _TRANSACTIONAL_DDL or not op.table or not op.name:
        return False
    name, table = f"_{op.name.lower()}_", op.table.lower()
    unit = unit_ops(op, ctx)
    start = next((i for i, o in enumerate(unit) if o is op), len(unit))
    for o in unit[start + 1:]:
        cols = o.args.get("columns")
        if o.kind != "create_index" or (o.table or "").lower() != table \
                or not isinstance(cols, (list, tuple)) or not cols:
            continue
        if all(isinstance(c, str) and f"_{c.lower()}_" in name for c in cols):
            return True
    return False


@rule("SL004", "drop-constraint", family="destructive", severity="warning", autogenerate=True,
      kinds=("drop_constraint", "execute"), phases=UPGRADE)
def drop_constraint(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Dropping a constraint lets invalid data in from the moment it commits.

    Why it is dangerous: unique, foreign key and check constraints are the last line of
    defence against duplicates and orphans; once invalid rows exist, adding the constraint
    back fails until they are cleaned up by hand.

    Safe alternative:
    1. Make sure the application enforces the rule, or that you really want it gone.
    2. Drop it in a revision of its own so it can be reviewed and reverted alone.
    3. With ``CASCADE`` (raw SQL), list what depends on it first: dropping a primary key
       or unique constraint that way also drops the foreign keys of other tables that
       reference it.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "execute":
        for stmt, is_new in sql_statements(op, ctx):
            if stmt.kind != "ALTER TABLE" or is_new or (
                    stmt.table and stmt.table.lower() in dropped_tables(op, ctx)):
                continue
            for act in stmt.actions:
                primary = act.kind == "drop_primary_key" or _looks_primary(act.name)
                if (act.kind == "drop_primary_key" or (
                        act.kind == "drop_constraint"
                        and not re.match(r"DROP (?:INDEX|KEY)\b", act.text.strip(), re.I))) \
                        and not _recreated_later(op, ctx, stmt.table, act.name, primary):
                    yield _drop_constraint_hit(act, stmt.table)
        return
    if op.kind != "drop_constraint" or op.table_is_new:
        return
    if op.table and op.table.lower() in dropped_tables(op, ctx):
        return
    primary = op.args.get("type_") == "primary" or _looks_primary(op.name)
    if _recreated_later(op, ctx, op.table, op.name, primary):
        return
    if _index_column_dropped(op, ctx):
        return  # its column is dropped too, and the constraint with it
    kind = op.args.get("type_") or "constraint"
    label = constraint_label(f"{kind} constraint" if kind != "constraint" else kind, op.name,
                             op.target if op.table else None)
    yield Hit(
        f"drops {label}; invalid rows can be written from then on",
        steps(
            "Confirm nothing relies on the constraint to keep the data valid.",
            "Drop it in a revision of its own so it can be reviewed and reverted alone.",
        ),
    )


#: Dialects whose DDL is transactional: a constraint dropped and re-created in one
#: revision is never missing for another session.
_TRANSACTIONAL_DDL = ("postgresql", "sqlite")
_CREATES_CONSTRAINT = {"create_foreign_key", "create_unique_constraint",
                       "create_check_constraint", "create_primary_key",
                       "create_exclude_constraint"}


def _looks_primary(name: str | None) -> bool:
    low = (name or "").lower()
    return low.endswith("_pkey") or low.startswith("pk_")


#: PostgreSQL's suffix for the name it gives an unnamed constraint.
_PG_SUFFIX = {"create_foreign_key": "fkey", "create_unique_constraint": "key",
              "create_primary_key": "pkey", "create_check_constraint": "check"}


def _pg_default_name(o: Op, dialect: str | None) -> str:
    """The name PostgreSQL gives an unnamed constraint: ``accounts_gpgkey_user_id_fkey``."""
    cols = o.args.get("local_cols") or o.args.get("columns")
    if dialect != "postgresql" or o.kind not in _PG_SUFFIX or not o.table:
        return ""
    if o.kind == "create_primary_key":
        return f"{o.table}_pkey"
    if not isinstance(cols, (list, tuple)) or not all(isinstance(c, str) for c in cols):
        return ""
    return "_".join([o.table, *cols, _PG_SUFFIX[o.kind]])


def _recreated_later(op: Op, ctx: RuleContext, table: str | None, name: str | None,
                     primary: bool) -> bool:
    """On a dialect with transactional DDL, the revision creates the constraint again (the
    same name on the same table, or any primary key for a primary key) after ``op``."""
    if ctx.dialect not in _TRANSACTIONAL_DDL or not table:
        return False
    table, name = table.lower(), (name or "").lower()
    unit = unit_ops(op, ctx)
    start = next((i for i, o in enumerate(unit) if o is op), len(unit))
    for o in unit[start:]:
        made = (o.name or _pg_default_name(o, ctx.dialect)).lower()
        if o.kind in _CREATES_CONSTRAINT and (o.table or "").lower() == table and (
                (name and made == name)
                or (primary and o.kind == "create_primary_key")):
            return True
        for stmt, _ in sql_statements(o, ctx):
            if stmt.kind != "ALTER TABLE" or (stmt.table or "").lower() != table:
                continue
            for act in stmt.actions:
                if act.kind == "add_constraint" and (
                        (name and (act.name or "").lower() == name)
                        or (primary and act.constraint == "primary_key")):
                    return True
    return False


def _drop_constraint_hit(act: Action, table: str | None) -> Hit:
    text = act.text.strip()
    cascade = bool(re.search(r"\bCASCADE\b", text, re.I))
    primary = act.kind == "drop_primary_key" or bool(act.name and act.name.endswith("_pkey"))
    kind = "primary key" if primary else "constraint"
    what = constraint_label(kind, act.name, table)
    message = f"drops {what} (`{text}`); invalid rows can be written from then on"
    if primary:
        message = (f"drops {what} (`{text}`); duplicate rows can be written from then on, and "
                   "replication, ORMs and upserts that need the key stop working")
    if cascade:
        message += ("; CASCADE also drops every foreign key of other tables that references "
                    "it, without naming them")
    fix = ["Confirm nothing relies on the constraint to keep the data valid."]
    if cascade:
        fix.append("List what depends on it first (on PostgreSQL: SELECT conname, "
                   "conrelid::regclass FROM pg_constraint WHERE confrelid = "
                   f"'{table or 'the_table'}'::regclass) and drop those explicitly, "
                   "without CASCADE.")
    fix.append("Drop it in a revision of its own so it can be reviewed and reverted alone.")
    return Hit(message, steps(*fix))


@rule("SL005", "protected-table", family="destructive", severity="error", autogenerate=True,
      phases=UPGRADE)
def protected_table(op: Op, ctx: RuleContext) -> Hit | None:
    """An operation touches a table listed in ``protected_tables``.

    Why it is dangerous: protected tables are the ones your team decided must never change
    through a routine migration (billing ledgers, audit logs, tables owned by another
    system). A change to them needs a deliberate, separately reviewed revision.

    Safe alternative:
    1. If the change is intended, write it by hand in a revision of its own.
    2. Allow it explicitly when you generate it (``-x`` goes before the subcommand):
       ``alembic -x allow=KIND:TABLE revision --autogenerate`` (or ``SLUICE_ALLOW``),
       so the review header records who allowed what.
    """
    if op.phase != "upgrade" or op.kind == "create_table" or op.table_is_new:
        return None  # a new protected table comes with its own indexes and constraints
    if op.table and op.table.lower() in new_tables_before(op, ctx):
        return None
    pattern = matches_any(op.table, ctx.config.protected_tables)
    if pattern is None:
        return None
    return Hit(
        f"{op.kind} touches protected table {op.table} (matches protected_tables '{pattern}')",
        steps(
            "If this change is intended, move it into a hand-written revision of its own.",
            f"Or allow it when you generate the revision: "
            f'alembic -x allow={op.allow_key} revision --autogenerate -m "..."',
        ),
    )


@rule("SL006", "drop-schema", family="destructive", severity="error", kinds=("execute",),
      phases=UPGRADE)
def drop_schema(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Dropping a schema or database deletes every table in it at once.

    Why it is dangerous: ``DROP SCHEMA ... CASCADE`` (or ``DROP DATABASE`` on MySQL, where
    schema and database are the same thing) removes every table, view, sequence and
    function inside, including objects no model knows about. There is no undo short of a
    restore from backup, and a typo in the name is enough to lose the wrong one.

    Safe alternative:
    1. List what the schema holds and confirm that nothing (no service, no report, no
       other team's job) still uses any of it.
    2. Take a backup of the schema (``pg_dump --schema NAME``, ``mysqldump NAME``).
    3. Drop the objects you own one by one in a reviewed revision, or drop the schema by
       hand outside the migration history once the backup is verified.
    """
    if op.phase != "upgrade":
        return
    for stmt, _ in sql_statements(op, ctx):
        if stmt.kind != "DROP SCHEMA":
            continue
        target = "database" if "DATABASE" in stmt.norm[:14] else "schema"
        cascade = " CASCADE" if " CASCADE" in stmt.norm else ""
        yield Hit(
            f"DROP {target.upper()}{cascade} in op.execute deletes every table in the {target} "
            "and cannot be rolled back by a deploy",
            steps(
                f"List the objects in the {target} and confirm nothing still uses any of them.",
                f"Back up the {target} first (pg_dump --schema / mysqldump) and verify the "
                "backup restores.",
                "Drop the objects you own one by one in a reviewed revision instead of the "
                f"whole {target}.",
            ),
        )


@rule("SL007", "truncate-table", family="destructive", severity="error", kinds=("execute",),
      phases=UPGRADE)
def truncate_table(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """``TRUNCATE`` empties a table instantly and for good.

    Why it is dangerous: every row is gone in one statement, without row-level triggers
    and, on MySQL, outside any transaction (TRUNCATE commits implicitly). On PostgreSQL it
    takes an ACCESS EXCLUSIVE lock, so every query on the table queues behind it.
    ``CASCADE`` also empties every table with a foreign key to it.

    Safe alternative:
    1. If the table holds data anyone may need, back it up or copy it to an archive table.
    2. Delete in batches (``sluice.data.batched_delete``) so locks stay short and progress
       is visible and resumable.
    3. If the table really must be emptied at once, do it by hand during a maintenance
       window rather than in a migration that runs on every environment.
    """
    if op.phase != "upgrade":
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "TRUNCATE" or is_new:
            continue
        tables = ", ".join(stmt.tables) or "TABLE"
        cascade = " (CASCADE also empties tables that reference it)" \
            if " CASCADE" in stmt.norm else ""
        yield Hit(
            f"TRUNCATE {tables} deletes every row{cascade}; on PostgreSQL it blocks all "
            "reads and writes while it runs",
            steps(
                f"Back up {tables} (or copy the rows to an archive table) if anyone may "
                "need them.",
                "Delete in batches instead: "
                f"{batched_snippet('delete', stmt.tables[0] if stmt.tables else 'TABLE', None)}.",
                "If it must be emptied at once, do it by hand in a maintenance window.",
            ),
        )


@rule("SL008", "delete-without-where", family="destructive", severity="error", kinds=("execute",),
      phases=UPGRADE)
def delete_without_where(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A ``DELETE`` with no ``WHERE`` removes every row of the table.

    Why it is dangerous: usually a missing condition, not an intention. Even when intended,
    deleting a whole table row by row holds row locks on all of it for the duration of the
    migration transaction, bloats the table (PostgreSQL) or the undo log (InnoDB), and fires
    every ``ON DELETE CASCADE`` below it.

    Safe alternative:
    1. Add the ``WHERE`` you meant; review it with a ``SELECT count(*)`` first.
    2. If every row really must go, delete in batches (``sluice.data.batched_delete(table,
       where=sa.true())``), in a revision of its own, so locks stay short and a failure
       does not roll back everything.
    3. Back the rows up first if anyone may need them.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "execute" and op.args.get("construct") == "delete" and not op.args.get("where"):
        if not op.table_is_new:
            table = str(op.args.get("construct_table") or "TABLE")
            yield _delete_hit(table, f"{table}.delete() without .where()")
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind == "DELETE" and not stmt.has_where and not stmt.has_limit and not is_new:
            yield _delete_hit(stmt.table or "TABLE", f"DELETE FROM {stmt.table or 'TABLE'} without WHERE")


def _delete_hit(table: str, what: str) -> Hit:
    return Hit(
        f"{what} deletes every row of {table}, locking them all until the migration commits",
        steps(
            f"Add the WHERE you meant; check it first with SELECT count(*) FROM {table} WHERE ....",
            "If every row must go, delete in batches, in a revision of its own: "
            f"{batched_snippet('delete', table, None)}.",
            f"Back up {table} first if anyone may need the rows.",
        ),
    )
