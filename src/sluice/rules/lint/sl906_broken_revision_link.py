"""SL906 ``broken-revision-link``. The check's docstring is the rule's documentation.

A meta rule: the lint engine makes its op from the revision graph (no fixtures).
"""

from __future__ import annotations

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.registry import RuleContext, rule


@rule("SL906", "broken-revision-link", family="meta", severity="error",
      kinds=("lint.broken_link",))
def broken_revision_link(op: Op, ctx: RuleContext) -> Hit | None:
    """A ``down_revision`` names a revision no file declares, or the revisions point back
    at each other in a cycle.

    Why it is dangerous: Alembic cannot load the history (a bare ``KeyError`` or "Cycle is
    detected in revisions"), so every ``alembic upgrade``, ``sluice upgrade`` and
    ``sluice check`` of the project fails, in every environment, until the link is fixed.
    It happens when a revision is rebased onto a branch whose head was renamed or
    removed, when a file is deleted, or when a merge is resolved by hand.

    Safe alternative:
    1. Point ``down_revision`` at the revision this one was written on top of
       (``sluice heads`` lists the current heads), or restore the missing file from
       version control.
    2. For a cycle, find the revision whose ``down_revision`` changed (``git log -p`` on
       the files named) and point it back outside the cycle.
    3. Run ``sluice lock`` so ``sluice.sum`` records the change.
    """
    if op.kind != "lint.broken_link":
        return None
    cycle = op.args.get("cycle")
    if cycle:
        return Hit(
            f"revision cycle {' -> '.join(cycle)}: each names the next as its "
            "down_revision, so Alembic cannot load the history and every upgrade fails",
            steps(
                "Find the revision whose down_revision changed (`git log -p` on these files).",
                "Point it at a revision outside the cycle.",
                "Run `sluice lock` to record the change in sluice.sum.",
            ),
        )
    return Hit(
        f"down_revision '{op.args.get('missing')}' of revision {op.revision} names no "
        "revision file, so Alembic cannot load the history and every upgrade fails",
        steps(
            "Point down_revision at the revision this one was written on top of "
            "(`sluice heads` lists the heads), or restore the missing file.",
            "Run `sluice lock` to record the change in sluice.sum.",
        ),
    )
