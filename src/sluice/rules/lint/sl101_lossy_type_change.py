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
    return Hit(
        f"changes the type of {op.target}: {reason}",
        steps(
            f"Add a new nullable column next to {op.column} with the new type.",
            "Backfill it in batches (sluice.data.batched_update), converting explicitly.",
            "Switch the code to the new column and deploy.",
            f"Drop {op.column} in a later revision.",
        ),
    )
