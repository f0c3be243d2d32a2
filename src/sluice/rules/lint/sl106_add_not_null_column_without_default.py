"""SL106 ``add-not-null-column-without-default``. The check's docstring is the rule's documentation.

Fixtures: ``sl106_add_not_null_column_without_default.fixtures/`` (``SL106_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL106_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import has_default, sql_statements, steps
from sluice.rules.registry import UPGRADE, RuleContext, rule


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
            f"adds {op.target} as NOT NULL without a server default; {_on_rows(ctx)}, and "
            "breaks inserts from the release still running",
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


def _on_rows(ctx: RuleContext) -> str:
    """What the ALTER does to a table that has rows, on the linted dialect."""
    if ctx.dialect == "postgresql":
        return "PostgreSQL refuses it as soon as the table has a row"
    if ctx.dialect == "sqlite":
        return "SQLite refuses it as soon as the table has a row"
    if ctx.dialect == "mysql":
        return "MySQL silently fills existing rows with the type's implicit default (0, '')"
    return ("it fails on a table that has rows (PostgreSQL, SQLite) or fills 0/'' silently "
            "(MySQL)")
