"""SL601 ``missing-downgrade``. The check's docstring is the rule's documentation.

Fixtures: ``sl601_missing_downgrade.fixtures/`` (``SL601_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL601_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.lint._script import adds_only_enum_values, changes_only_data
from sluice.rules.registry import RuleContext, rule


@rule("SL601", "missing-downgrade", family="script", severity="warning",
      kinds=("script.downgrade",))
def missing_downgrade(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A revision that changes the schema but whose downgrade does nothing.

    Why it is dangerous: ``alembic downgrade`` reports success and moves the version back
    while the schema stays as the upgrade left it; the next upgrade then fails on objects
    that already exist, in the middle of a rollback. Applies when the project's policy is
    ``downgrades = "required"`` (the default); with ``"optional"`` or ``"none"`` it is off.
    A downgrade that raises (``raise NotImplementedError(...)``) is an explicit
    "irreversible" marker and is never flagged. Nor is a downgrade that passes after an
    upgrade that only changes data (a session setting such as SQLite's ``PRAGMA
    foreign_keys=OFF`` and a temporary table made for the change included; a ``DROP
    TABLE`` of its name in another schema, or of a permanent table beside it, is a schema
    change), or only adds enum values (``ALTER TYPE ... ADD VALUE``):
    PostgreSQL cannot remove an enum value, and a downgrade that raised would block every
    downgrade through the chain, while leaving the value is harmless.

    Safe alternative:
    1. Write the inverse operations in ``downgrade()`` (autogenerate writes them).
    2. If the revision cannot be reversed, say so: ``raise NotImplementedError("irreversible:
       <why>")``, so a downgrade stops loudly instead of lying.
    3. If your team never writes downgrades, set ``downgrades = "none"`` in
       ``[tool.sluice]``.
    """
    if op.kind != "script.downgrade" or ctx.config.downgrades != "required":
        return
    kind = op.args.get("kind")
    count = int(op.args.get("upgrade_ops") or 0)
    if kind not in ("pass", "missing", "empty") or not count:
        return
    ops = f"{count} operation{'s' if count != 1 else ''}"
    none = f"If the project never writes downgrades: downgrades = \"none\" in {ctx.config.table()}."
    if kind == "missing":
        yield Hit(
            f"there is no downgrade() function although upgrade() runs {ops}; `alembic "
            "downgrade` past this revision stops with AttributeError (module has no attribute "
            "'downgrade'), in the middle of a rollback",
            steps(
                "Write downgrade() with the inverse operations.",
                "If it cannot be reversed: def downgrade(): raise "
                "NotImplementedError('irreversible: <why>').",
                none,
            ),
        )
        return
    detail = op.args.get("upgrade_detail")
    if changes_only_data(detail, ctx.dialect):
        return  # a data change with nothing to undo in the schema: the round trip holds
    if adds_only_enum_values(detail, ctx.dialect):
        return  # PostgreSQL cannot drop an enum value: passing is the only way through
    what = "downgrade() only passes" if kind == "pass" else "downgrade() runs no operation"
    yield Hit(
        f"{what} although upgrade() changes the schema ({ops}); `alembic downgrade` would "
        "report success and leave the schema changed",
        steps(
            "Write the inverse operations in downgrade().",
            "If it cannot be reversed: raise NotImplementedError('irreversible: <why>').",
            none,
        ),
    )
