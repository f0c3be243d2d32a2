"""SL203 ``foreign-key-without-not-valid``. The check's docstring is the rule's documentation.

Fixtures: ``sl203_foreign_key_without_not_valid.fixtures/`` (``SL203_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL203_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules.lint._postgres import PG, _not_valid_hits
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL203", "foreign-key-without-not-valid", family="postgres-locking", severity="error",
      dialects=PG, kinds=("create_foreign_key", "execute"), phases=UPGRADE)
def foreign_key_without_not_valid(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Adding a foreign key without ``NOT VALID`` blocks writes on both tables.

    Why it is dangerous: PostgreSQL validates every existing row while holding a SHARE ROW
    EXCLUSIVE lock on the table and on the table it references, so writes to both stop
    until the scan is done.

    Safe alternative:
    1. Add the constraint with ``postgresql_not_valid=True``: it is enforced for new rows
       immediately and the ALTER is instant.
    2. In a later revision, run ``ALTER TABLE ... VALIDATE CONSTRAINT name``, which scans
       with a lock that lets reads and writes continue.
    """
    if op.phase != "upgrade":
        return
    yield from _not_valid_hits(op, ctx, "foreign_key")
