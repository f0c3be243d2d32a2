"""SL101 ``lossy-type-change``. The check's docstring is the rule's documentation.

Fixtures: ``sl101_lossy_type_change.fixtures/`` (``SL101_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL101_ok*.py`` must not).
"""

from __future__ import annotations

from sluice.core.ops import Hit, Op, TypeInfo
from sluice.rules._util import steps
from sluice.rules.lint._compat import type_change_loses_data
from sluice.rules.registry import UPGRADE, RuleContext, rule

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

    To JSON or JSONB nothing is truncated: the first value that is not valid JSON stops
    the ALTER and the migration fails (SQLite does not check, and keeps such values). On
    PostgreSQL, SL208 reports the table rewrite of the same change; this finding is about
    the values only and does not repeat SL208's steps.

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
    if ctx.dialect == "sqlite" and old is not None and new is not None \
            and old.family == new.family == "integer":
        return None  # INTEGER affinity: SQLite keeps any integer whatever the declared size
    reason = type_change_loses_data(old, new)
    if reason is None:
        return None
    if new is not None and old is not None and new.family == "json" and old.family != "json":
        return _to_json(op, ctx, old.name, new.name)
    return Hit(
        f"changes the type of {op.target}: {reason}",
        steps(
            f"Add a new nullable column next to {op.column} with the new type.",
            "Backfill it in batches (sluice.data.batched_update), converting explicitly.",
            "Switch the code to the new column and deploy.",
            f"Drop {op.column} in a later revision.",
        ),
    )


#: A query for the values that are not valid JSON, by dialect (``{t}`` table, ``{c}`` column).
_NOT_JSON = {
    "postgresql": "SELECT {c} FROM {t} WHERE {c} IS NOT JSON (PostgreSQL 16+)",
    "mysql": "SELECT {c} FROM {t} WHERE NOT JSON_VALID({c})",
    "sqlite": "SELECT {c} FROM {t} WHERE NOT json_valid({c})",
}


def _to_json(op: Op, ctx: RuleContext, old: str, new: str) -> Hit:
    """A change to JSON/JSONB: nothing is truncated; a value that is not JSON stops it."""
    table, column = op.table or "<table>", op.column or "<column>"
    find = _NOT_JSON.get(ctx.dialect or "", _NOT_JSON["postgresql"]).format(t=table, c=column)
    if ctx.dialect == "sqlite":
        return Hit(
            f"changes the type of {op.target}: {old} becomes {new}; SQLite does not check "
            "the values, so text that is not valid JSON stays and fails later, in the code "
            "that parses it",
            steps(f"Find the values that are not valid JSON and fix them: {find}.",
                  "Then run the migration, and keep a CHECK (json_valid(...)) if the code "
                  "relies on it."),
        )
    then = ("Convert through a new column as SL208 describes (the ALTER also rewrites the "
            "table), so a bad value fails one batch, not the deploy."
            if ctx.dialect == "postgresql" else
            f"Or convert through a new column: add it nullable, backfill it in batches "
            f"(sluice.data.batched_update), switch the code, drop {column} later.")
    return Hit(
        f"changes the type of {op.target}: {old} becomes {new}; the migration fails on the "
        "first value that is not valid JSON (nothing is truncated)",
        steps(f"Before the deploy, find the values that are not valid JSON and fix them: "
              f"{find}.", then),
    )
