"""SL604 ``create-engine-in-revision``. The check's docstring is the rule's documentation.

Fixtures: ``sl604_create_engine_in_revision.fixtures/`` (``SL604_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL604_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.registry import RuleContext, rule


@rule("SL604", "create-engine-in-revision", family="script", severity="error",
      kinds=("script.create_engine",))
def create_engine_in_revision(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A revision creates its own database engine instead of using Alembic's connection.

    Why it is dangerous: the second connection is outside the migration's transaction:
    it does not see the migration's uncommitted changes, its own changes are not rolled
    back when the migration fails, and when it touches a table the migration has locked
    it waits for a lock its own process holds: the deploy hangs forever. It also ignores
    the URL Alembic was given (``-x``, ``--env``), so it may write to the wrong database,
    and it breaks ``--sql`` offline mode.

    Safe alternative:
    1. Use Alembic's connection: ``bind = op.get_bind()`` and ``bind.execute(...)``, or
       ``op.execute(...)``.
    2. For an ORM session, ``Session(bind=op.get_bind())``.
    """
    if op.kind != "script.create_engine":
        return
    call = op.args.get("call") or "create_engine"
    yield Hit(
        f"{call}() inside the revision opens a second connection outside the migration's "
        "transaction: it can deadlock on the migration's own locks and may hit another "
        "database than the one being migrated",
        steps(
            "Use the migration's connection: bind = op.get_bind(); bind.execute(...).",
            "For the ORM: Session(bind=op.get_bind()).",
        ),
    )
