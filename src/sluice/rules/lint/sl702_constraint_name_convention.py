"""SL702 ``constraint-name-convention``. The check's docstring is the rule's documentation.

Fixtures: ``sl702_constraint_name_convention.fixtures/`` (``SL702_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL702_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.lint._naming import _CONSTRAINT_KINDS, _matches
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL702", "constraint-name-convention", family="naming", severity="info",
      default_enabled=False, kinds=tuple(_CONSTRAINT_KINDS), phases=UPGRADE)
def constraint_name_convention(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A new constraint whose name does not follow ``lint.constraint_name_patterns``.

    Why it is dangerous: a constraint you cannot predict the name of is one you cannot
    drop portably: later revisions need its exact name, and database-generated names
    differ between PostgreSQL, MySQL and SQLite (SQLite keeps none at all).

    Safe alternative:
    1. Name the constraint after the convention for its kind (``uq_``, ``fk_``, ``ck_``,
       ``pk_`` by default).
    2. Set ``naming_convention`` on your ``MetaData`` and write ``op.f(...)`` names.
    3. Enable this rule with ``enable = ["SL702"]`` in ``[tool.sluice.lint]``.
    """
    kind = _CONSTRAINT_KINDS.get(op.kind)
    if kind is None or op.phase != "upgrade" or not op.name:
        return
    pattern = ctx.config.lint.constraint_name_patterns.get(kind)
    if not pattern or _matches(pattern, op.name):
        return
    prefix = {"unique": "uq", "foreign_key": "fk", "check": "ck", "primary_key": "pk"}[kind]
    yield Hit(
        f"{kind.replace('_', ' ')} constraint {op.name} on {op.target} does not match "
        f"{pattern!r}",
        steps(
            f"Rename it, e.g. {prefix}_{op.table}_<columns>.",
            "Set a naming_convention on your MetaData so autogenerate names constraints the "
            "same way.",
        ),
    )
