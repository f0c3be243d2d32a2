"""What the rule files of the ``postgres-locking`` family share.

PostgreSQL locking (SL2xx): statements that block reads or writes on a live table.
Every rule of the family ignores tables created earlier in the same revision: nobody else
can be waiting on a table that did not exist before the migration started.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import constraint_label, sql_statements, steps
from sluice.rules.registry import RuleContext

PG = ("postgresql",)


AUTOCOMMIT = "with op.get_context().autocommit_block():"


#: PostgreSQL's reserved key words (its documentation's appendix "SQL Key Words": reserved,
#: and reserved but allowed as a function or type name): as a table or column name, each
#: must be quoted.
_RESERVED = frozenset("""
all analyse analyze and any array as asc asymmetric authorization binary both case cast
check collate collation column concurrently constraint create cross current_catalog
current_date current_role current_schema current_time current_timestamp current_user
default deferrable desc distinct do else end except false fetch for foreign freeze from
full grant group having ilike in initially inner intersect into is isnull join lateral
leading left like limit localtime localtimestamp natural not notnull null offset on only
or order outer overlaps placing primary references returning right select session_user
similar some symmetric system_user table tablesample then to trailing true union unique
user using variadic verbose when where window with
""".split())
_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")


def pg_ident(name: str) -> str:
    """``name`` as PostgreSQL SQL must spell it: quoted when it is a reserved word or not
    a plain lower-case identifier (``case`` -> ``"case"``, ``Orders`` -> ``"Orders"``);
    as given when already quoted or a placeholder (``<name>``)."""
    if name.startswith(('"', "<")) or (_PLAIN.fullmatch(name) and name not in _RESERVED):
        return name
    return '"' + name.replace('"', '""') + '"'


def spaced(name: str | None) -> str:
    """`` name`` for a message, or nothing when the SQL did not say."""
    return f" {name}" if name else ""


def is_concurrent(op: Op) -> bool:
    return bool(op.args.get("postgresql_concurrently"))


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
                f"op.execute('ALTER TABLE {pg_ident(op.table or '')} VALIDATE CONSTRAINT "
                f"{pg_ident(name)}'), which "
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
