"""SL701 ``index-name-convention``. The check's docstring is the rule's documentation.

Fixtures: ``sl701_index_name_convention.fixtures/`` (``SL701_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL701_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.lint._naming import _matches
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL701", "index-name-convention", family="naming", severity="info",
      default_enabled=False, kinds=("create_index",), phases=UPGRADE)
def index_name_convention(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A new index whose name does not follow ``lint.index_name_pattern``.

    Why it is dangerous: names that follow one convention can be predicted, so a later
    revision (or a person at 3 a.m.) can drop or rebuild the index by name on every
    environment; ad-hoc or database-generated names differ between environments and
    make the next migration fail on one of them.

    Safe alternative:
    1. Name the index after the convention (default ``ix_<table>_<columns>``).
    2. Better, set ``naming_convention`` on your ``MetaData`` so autogenerate names
       everything the same way, and write ``op.f("ix_...")``.
    3. Enable this rule with ``enable = ["SL701"]`` in ``[tool.sluice.lint]``.
    """
    if op.kind != "create_index" or op.phase != "upgrade" or not op.name:
        return
    pattern = ctx.config.lint.index_name_pattern
    if _matches(pattern, op.name):
        return
    cols = op.args.get("columns")
    suggestion = f"ix_{op.table}_" + "_".join(str(c) for c in cols) \
        if isinstance(cols, (list, tuple)) and op.table else "ix_<table>_<columns>"
    yield Hit(
        f"index {op.name} on {op.target} does not match index_name_pattern {pattern!r}",
        steps(
            f"Rename it in this revision, e.g. {suggestion.lower()}.",
            "Set a naming_convention on your MetaData so autogenerate names indexes the same "
            "way.",
        ),
    )
