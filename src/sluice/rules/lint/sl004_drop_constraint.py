"""SL004 ``drop-constraint``. The check's docstring is the rule's documentation.

Fixtures: ``sl004_drop_constraint.fixtures/`` (``SL004_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL004_ok*.py`` must not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._notnull import dropped_check_was_redundant
from sluice.rules._renames import earlier_names, named_after
from sluice.rules._sql import Action
from sluice.rules._util import (
    TableRef,
    constraint_label,
    dropped_tables,
    op_table,
    sql_statements,
    statement_table,
    steps,
    table_ref,
    unit_ops,
)
from sluice.rules.lint._destructive import _TRANSACTIONAL_DDL, _index_column_dropped
from sluice.rules.lint._naming import pg_default_name
from sluice.rules.registry import UPGRADE, RuleContext, rule


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

    Not reported when the revision creates the constraint again after the drop: under the
    same name, or an equivalent one of the same kind on the columns the dropped name is
    made of, following table and column renames in between (the usual way to change a
    foreign key's ``ON DELETE``). On a dialect with transactional DDL (PostgreSQL, SQLite)
    no transaction ever sees the table without it; on MySQL, which commits each statement,
    only when no SQL statement (a data change) runs between the drop and the re-create,
    so the table goes without it for no longer than the two statements take (the cost of
    building a foreign key there is SL301's). A constraint created on the table of that
    name in another schema does not put it back.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "execute":
        for stmt, is_new in sql_statements(op, ctx):
            if stmt.kind != "ALTER TABLE" or is_new or (
                    statement_table(stmt) in dropped_tables(op, ctx)):
                continue
            for act in stmt.actions:
                primary = act.kind == "drop_primary_key" or _looks_primary(act.name)
                if (act.kind == "drop_primary_key" or (
                        act.kind == "drop_constraint"
                        and not re.match(r"DROP (?:INDEX|KEY)\b", act.text.strip(), re.I))) \
                        and not _recreated_later(op, ctx, statement_table(stmt), act.name,
                                                 primary) \
                        and not dropped_check_was_redundant(op, ctx, statement_table(stmt),
                                                            act.name):
                    yield _drop_constraint_hit(act, stmt.table)
        return
    if op.kind != "drop_constraint" or op.table_is_new:
        return
    if op.table and table_ref(op.table, op.schema) in dropped_tables(op, ctx):
        return
    type_ = str(op.args.get("type_") or "")
    primary = type_ == "primary" or _looks_primary(op.name)
    if _recreated_later(op, ctx, op_table(op), op.name, primary,
                        foreign_key=type_ == "foreignkey", type_=type_):
        return
    if _index_column_dropped(op, ctx):
        return  # its column is dropped too, and the constraint with it
    if dropped_check_was_redundant(op, ctx, op_table(op), op.name):
        return  # CHECK (col IS NOT NULL) after SET NOT NULL: the column enforces it now
    kind = {"foreignkey": "foreign key", "primary": "primary key"}.get(type_, type_) \
        or "constraint"
    label = constraint_label(f"{kind} constraint" if kind != "constraint" else kind, op.name,
                             op.target if op.table else None)
    yield Hit(
        f"drops {label}; invalid rows can be written from then on",
        steps(
            "Confirm nothing relies on the constraint to keep the data valid.",
            "Drop it in a revision of its own so it can be reviewed and reverted alone.",
        ),
    )


_CREATES_CONSTRAINT = {"create_foreign_key", "create_unique_constraint",
                       "create_check_constraint", "create_primary_key",
                       "create_exclude_constraint"}


_KIND_BY_PREFIX = {"fk_": "create_foreign_key", "uq_": "create_unique_constraint",
                   "pk_": "create_primary_key"}
_KIND_BY_TYPE = {"foreignkey": "create_foreign_key", "unique": "create_unique_constraint",
                 "primary": "create_primary_key"}


def _replaces(name: str, kind: str | None, table: TableRef, o: Op, before: list[Op]) -> bool:
    """``o`` creates a constraint of ``kind`` (when known) on ``table`` (as renamed since),
    on columns the dropped constraint ``name`` is named after."""
    if not name or o.kind not in _KIND_BY_TYPE.values() or (kind and o.kind != kind):
        return False
    made_on = op_table(o)
    if table not in earlier_names(before, made_on)[0]:
        return False
    columns = o.args.get("local_cols") or o.args.get("columns")
    return named_after(name, before, made_on, columns)


def _looks_primary(name: str | None) -> bool:
    low = (name or "").lower()
    return low.endswith("_pkey") or low.startswith("pk_")


def _recreated_later(op: Op, ctx: RuleContext, table: TableRef | None, name: str | None,
                     primary: bool, foreign_key: bool = False, type_: str | None = None
                     ) -> bool:
    """The revision creates the constraint again (the same name on the same table, or any primary key for a primary key; with
    ``foreign_key``, a foreign key that PostgreSQL named (``<table>_<columns>_fkey``) re-created unnamed on
    the table, so that PostgreSQL names it again, after a column rename under another
    name: the usual way to change ON DELETE) after ``op``; or an equivalent one: of the
    same kind, on the columns the dropped name is made of, following table and column
    renames in between (``fk_block__spec_id__spec`` dropped, ``spec_id`` renamed
    ``schema_id``, a foreign key on ``schema_id`` created); without transactional DDL
    (MySQL), with no data change in between. The table is ``table`` in its schema: a
    constraint created on the table of that name in another schema is another's."""
    if not table:
        return False
    transactional = ctx.dialect in _TRANSACTIONAL_DDL
    name = (name or "").lower()
    unit = unit_ops(op, ctx)
    start = next((i for i, o in enumerate(unit) if o is op), len(unit))
    kind = _KIND_BY_PREFIX.get(name[:3]) or _KIND_BY_TYPE.get(type_ or "")
    for i, o in enumerate(unit[start:]):
        if not transactional and i and o.kind in ("execute", "bulk_insert") \
                and not _ddl_only(o, ctx):
            return False  # committed on its own: rows written without the constraint
        made = (o.name or pg_default_name(o, ctx.dialect)).lower()
        if o.kind in _CREATES_CONSTRAINT and op_table(o) == table and (
                (name and made == name)
                or (primary and o.kind == "create_primary_key")
                or (foreign_key and o.kind == "create_foreign_key" and o.args.get("unnamed")
                    and name.startswith(f"{table[1]}_") and name.endswith("_fkey"))):
            return True
        if _replaces(name, kind, table, o, unit[:start + i]):
            return True
        for stmt, _ in sql_statements(o, ctx):
            if stmt.kind != "ALTER TABLE" or statement_table(stmt) != table:
                continue
            for act in stmt.actions:
                if act.kind == "add_constraint" and (
                        (name and (act.name or "").lower() == name)
                        or (primary and act.constraint == "primary_key")):
                    return True
    return False


def _ddl_only(o: Op, ctx: RuleContext) -> bool:
    """``o`` is SQL that only alters tables (adds the constraint back, say): no data."""
    stmts = [stmt for stmt, _ in sql_statements(o, ctx)]
    return bool(stmts) and all(stmt.kind == "ALTER TABLE" for stmt in stmts)


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
