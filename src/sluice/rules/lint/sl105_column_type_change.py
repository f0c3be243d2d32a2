"""SL105 ``column-type-change``. The check's docstring is the rule's documentation.

Fixtures: ``sl105_column_type_change.fixtures/`` (``SL105_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL105_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op, TypeInfo
from sluice.rules._util import sql_statements, steps
from sluice.rules.lint._compat import type_change_loses_data
from sluice.rules.lint._mysql import mariadb_modify_kind
from sluice.rules.registry import UPGRADE, RuleContext, rule

#: Type changes that keep the values and the Python type the ORM returns.
_SAFE_FOR_CODE = {("integer", "biginteger"), ("string", "text"),
                  # PostgreSQL's case-insensitive text reads back as str as well
                  ("string", "citext"), ("text", "citext"), ("citext", "text"),
                  ("citext", "string")}


@rule("SL105", "column-type-change", family="compat", severity="warning",
      kinds=("alter_column", "execute"), phases=UPGRADE)
def column_type_change(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A column type change that running code may not expect, or that cannot be verified.

    Why it is dangerous: even when no value is lost (see SL101 for changes that lose
    data), a new type changes what the application reads back: an integer that becomes
    NUMERIC comes back as ``Decimal``, a DATE that becomes a timestamp comes back as a
    ``datetime``; the release still running during the deploy and other services compare,
    serialise or format it the old way. Without ``existing_type`` Sluice cannot tell what
    the change does at all. (Naive to aware timestamps is a change on PostgreSQL only:
    MySQL's and SQLite's columns keep no time zone, and read back naive either way.)

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
        if old.family == new.family == "datetime" and old.timezone != new.timezone:
            if ctx.dialect in ("mysql", "sqlite"):
                return  # no zone is stored: SQLAlchemy reads naive datetimes either way
            yield Hit(
                f"changes {op.target} from {'aware' if old.timezone else 'naive'} to "
                f"{'aware' if new.timezone else 'naive'} timestamps; the application reads "
                "back datetimes of the other kind, and comparing the two raises TypeError",
                steps(
                    "Make the code handle both kinds (or convert on read) and deploy it first.",
                    "Then change the column, in a quiet moment or as a new column backfilled "
                    "in batches (see SL208).",
                ),
            )
            return
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
