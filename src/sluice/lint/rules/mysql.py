"""MySQL and MariaDB: table-copying ALTERs, table rebuilds, non-transactional DDL.

What an ALTER costs depends on the server version (``lint.target_mysql_version``):
INSTANT changes only metadata, INPLACE lets reads and writes continue (some rebuild the
table in the background), COPY builds a new copy of the table while writes wait.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from sluice.lint.model import Hit, Op, TypeInfo
from sluice.lint.registry import UPGRADE, RuleContext, rule
from sluice.lint.rules._sql import Action
from sluice.lint.rules._util import (
    DDL_KINDS,
    DDL_SQL,
    constraint_label,
    mysql_label,
    mysql_target,
    run_memo,
    sql_statements,
    steps,
    unit_ops,
)

MYSQL = ("mysql",)

#: utf8mb4 stores up to 4 bytes per character; VARCHAR keeps a 1-byte length prefix up to
#: 255 bytes, so extending within 63 characters (or beyond it on both sides) is in place.
_ONE_BYTE_PREFIX_CHARS = 63


@dataclass
class Cost:
    algorithm: str  # INSTANT, INPLACE, REBUILD (INPLACE that rebuilds the table), COPY
    what: str
    #: the version from which it becomes INSTANT, when that is what makes it cheap.
    instant_from: str | None = None


def _at_least(ctx: RuleContext, mysql: tuple[int, ...], mariadb: tuple[int, ...]) -> bool:
    flavor, nums = mysql_target(ctx)
    want = mariadb if flavor == "mariadb" else mysql
    return nums >= want


def _add_column_cost(ctx: RuleContext, what: str) -> Cost:
    if _at_least(ctx, (8, 0, 12), (10, 3, 2)):
        return Cost("INSTANT", what)
    return Cost("REBUILD", what, instant_from="MySQL 8.0.12 / MariaDB 10.3.2")


def _drop_column_cost(ctx: RuleContext, what: str) -> Cost:
    if _at_least(ctx, (8, 0, 29), (10, 4)):
        return Cost("INSTANT", what)
    return Cost("REBUILD", what, instant_from="MySQL 8.0.29 / MariaDB 10.4")


#: MariaDB extends a VARCHAR instantly unless it grows from 128-255 bytes to more than 255
#: (utf8mb4: from 32-63 characters to 64 or more); up to 127 bytes it may grow to any length.
_MARIADB_ANY_EXTEND_CHARS = 31


def _varchar_in_place(old: TypeInfo | None, new: TypeInfo | None,
                      ctx: RuleContext | None = None) -> bool:
    if old is None or new is None or old.family != "string" or new.family != "string":
        return False
    if old.length is None or new.length is None or new.length < old.length:
        return False
    limit = _ONE_BYTE_PREFIX_CHARS
    if ctx is not None and mysql_target(ctx)[0] == "mariadb" \
            and old.length <= _MARIADB_ANY_EXTEND_CHARS:
        return True
    return (old.length <= limit) == (new.length <= limit)


def mariadb_modify_kind(act: Action, ctx: RuleContext) -> str | None:
    """For a raw ``MODIFY``/``CHANGE`` on a MariaDB target: ``"nullability"`` when it states
    ``NULL``/``NOT NULL`` (INPLACE, rebuilds the table with concurrent DML), ``"reorder"`` when
    a ``MODIFY`` only adds ``FIRST``/``AFTER`` (INSTANT from 10.4); None otherwise or on MySQL. The old
    definition is unknown in raw SQL: the type written is taken to be the column's own."""
    flavor, nums = mysql_target(ctx)
    if act.kind != "alter_type" or flavor != "mariadb" or ctx.dialect not in (None, "mysql"):
        return None
    text = act.text.upper()
    if not re.match(r"\s*(?:MODIFY|CHANGE)\b", text):
        return None
    if re.search(r"(?<!DEFAULT )\bNULL\b", text):
        return "nullability"
    if text.lstrip().startswith("MODIFY") and re.search(r"\b(?:FIRST|AFTER)\b", text) \
            and nums >= (10, 4):
        return "reorder"
    return None


def _same_type(old: TypeInfo | None, new: TypeInfo | None) -> bool:
    """``sa.Integer()`` and ``INTEGER()``: the same column type, spelled differently."""
    if old is None or new is None:
        return False
    return (old.family, old.length, old.precision, old.scale) == (
        new.family, new.length, new.precision, new.scale)


def _unsized_varchar(new: TypeInfo | None) -> bool:
    """``String()`` without a length: MySQL cannot create it (SQLAlchemy refuses to compile
    VARCHAR without a length for MySQL), so no table is copied; the revision fails."""
    return new is not None and new.family == "string" and new.length is None


#: The op kinds :func:`op_costs` can find a cost for.
COST_KINDS = ("add_column", "drop_column", "alter_column", "create_foreign_key",
              "create_primary_key", "drop_constraint", "execute")


def op_costs(op: Op, ctx: RuleContext) -> list[Cost]:
    """What each ALTER in ``op`` costs on the target MySQL/MariaDB version."""
    memo = run_memo(ctx)
    key = ("op_costs", id(op))
    found = memo.get(key)
    if found is None or found[0] is not op:  # (the op is kept: its id cannot be reused)
        found = memo[key] = (op, _op_costs(op, ctx))
    return list(found[1])


def _op_costs(op: Op, ctx: RuleContext) -> list[Cost]:
    costs: list[Cost] = []
    if op.table_is_new:
        return costs
    k = op.kind
    if k == "add_column":
        costs.append(_add_column_cost(ctx, f"adding column {op.target}"))
    elif k == "drop_column":
        costs.append(_drop_column_cost(ctx, f"dropping column {op.target}"))
    elif k == "alter_column":
        if op.args.get("type_"):
            old = TypeInfo.parse(op.args.get("existing_type"))
            new = TypeInfo.parse(op.args.get("type_"))
            if not _varchar_in_place(old, new, ctx) and not _same_type(old, new) \
                    and not _unsized_varchar(new):
                costs.append(Cost("COPY", f"changing the type of {op.target}"))
        if "nullable" in op.args and op.args.get("nullable") != op.args.get("existing_nullable"):
            costs.append(Cost("REBUILD", f"changing NULL/NOT NULL of {op.target}"))
    elif k == "create_foreign_key":
        costs.append(Cost("COPY", "adding " + constraint_label(
            "foreign key", op.name, op.target if op.table else None)))
    elif k == "create_primary_key":
        costs.append(Cost("REBUILD", f"adding a primary key to {op.target}"))
    elif k == "drop_constraint" and op.args.get("type_") == "primary":
        costs.append(Cost("COPY", f"dropping the primary key of {op.target}"))
    elif k == "execute":
        for stmt, is_new in sql_statements(op, ctx):
            if stmt.kind != "ALTER TABLE" or is_new:
                continue
            if stmt.algorithm in ("INSTANT", "INPLACE", "NOCOPY"):
                continue  # the server refuses the ALTER rather than copy: safe
            forced = stmt.algorithm == "COPY"
            replaces_key = {"drop_primary_key", "add_primary_key"} <= {
                "add_primary_key" if a.kind == "add_constraint" and a.constraint == "primary_key"
                else a.kind for a in stmt.actions}
            for act in stmt.actions:
                if replaces_key and act.kind == "drop_primary_key":
                    # DROP PRIMARY KEY, ADD PRIMARY KEY in one ALTER: INPLACE, rebuilds
                    what = f"replacing the primary key of {stmt.table or 'TABLE'}"
                    costs.append(Cost("COPY" if forced else "REBUILD", what))
                    continue
                cost = _action_cost(act, stmt.table or "TABLE", ctx)
                if cost is not None:
                    costs.append(Cost("COPY", cost.what) if forced else cost)
    return costs


def _action_cost(act: Action, table: str, ctx: RuleContext) -> Cost | None:
    col = f"{table}.{act.column}" if act.column else table
    if act.kind == "add_column":
        return _add_column_cost(ctx, f"adding column {col}")
    if act.kind == "drop_column":
        return _drop_column_cost(ctx, f"dropping column {col}")
    if act.kind == "alter_type":
        mariadb = mariadb_modify_kind(act, ctx)
        if mariadb == "reorder":
            return None
        if mariadb == "nullability":
            return Cost("REBUILD", f"changing NULL/NOT NULL of {col} (MODIFY/CHANGE)")
        return Cost("COPY", f"changing the column definition of {col} (MODIFY/CHANGE)")
    if act.kind == "convert_charset" and mysql_target(ctx)[0] == "mariadb" \
            and not act.text.upper().lstrip().startswith("CONVERT"):
        return None  # DEFAULT CHARACTER SET: INSTANT, only new columns get it
    if act.kind == "convert_charset":
        return Cost("COPY", f"converting the character set of {table}")
    if act.kind == "drop_primary_key":
        return Cost("COPY", f"dropping the primary key of {table}")
    if act.kind == "add_constraint" and act.constraint == "foreign_key":
        return Cost("COPY", f"adding a foreign key on {table}")
    if act.kind in ("set_not_null", "drop_not_null"):
        return Cost("REBUILD", f"changing NULL/NOT NULL of {col}")
    return None


@rule("SL301", "mysql-table-copy", family="mysql", severity="error", dialects=MYSQL,
      kinds=COST_KINDS, phases=UPGRADE)
def mysql_table_copy(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """An ALTER that MySQL/MariaDB can only run by copying the whole table.

    Why it is dangerous: with ``ALGORITHM=COPY`` the server builds a new copy of the table
    row by row while every write to it waits (reads continue), needs free disk space for a
    second copy, and on a replica replays the same copy afterwards, so replication lags by
    as long again. Column type changes (other than extending a VARCHAR), adding a foreign
    key with ``foreign_key_checks`` on, dropping a primary key and converting a character
    set all copy.

    Safe alternative:
    1. For a type change, expand and contract: add a new column, backfill it in batches,
       switch the code, drop the old column later.
    2. For a foreign key, check for orphans with a query, then add it with
       ``SET foreign_key_checks = 0`` in the same session, which makes it INPLACE.
    3. For anything else on a large table, use an online schema change tool (gh-ost,
       pt-online-schema-change) outside the migration and record it with a no-op revision.
    4. Write ``ALGORITHM=INPLACE, LOCK=NONE`` in raw ALTERs so the server refuses instead of
       silently copying.
    """
    if op.phase != "upgrade":
        return
    for cost in op_costs(op, ctx):
        if cost.algorithm != "COPY":
            continue
        table = op.table or "the table"
        if "foreign key" in cost.what:
            fix = steps(
                f"Check for orphan rows in {table} with a LEFT JOIN query and fix them first.",
                "Add the key with foreign_key_checks disabled for the session: "
                "op.execute('SET foreign_key_checks = 0'), the create_foreign_key, then "
                "op.execute('SET foreign_key_checks = 1'); this runs INPLACE.",
                "Or add it with gh-ost / pt-online-schema-change on a large table.",
            )
        elif "type" in cost.what or "MODIFY" in cost.what:
            fix = steps(
                f"Add a new column to {table} with the new type; deploy code writing both.",
                "Backfill it in batches (sluice.data.batched_update).",
                "Switch reads to the new column; drop the old one in a later revision.",
                "Or run the change with gh-ost / pt-online-schema-change outside the "
                "migration.",
            )
        else:
            fix = steps(
                "Run the change with gh-ost / pt-online-schema-change outside the migration "
                "and record it with a no-op revision.",
                "In raw SQL, write ALGORITHM=INPLACE, LOCK=NONE so the server refuses "
                "instead of copying.",
            )
        yield Hit(
            f"{cost.what} copies the whole table on {mysql_label(ctx)} (ALGORITHM=COPY): "
            "writes wait for the entire copy and replicas lag by as long again",
            fix,
        )


@rule("SL302", "mysql-table-rebuild", family="mysql", severity="warning", dialects=MYSQL,
      kinds=COST_KINDS, phases=UPGRADE)
def mysql_table_rebuild(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """An ALTER that rebuilds the table on the target version, where INSTANT is possible.

    Why it is dangerous: an in-place rebuild lets reads and writes continue, but it
    rewrites every row (hours of I/O on a big table), takes an exclusive metadata lock at
    the start and the end (queueing all queries if a long transaction is open), and
    replicas apply it single-threaded afterwards. Adding and dropping columns is INSTANT
    on newer servers (MySQL 8.0.12 / 8.0.29, MariaDB 10.3 / 10.4); changing NULL/NOT NULL
    always rebuilds.

    Safe alternative:
    1. If production runs a newer server than ``lint.target_mysql_version`` says, raise the
       setting: the change is then INSTANT.
    2. Otherwise run the change on a large table with gh-ost or pt-online-schema-change,
       or in a quiet window with a short ``lock_wait_timeout``.
    3. Avoid changing NULL/NOT NULL on large tables; enforce it in the application instead.
    """
    if op.phase != "upgrade":
        return
    for cost in op_costs(op, ctx):
        if cost.algorithm != "REBUILD":
            continue
        if cost.instant_from:
            first = (f"This is INSTANT from {cost.instant_from}; if production runs that, "
                     "raise lint.target_mysql_version.")
        else:
            first = "Consider enforcing NOT NULL in the application instead on a large table."
        yield Hit(
            f"{cost.what} rebuilds the table on {mysql_label(ctx)}: every row is rewritten "
            "and replicas lag while they replay it",
            steps(
                first,
                "Otherwise run it with gh-ost / pt-online-schema-change, or in a quiet window "
                "with a short lock_wait_timeout.",
            ),
        )


def _ddl_items(op: Op, ctx: RuleContext) -> list[bool]:
    """One entry per DDL statement in ``op``: True when it works on an existing table."""
    if op.kind in DDL_KINDS:
        return [op.kind != "create_table" and not op.table_is_new]
    return [
        stmt.kind != "CREATE TABLE" and not is_new
        for stmt, is_new in sql_statements(op, ctx)
        if stmt.kind in DDL_SQL
    ]


def _rerunnable(op: Op, ctx: RuleContext) -> bool:
    """Every DDL statement of ``op`` is safe to run again (``if_not_exists=True`` /
    ``if_exists=True``, ``IF [NOT] EXISTS`` in raw SQL)."""
    if op.kind in DDL_KINDS:
        return bool(op.args.get("if_not_exists") or op.args.get("if_exists"))
    return all(
        re.search(r"\bIF (?:NOT )?EXISTS\b", stmt.norm) is not None
        for stmt, _ in sql_statements(op, ctx) if stmt.kind in DDL_SQL
    )


def _ddl_trigger(op: Op, ctx: RuleContext) -> tuple[Op | None, int]:
    """For the revision and phase of ``op``: the first op with a statement that can fail on
    live data (an ALTER of an existing table) while an earlier DDL statement of the
    revision is already committed, and how many DDL statements the revision runs.
    Computed once per unit, not once per op."""
    memo = run_memo(ctx)
    key = ("ddl_trigger", op.path, op.revision, op.phase)
    if key not in memo:
        before = 0
        total = 0
        trigger: Op | None = None
        rerunnable = True
        for other in unit_ops(op, ctx):
            items = _ddl_items(other, ctx)
            if items:
                rerunnable = rerunnable and _rerunnable(other, ctx)
            for on_existing in items:
                if on_existing and before >= 1 and trigger is None:
                    trigger = other
                before += 1
                total += 1
        # every statement re-runnable: a failure half-way is fixed by running it again
        memo[key] = (None if rerunnable else trigger, total)
    return memo[key]  # type: ignore[no-any-return]


@rule("SL303", "mysql-multiple-ddl", family="mysql", severity="warning", dialects=MYSQL,
      kinds=(*DDL_KINDS, "execute"), phases=UPGRADE)
def mysql_multiple_ddl(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Several DDL statements in one revision, on a database without transactional DDL.

    Why it is dangerous: MySQL and MariaDB commit every DDL statement on its own. If the
    third ALTER of a revision fails, the first two stay applied, but Alembic's version
    table still names the previous revision: re-running the upgrade fails on the first
    statement ("Duplicate column name") and someone has to repair the schema by hand,
    during the incident. Reported when a statement that can fail on live data (an ALTER
    of an existing table: duplicates, NULLs, lock timeouts) follows another DDL
    statement; creating new tables and their indexes together is not reported.

    Safe alternative:
    1. Put one DDL statement per revision, so a failure leaves a clean state to retry.
    2. Or make each statement safe to re-run (``if_not_exists=True`` / ``if_exists=True`` on
       Alembic 1.13+ ops, ``IF NOT EXISTS`` in raw SQL).
    """
    if op.phase != "upgrade" or not any(_ddl_items(op, ctx)):
        return
    trigger, total = _ddl_trigger(op, ctx)
    if trigger is not op:
        return
    yield Hit(
        f"this revision runs {total} DDL statements; {mysql_label(ctx)} commits each one on "
        "its own, so a failure half-way leaves the first ones applied and the revision "
        "impossible to re-run",
        steps(
            "Split the revision: one DDL statement per revision.",
            "Or make every statement re-runnable: if_not_exists=True / if_exists=True on the "
            "ops (IF NOT EXISTS / IF EXISTS in raw SQL).",
        ),
    )


@rule("SL304", "mysql-alter-column-without-existing", family="mysql", severity="warning",
      dialects=MYSQL, kinds=("alter_column",))
def mysql_alter_without_existing(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """``alter_column`` on MySQL without ``existing_type``/``existing_nullable``.

    Why it is dangerous: MySQL has no "change only this attribute" ALTER; Alembic emits
    ``MODIFY``/``CHANGE COLUMN`` with the complete column definition, built from the
    ``existing_*`` arguments. Without ``existing_type`` the migration fails; without
    ``existing_nullable`` a NOT NULL column silently becomes NULL-able; without
    ``existing_server_default`` its default is silently dropped.

    Safe alternative:
    1. Pass the column's full current definition: ``existing_type``, ``existing_nullable``,
       ``existing_server_default`` (and ``existing_comment``) to every ``alter_column``.
    2. Autogenerate writes them for you; copy them from the model when writing by hand.
    """
    if op.kind != "alter_column":
        return
    a = op.args
    if not any(k in a for k in ("type_", "nullable", "new_column_name", "comment")):
        return
    missing = []
    if not a.get("type_") and not a.get("existing_type"):
        missing.append("existing_type (the ALTER fails without it)")
    if "nullable" not in a and a.get("existing_nullable") is None:
        missing.append("existing_nullable (a NOT NULL column becomes NULL-able)")
    if not missing:
        return
    if "server_default" not in a and "existing_server_default" not in a:
        missing.append("existing_server_default (its default is dropped)")
    yield Hit(
        f"alter_column on {op.target} is rendered as MODIFY/CHANGE COLUMN on MySQL, which "
        f"redefines the whole column; missing {', '.join(missing)}",
        steps(
            f"Pass the current definition of {op.column}: existing_type=..., "
            "existing_nullable=..., existing_server_default=... (and existing_comment).",
            "Check the generated SQL with `alembic upgrade --sql` against MySQL.",
        ),
    )
