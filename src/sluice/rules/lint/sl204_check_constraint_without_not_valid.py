"""SL204 ``check-constraint-without-not-valid``. The check's docstring is the rule's documentation.

Fixtures: ``sl204_check_constraint_without_not_valid.fixtures/`` (``SL204_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL204_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules.lint._postgres import PG, _not_valid_hits
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL204", "check-constraint-without-not-valid", family="postgres-locking",
      severity="error", dialects=PG, kinds=("create_check_constraint", "execute"), phases=UPGRADE)
def check_without_not_valid(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Adding a check constraint without ``NOT VALID`` blocks the table while it scans.

    Why it is dangerous: PostgreSQL checks every existing row under an ACCESS EXCLUSIVE
    lock: no reads, no writes, for as long as the scan takes.

    Safe alternative:
    1. Add the constraint with ``postgresql_not_valid=True`` (instant; new rows checked).
    2. In a later revision, ``ALTER TABLE ... VALIDATE CONSTRAINT name``, which only
       takes a SHARE UPDATE EXCLUSIVE lock.
    """
    if op.phase != "upgrade":
        return
    yield from _not_valid_hits(op, ctx, "check")
