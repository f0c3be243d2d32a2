"""SL703 ``unnamed-constraint``. The check's docstring is the rule's documentation.

Fixtures: ``sl703_unnamed_constraint.fixtures/`` (``SL703_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL703_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.lint._naming import _CONSTRAINT_KINDS
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL703", "unnamed-constraint", family="naming", severity="warning",
      kinds=tuple(_CONSTRAINT_KINDS), phases=UPGRADE)
def unnamed_constraint(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A constraint created with ``name=None``: the database invents the name.

    Why it is dangerous: every database picks a different name (PostgreSQL
    ``users_email_key``, MySQL the column name, SQLite none at all), so a later revision
    cannot drop or alter it portably; on SQLite, ``batch_alter_table`` cannot drop an
    unnamed constraint at all (Alembic raises). The fix later is a hand-written,
    per-dialect revision.

    Safe alternative:
    1. Give the constraint an explicit name (``uq_<table>_<columns>`` ...).
    2. Set ``naming_convention`` on your ``MetaData`` so autogenerate always names them.
    """
    kind = _CONSTRAINT_KINDS.get(op.kind)
    if kind is None or op.phase != "upgrade" or op.name:
        return
    if op.source == "static" and not op.args.get("unnamed"):
        return  # the name is computed at run time, not missing
    prefix = {"unique": "uq", "foreign_key": "fk", "check": "ck", "primary_key": "pk"}[kind]
    yield Hit(
        f"creates an unnamed {kind.replace('_', ' ')} constraint on {op.target}; each "
        "database invents a different name, so no later revision can drop it portably",
        steps(
            f"Name it: {op.kind}('{prefix}_{op.table}_<columns>', '{op.table}', ...).",
            "Set a naming_convention on your MetaData so autogenerate names every "
            "constraint.",
        ),
    )
