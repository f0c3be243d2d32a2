"""SL901 ``suppression-without-reason``. The check's docstring is the rule's documentation.

Fixtures: ``sl901_suppression_without_reason.fixtures/`` (``SL901_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL901_ok*.py`` must not).
"""

from __future__ import annotations

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.registry import RuleContext, rule


@rule("SL901", "suppression-without-reason", family="meta", severity="warning",
      kinds=("lint.suppression_without_reason",))
def suppression_without_reason(op: Op, ctx: RuleContext) -> Hit | None:
    """A ``# sluice: ignore[...]`` comment does not say why.

    Why it matters: a suppression is a decision that a dangerous operation is safe here.
    Without the reason, the next person (or you, at 3 a.m.) cannot tell a deliberate,
    reviewed exception from a silenced warning nobody understood.

    Safe alternative:
    1. Write the reason after the bracket: ``# sluice: ignore[SL002] column unused since
       v4.2, data exported to the archive bucket``.
    """
    if op.kind != "lint.suppression_without_reason":
        return None
    rules = ", ".join(op.args.get("rules", []))
    return Hit(
        f"suppression of {rules} gives no reason",
        steps(f"Say why it is safe after the bracket: # sluice: ignore[{rules}] <reason>."),
    )
