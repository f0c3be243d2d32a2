"""SL904 ``unknown-suppression-rule``. The check's docstring is the rule's documentation.

Fixtures: ``sl904_unknown_suppression_rule.fixtures/`` (``SL904_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL904_ok*.py`` must not).
"""

from __future__ import annotations

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.registry import RuleContext, rule


@rule("SL904", "unknown-suppression-rule", family="meta", severity="warning",
      kinds=("lint.suppression_unknown_rule",))
def unknown_suppression_rule(op: Op, ctx: RuleContext) -> Hit | None:
    """A ``# sluice: ignore[...]`` comment names a rule that does not exist.

    Why it matters: a typo in the rule id means the suppression silences nothing, and the
    finding it was meant for is either still reported or, worse, the comment gives a
    reader the impression that the operation was reviewed.

    Safe alternative:
    1. Check the id or name with ``sluice rules`` and correct it.
    """
    if op.kind != "lint.suppression_unknown_rule":
        return None
    unknown = ", ".join(op.args.get("unknown", []))
    return Hit(
        f"suppression names unknown rule {unknown}",
        steps("List the catalog with `sluice rules` and use a real rule id or name."),
    )
