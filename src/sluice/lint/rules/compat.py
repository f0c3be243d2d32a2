"""Changes that break running code or rewrite data: types, nullability, renames, defaults."""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.lint.model import Hit, Op, TypeInfo
from sluice.lint.registry import UPGRADE, RuleContext, rule
from sluice.lint.rules._rebuild import position, renamed_back
from sluice.lint.rules._util import (
    RUNTIME_TABLE,
    column_label,
    has_default,
    sql_statements,
    steps,
    unit_ops,
)
from sluice.lint.rules.mysql import mariadb_modify_kind

#: Type changes that never lose data: (from family, to family).
_WIDENING = {
    ("integer", "biginteger"),
    ("integer", "numeric"),
    ("string", "citext"),
    ("text", "citext"),
    ("citext", "text"),
    ("biginteger", "numeric"),
    ("string", "text"),
    ("integer", "float"),
    ("date", "datetime"),
    ("json", "text"),
    ("uuid", "text"),
    ("uuid", "string"),
    ("integer", "text"),
    ("biginteger", "text"),
}


def type_change_loses_data(old: TypeInfo | None, new: TypeInfo | None) -> str | None:
    """Why changing ``old`` to ``new`` can lose data, or None when it cannot."""
    if old is None or new is None:
        return None
    if old.family == new.family:
        if old.length is not None and (new.length is None or new.length >= old.length):
            return None
        if old.family == "string" and old.length is None and new.length is not None:
            return f"an unbounded {old.name} becomes {new.name}({new.length})"
        if old.length is not None and new.length is not None and new.length < old.length:
            return f"length shrinks from {old.length} to {new.length}"
        if old.precision is not None and new.precision is not None:
            if new.precision < old.precision or (new.scale or 0) < (old.scale or 0):
                return "precision or scale shrinks"
        return None
    if (old.family, new.family) in _WIDENING:
        return None
    if old.family in ("text", "citext") and new.family == "string":
        if new.length is None:
            return None  # VARCHAR without a length holds any text
        return f"{old.name} becomes {new.name}({new.length})"
    return f"{old.name} becomes {new.name}; values that do not convert fail or are truncated"


#: Type families with TEXT affinity on SQLite, whatever length they declare.
_SQLITE_TEXT = {"string", "text"}


@rule("SL101", "lossy-type-change", family="compat", severity="error", autogenerate=True,
      kinds=("alter_column",), phases=UPGRADE)
def lossy_type_change(op: Op, ctx: RuleContext) -> Hit | None:
    """A column type change that can truncate, round or reject existing values.

    Why it is dangerous: narrowing a type (shorter VARCHAR, smaller integer, lower numeric
    precision, a different type family) either fails halfway on a value that does not fit
    or, on MySQL without strict mode, silently truncates it. Most databases also rewrite
    the whole table under an exclusive lock to do it.

    Safe alternative:
    1. Add a new column with the new type (nullable).
    2. Backfill it in batches (``sluice.data.batched_update``), converting explicitly.
    3. Switch the code to the new column, deploy.
    4. Drop the old column in a later revision.
    """
    if op.kind != "alter_column" or "type_" not in op.args or op.table_is_new:
        return None
    if op.phase != "upgrade":
        return None
    old = TypeInfo.parse(op.args.get("existing_type"))
    new = TypeInfo.parse(op.args.get("type_"))
    if ctx.dialect == "sqlite" and old is not None and new is not None \
            and {old.family, new.family} <= _SQLITE_TEXT:
        return None  # SQLite ignores a declared length: TEXT affinity keeps every value
    reason = type_change_loses_data(old, new)
    if reason is None:
        return None
    return Hit(
        f"changes the type of {op.target}: {reason}",
        steps(
            f"Add a new nullable column next to {op.column} with the new type.",
            "Backfill it in batches (sluice.data.batched_update), converting explicitly.",
            "Switch the code to the new column and deploy.",
            f"Drop {op.column} in a later revision.",
        ),
    )


@rule("SL102", "set-not-null-without-default", family="compat", severity="error",
      autogenerate=True, kinds=("alter_column",), phases=UPGRADE)
def set_not_null_without_default(op: Op, ctx: RuleContext) -> Hit | None:
    """Making an existing column NOT NULL without a server default.

    Why it is dangerous: the ALTER fails if any row holds NULL, and code that still inserts
    without the column (the previous release during a rolling deploy) starts failing. On
    PostgreSQL it also scans the whole table under an ACCESS EXCLUSIVE lock.

    Safe alternative:
    1. Give the column a server default and make every code path write it; deploy.
    2. Backfill NULLs in batches (``sluice.data.batched_update``).
    3. On PostgreSQL, add ``CHECK (col IS NOT NULL) NOT VALID``, then ``VALIDATE
       CONSTRAINT`` (no long lock), then SET NOT NULL, which then skips the scan.
    """
    if op.kind != "alter_column" or op.args.get("nullable") is not False or op.table_is_new:
        return None
    if op.phase != "upgrade":
        return None
    if op.args.get("existing_nullable") is False:
        return None
    if has_default(op.args.get("server_default")) or has_default(
        op.args.get("existing_server_default")
    ):
        return None
    if op.table and op.column and (op.table.lower(), op.column.lower()) in \
            _added_with_default_before(op, ctx):
        return None  # existing rows got the default when the column was added
    return Hit(
        f"makes {op.target} NOT NULL without a server default; fails on existing NULLs and "
        "breaks code that does not write the column",
        steps(
            f"Add a server default to {op.column} and make every insert write it; deploy.",
            f"Backfill NULLs in batches: sluice.data.batched_update('{op.table}', "
            f"{{'{op.column}': ...}}, where=<col> IS NULL).",
            "Then set NOT NULL in a later revision (on PostgreSQL via a NOT VALID check "
            "constraint validated first).",
        ),
    )


@rule("SL103", "rename-column", family="compat", severity="error",
      kinds=("alter_column", "execute"), phases=UPGRADE)
def rename_column(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Renaming a column breaks every running instance that still uses the old name.

    Why it is dangerous: during a deploy the old release keeps running until the new one
    is up, and its queries name the old column; the moment the rename commits they fail.
    Caches, reports, other services and ORM models compiled against the old name break
    the same way, and a rollback of the code does not rename it back.

    Safe alternative:
    1. Add the new column (nullable) and make the code write both columns; deploy.
    2. Backfill the new column from the old one in batches (``sluice.data.batched_update``).
    3. Switch reads to the new column; deploy.
    4. Stop writing the old column; deploy, then drop it in a later revision.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "alter_column" and op.args.get("new_column_name") and not op.table_is_new:
        if (str(op.table).lower(), str(op.column).lower()) in _added_before(op, ctx):
            return  # added earlier in this revision: no running code knows it yet
        yield _rename_column_hit(op.table, op.column, str(op.args["new_column_name"]))
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            if act.kind == "rename_column":
                if (str(stmt.table).lower(), str(act.column).lower()) in _added_before(op,
                                                                                      ctx):
                    continue
                yield _rename_column_hit(stmt.table, act.column, act.name or "<new>")


def _added_with_default_before(op: Op, ctx: RuleContext) -> set[tuple[str, str]]:
    """(table, column), lower-cased, of the columns the revision adds with a server default
    before ``op`` (and does not strip of it again)."""
    out: set[tuple[str, str]] = set()
    for other in unit_ops(op, ctx):
        if other is op:
            break
        key = ((other.table or "").lower(), (other.column or "").lower())
        if other.kind == "add_column" and has_default(other.args.get("server_default")):
            out.add(key)
        elif other.kind == "alter_column" and "server_default" in other.args \
                and not has_default(other.args.get("server_default")):
            out.discard(key)
        for stmt, _ in sql_statements(other, ctx):
            for act in stmt.actions if stmt.kind == "ALTER TABLE" and stmt.table else ():
                if act.kind == "add_column" and act.column and act.default is not None:
                    out.add((str(stmt.table).lower(), act.column.lower()))
    return out


def _added_before(op: Op, ctx: RuleContext) -> set[tuple[str, str]]:
    """(table, column), lower-cased, of the columns the revision adds before ``op``."""
    out: set[tuple[str, str]] = set()
    for other in unit_ops(op, ctx):
        if other is op:
            break
        if other.kind == "add_column" and other.table and other.column:
            out.add((other.table.lower(), other.column.lower()))
        for stmt, _ in sql_statements(other, ctx):
            for act in stmt.actions if stmt.kind == "ALTER TABLE" and stmt.table else ():
                if act.kind == "add_column" and act.column:
                    out.add((str(stmt.table).lower(), act.column.lower()))
    return out


def _rename_column_hit(table: str | None, old: str | None, new: str) -> Hit:
    target = column_label(table, old)
    old = old or "the old column"
    return Hit(
        f"renames {target} to {new}; the release still running during the deploy "
        f"queries {old} and fails until it is replaced",
        steps(
            f"Add {table or 'the table'}.{new} as a new nullable column and make the code write both "
            f"{old} and {new}; deploy.",
            f"Backfill {new} from {old} in batches (sluice.data.batched_update).",
            f"Switch reads to {new}; deploy.",
            f"Stop writing {old}, deploy, then drop it in a later revision.",
        ),
    )


@rule("SL104", "rename-table", family="compat", severity="error", kinds=("rename_table", "execute"),
      phases=UPGRADE)
def rename_table(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Renaming a table breaks every running instance that still uses the old name.

    Why it is dangerous: the release still running during a deploy, background workers,
    other services and reporting jobs all query the old name and fail from the moment
    the rename commits. Foreign keys and sequences follow the rename, code does not.

    Safe alternative:
    1. Create the new table, or keep the old one and add a view with the new name
       (on PostgreSQL a simple view over one table is updatable).
    2. Make the code write to both (or to the updatable view) and backfill in batches.
    3. Switch reads to the new name; deploy.
    4. Drop the old table (or the view) in a later revision once nothing uses it.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "rename_table" and not op.table_is_new:
        new = op.args.get("new_table_name")
        if op.table and isinstance(new, str) and renamed_back(op, ctx, op.table, new,
                                                              position(op, ctx)):
            return
        yield _rename_table_hit(op.table or RUNTIME_TABLE,
                                str(new or "a name computed at run time"))
        return
    for j, (stmt, is_new) in enumerate(sql_statements(op, ctx)):
        if is_new:
            continue
        if stmt.kind == "RENAME TABLE":
            m = re.match(r"RENAME TABLE \S+ TO ([\"`\w.]+)", stmt.norm)
            new = m.group(1).split(".")[-1].strip('"`').lower() if m else "<new>"
            yield _rename_table_hit(stmt.table or "the table", new)
        elif stmt.kind == "ALTER TABLE":
            for act in stmt.actions:
                if act.kind == "rename_table" and not (
                        stmt.table and act.name
                        and renamed_back(op, ctx, stmt.table, act.name, position(op, ctx, j))):
                    yield _rename_table_hit(stmt.table or "the table", act.name or "<new>")


def _rename_table_hit(old: str, new: str) -> Hit:
    what = old if old == RUNTIME_TABLE else f"table {old}"
    return Hit(
        f"renames {what} to {new}; every query still using {old} (the running "
        "release, workers, other services) fails at once",
        steps(
            f"Create {new} (or a view named {new} over {old}) and make the code write to it "
            "as well; deploy.",
            f"Backfill {new} from {old} in batches if they are separate tables.",
            f"Switch reads to {new}; deploy.",
            f"Drop {old} (or the view) in a later revision once nothing uses it.",
        ),
    )


#: Type changes that keep the values and the Python type the ORM returns.
_SAFE_FOR_CODE = {("integer", "biginteger"), ("string", "text")}


@rule("SL105", "column-type-change", family="compat", severity="warning",
      kinds=("alter_column", "execute"), phases=UPGRADE)
def column_type_change(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A column type change that running code may not expect, or that cannot be verified.

    Why it is dangerous: even when no value is lost (see SL101 for changes that lose
    data), a new type changes what the application reads back: an integer that becomes
    NUMERIC comes back as ``Decimal``, a DATE that becomes a timestamp comes back as a
    ``datetime``; the release still running during the deploy and other services compare,
    serialise or format it the old way. Without ``existing_type`` Sluice cannot tell what
    the change does at all.

    Safe alternative:
    1. Give ``alter_column`` the ``existing_type`` so the change can be reviewed.
    2. For a real type change, add a new column with the new type, backfill it in batches
       and switch the code to it (expand, migrate, contract).
    3. Drop the old column in a later revision.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "alter_column" and op.args.get("type_") and not op.table_is_new:
        old = TypeInfo.parse(op.args.get("existing_type"))
        new = TypeInfo.parse(op.args.get("type_"))
        if new is None:
            return
        if old is None:
            yield Hit(
                f"changes the type of {op.target} to {op.args['type_']} without existing_type;"
                " the change cannot be checked for lost data or code that reads the column",
                steps(
                    f"Add existing_type=<current type> to the alter_column on {op.target}.",
                    "Run sluice lint again to see whether the change is safe.",
                ),
            )
            return
        if type_change_loses_data(old, new) is not None:
            return  # SL101
        if old.family == new.family or (old.family, new.family) in _SAFE_FOR_CODE:
            return
        if old.family == "text" and new.family == "string" and new.length is None:
            return  # both read back as str; binary-coercible on PostgreSQL
        yield Hit(
            f"changes {op.target} from {old.name} to {new.name}; the application reads "
            "back a different Python type, and the release still running during the deploy "
            "does not expect it",
            steps(
                f"Add a new column next to {op.column} with type {new.name}; deploy code "
                "that writes both.",
                "Backfill it in batches (sluice.data.batched_update).",
                "Switch reads to the new column and deploy.",
                f"Drop {op.column} in a later revision.",
            ),
        )
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            if act.kind == "alter_type" and mariadb_modify_kind(act, ctx) != "reorder":
                yield Hit(
                    f"changes the type of {stmt.table}.{act.column} in raw SQL; the old type "
                    "is unknown, so lost values and code reading the column cannot be checked",
                    steps(
                        f"Prefer op.alter_column('{stmt.table}', '{act.column}', type_=..., "
                        "existing_type=...) so the change can be reviewed.",
                        "For a real type change: add a new column, backfill it in batches, "
                        "switch the code, drop the old column later.",
                    ),
                )


@rule("SL106", "add-not-null-column-without-default", family="compat", severity="error",
      kinds=("add_column", "execute"), phases=UPGRADE)
def add_not_null_without_default(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Adding a NOT NULL column without a server default to an existing table.

    Why it is dangerous: every existing row would hold NULL, so PostgreSQL and SQLite
    refuse the ALTER as soon as the table has a row (the migration fails in production
    after passing on an empty dev database), and MySQL silently fills in 0 or ''.
    The release still running during the deploy does not write the column, so its
    inserts fail once the column exists.

    Safe alternative:
    1. Add the column as nullable, or with a ``server_default`` the old code can rely on.
    2. Backfill existing rows in batches (``sluice.data.batched_update``).
    3. Make it NOT NULL in a later revision (on PostgreSQL via a ``NOT VALID`` check
       constraint validated first, see SL206).
    """
    if op.phase != "upgrade":
        return
    if op.kind == "add_column" and not op.table_is_new:
        if op.args.get("nullable") is not False or has_default(op.args.get("server_default")):
            return
        if op.args.get("primary_key") or op.args.get("identity") or op.args.get("computed"):
            return
        yield Hit(
            f"adds {op.target} as NOT NULL without a server default; fails on a table that "
            "has rows (PostgreSQL, SQLite), fills 0/'' silently on MySQL, and breaks "
            "inserts from the release still running",
            steps(
                f"Add {op.column} as nullable: sa.Column('{op.column}', ..., nullable=True) "
                "(or give it a server_default the old code can live with).",
                f"Backfill {op.table}.{op.column} in batches (sluice.data.batched_update).",
                f"Set NOT NULL in a later revision: op.alter_column('{op.table}', "
                f"'{op.column}', nullable=False, existing_type=...).",
            ),
        )
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            if act.kind == "add_column" and act.not_null and not act.default \
                    and "PRIMARY KEY" not in act.text.upper() \
                    and "GENERATED" not in act.text.upper():
                yield Hit(
                    f"adds {stmt.table}.{act.column} as NOT NULL without DEFAULT; fails on a "
                    "table that has rows and breaks inserts from the release still running",
                    steps(
                        f"Add {act.column} as nullable (or with a DEFAULT).",
                        f"Backfill {stmt.table}.{act.column} in batches.",
                        "Set NOT NULL in a later revision.",
                    ),
                )


@rule("SL107", "drop-server-default", family="compat", severity="warning",
      kinds=("alter_column", "execute"), phases=UPGRADE)
def drop_server_default(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Dropping a column's server default that running code may rely on.

    Why it is dangerous: code that inserts rows without naming the column (the release
    still running during the deploy, raw SQL in jobs, other services) silently gets NULL
    from then on, or fails if the column is NOT NULL.

    Safe alternative:
    1. Make every code path write the column explicitly (or set a Python-side default in
       the model); deploy that.
    2. Drop the server default in a later revision.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "alter_column" and not op.table_is_new and "server_default" in op.args:
        if op.args["server_default"] is not None:
            return
        old = op.args.get("existing_server_default")
        was = f" (was {old})" if old else ""
        yield _drop_default_hit(op.table or "TABLE", op.column or "COLUMN", was)
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            if act.kind == "drop_default":
                yield _drop_default_hit(stmt.table or "TABLE", act.column or "COLUMN", "")


def _drop_default_hit(table: str, column: str, was: str) -> Hit:
    return Hit(
        f"drops the server default of {table}.{column}{was}; inserts that omit the column "
        "(the release still running, jobs, other services) now get NULL or fail",
        steps(
            f"Make every insert into {table} write {column} explicitly; deploy that.",
            f"Drop the default in a later revision: op.alter_column('{table}', '{column}', "
            "server_default=None, existing_type=...).",
        ),
    )
