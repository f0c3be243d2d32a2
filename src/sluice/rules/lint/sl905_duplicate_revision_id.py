"""SL905 ``duplicate-revision-id``. The check's docstring is the rule's documentation.

Fixtures: ``sl905_duplicate_revision_id.fixtures/`` (``SL905_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL905_ok*.py`` must not).
"""

from __future__ import annotations

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.registry import RuleContext, rule


@rule("SL905", "duplicate-revision-id", family="meta", severity="error",
      kinds=("lint.duplicate_revision",))
def duplicate_revision_id(op: Op, ctx: RuleContext) -> Hit | None:
    """Two revision files declare the same ``revision`` id.

    Why it is dangerous: Alembic warns ("Revision X is present more than once") and keeps
    only one of the two files in its revision map, so the other is never run, or is run
    in one checkout and not in another; an ``alembic upgrade head`` may also stop on
    "Multiple head revisions". ``sluice upgrade``, ``plan``, ``downgrade`` and ``check``
    refuse such a history until one file is changed. It happens when a revision file is
    copied to start a new one, or when two branches add revisions with a hand-written id.

    Safe alternative:
    1. Give one of the files a new id (``alembic revision -m x`` prints a fresh one; copy it
       into ``revision =`` and the ``Revision ID:`` line of the docstring).
    2. Point every ``down_revision`` that meant that file at its new id.
    3. Run ``sluice lock`` so ``sluice.sum`` records the change.
    """
    if op.kind != "lint.duplicate_revision":
        return None
    others = ", ".join(op.args.get("others", [])) or "another file"
    return Hit(
        f"revision id {op.revision} is also declared by {others}; Alembic keeps only one of "
        "the files, so the other never runs (sluice upgrade refuses the history)",
        steps(
            "Give one of the files a new id (copy one from `alembic revision -m x`).",
            "Point every down_revision that meant that file at the new id.",
            "Run `sluice lock` to record the change in sluice.sum.",
        ),
    )
