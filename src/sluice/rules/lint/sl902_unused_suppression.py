"""SL902 ``unused-suppression``. The check's docstring is the rule's documentation.

Fixtures: ``sl902_unused_suppression.fixtures/`` (``SL902_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL902_ok*.py`` must not).
"""

from __future__ import annotations

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.registry import RuleContext, rule


@rule("SL902", "unused-suppression", family="meta", severity="info",
      kinds=("lint.unused_suppression",))
def unused_suppression(op: Op, ctx: RuleContext) -> Hit | None:
    """A ``# sluice: ignore[...]`` comment silences nothing.

    Why it matters: stale suppressions hide the next real finding on the same line (or in
    the same file, for file-level ones) without anyone noticing. They usually remain after
    the operation was moved or rewritten, or when the rule is disabled in the config.

    Safe alternative:
    1. Delete the suppression, or move it to the line the finding points at.
    """
    if op.kind != "lint.unused_suppression":
        return None
    unused = ", ".join(op.args.get("unused", []))
    scope = "in this file" if op.args.get("scope") == "file" else "on this line"
    return Hit(
        f"suppression of {unused} is unused: no such finding {scope}",
        steps("Delete the suppression, or move it to the line the finding points at."),
    )
