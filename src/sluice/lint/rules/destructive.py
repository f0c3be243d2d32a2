"""Destructive operations: they remove data or structure that running code may still use."""

from __future__ import annotations

from sluice.lint.model import Hit, Op
from sluice.lint.registry import RuleContext, rule
from sluice.lint.rules._util import matches_any, steps


@rule("SL001", "drop-table", family="destructive", severity="error", autogenerate=True)
def drop_table(op: Op, ctx: RuleContext) -> Hit | None:
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
    if op.kind != "drop_table" or op.phase != "upgrade" or op.table_is_new:
        return None
    return Hit(
        f"drops table {op.target} and all its rows",
        steps(
            f"Remove every use of {op.target} from the code and deploy that first.",
            f"Back up the data, or rename the table (op.rename_table('{op.table}', "
            f"'{op.table}_bak')) and add '*_bak' to exclude_tables.",
            "Drop it in a later revision, after the deploy that stopped using it.",
        ),
    )


@rule("SL002", "drop-column", family="destructive", severity="error", autogenerate=True)
def drop_column(op: Op, ctx: RuleContext) -> Hit | None:
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
    if op.kind != "drop_column" or op.phase != "upgrade" or op.table_is_new:
        return None
    return Hit(
        f"drops column {op.target} and its data; running code that still selects it will fail",
        steps(
            f"Stop using {op.target} in code (remove it from the model) and deploy that.",
            f"Drop the column in a later revision: op.drop_column('{op.table}', '{op.column}').",
            "Copy the data out first if anyone may need it.",
        ),
    )


@rule("SL003", "drop-index", family="destructive", severity="warning", autogenerate=True)
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
    return Hit(
        f"drops index {op.name or '?'} on {op.target}; queries using it fall back to scans",
        steps(
            "Confirm the index is unused (pg_stat_user_indexes / sys.schema_unused_indexes).",
            "If it exists only in the database, declare it in the model instead of dropping it.",
            "Otherwise drop it in a revision of its own, concurrently on PostgreSQL.",
        ),
    )


@rule("SL004", "drop-constraint", family="destructive", severity="warning", autogenerate=True)
def drop_constraint(op: Op, ctx: RuleContext) -> Hit | None:
    """Dropping a constraint lets invalid data in from the moment it commits.

    Why it is dangerous: unique, foreign key and check constraints are the last line of
    defence against duplicates and orphans; once invalid rows exist, adding the constraint
    back fails until they are cleaned up by hand.

    Safe alternative:
    1. Make sure the application enforces the rule, or that you really want it gone.
    2. Drop it in a revision of its own so it can be reviewed and reverted alone.
    """
    if op.kind != "drop_constraint" or op.phase != "upgrade" or op.table_is_new:
        return None
    kind = op.args.get("type_") or "constraint"
    return Hit(
        f"drops {kind} constraint {op.name or '(unnamed)'} on {op.target}; invalid rows can "
        "be written from then on",
        steps(
            "Confirm nothing relies on the constraint to keep the data valid.",
            "Drop it in a revision of its own so it can be reviewed and reverted alone.",
        ),
    )


@rule("SL005", "protected-table", family="destructive", severity="error", autogenerate=True)
def protected_table(op: Op, ctx: RuleContext) -> Hit | None:
    """An operation touches a table listed in ``protected_tables``.

    Why it is dangerous: protected tables are the ones your team decided must never change
    through a routine migration (billing ledgers, audit logs, tables owned by another
    system). A change to them needs a deliberate, separately reviewed revision.

    Safe alternative:
    1. If the change is intended, write it by hand in a revision of its own.
    2. Allow it explicitly for that one run: ``-x allow=KIND:TABLE`` (or ``SLUICE_ALLOW``),
       so the review header records who allowed what.
    """
    if op.phase != "upgrade" or op.kind == "create_table":
        return None
    pattern = matches_any(op.table, ctx.config.protected_tables)
    if pattern is None:
        return None
    return Hit(
        f"{op.kind} touches protected table {op.table} (matches protected_tables '{pattern}')",
        steps(
            "If this change is intended, move it into a hand-written revision of its own.",
            f"Or allow it for this run: -x allow={op.allow_key}",
        ),
    )
