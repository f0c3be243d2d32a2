"""SL606 ``reads-data-in-migration``. The check's docstring is the rule's documentation.

Fixtures: ``sl606_reads_data_in_migration.fixtures/`` (``SL606_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL606_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.registry import RuleContext, rule


@rule("SL606", "reads-data-in-migration", family="script", severity="info",
      kinds=("script.get_bind_read",))
def reads_data_in_migration(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """The revision reads rows through ``op.get_bind()`` and decides in Python.

    Why it is dangerous: the outcome depends on the data present when it runs, so the
    same revision does different things in dev, staging and production; ``alembic upgrade
    --sql`` (offline mode) cannot render it at all; and reading a large table into Python
    inside the migration transaction holds it open for a long time.

    Safe alternative:
    1. Express the change as set-based SQL (``UPDATE ... FROM``, ``INSERT ... SELECT``),
       which works offline and in one round trip.
    2. For large or complex data changes, use a batched data migration
       (``sluice.data``), in a revision of its own.
    3. If offline rendering matters, guard reads with ``if context.is_offline_mode():``.

    Reading ``result.rowcount`` (how many rows a batch changed, to end a batch loop) is
    not reading data, and is not reported. One read is one finding, at the line Python
    gives the read (``).fetchall()`` closing a statement over several lines).
    """
    if op.kind != "script.get_bind_read":
        return
    how = op.args.get("how") or "read"
    if how == "rowcount":
        return  # how many rows the statement changed: no data read
    yield Hit(
        f"reads data through op.get_bind() ({how}); the result depends on the data at run "
        "time and the revision cannot be rendered with --sql",
        steps(
            "Rewrite it as set-based SQL (UPDATE ... FROM / INSERT ... SELECT) if you can.",
            "For large data changes use a batched data migration (sluice.data) in its own "
            "revision.",
        ),
    )
