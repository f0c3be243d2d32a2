"""The upgrade check: an empty database upgrades to head through the project's env.py."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from alembic.runtime.migration import MigrationContext

from sluice.check.context import CheckContext, StepTracker
from sluice.check.graph import graph_blocked
from sluice.check.model import CheckResult, finish
from sluice.check.revisions import describe_error
from sluice.check.sawarn import Routed, routed
from sluice.check.snapshot import EXPRESSION_INDEX_WARNING
from sluice.core.alembic_compat import upgrade_steps
from sluice.core.findings import Finding, check_finding
from sluice.errors import SluiceError

NAME = "upgrade"
TITLE = "upgrade from empty"


def upgrade_to_heads(ctx: CheckContext, *, check: str = NAME) -> list[Finding]:
    """Upgrade the current (empty) database to every head; the problems, if any."""
    script = ctx.history().script
    tracker = StepTracker()
    warned = Routed(during="while running the migrations")

    def work(heads: tuple[str, ...], context: MigrationContext) -> Iterator[Any]:
        for step in upgrade_steps(script, "heads", heads):
            tracker.step = step
            yield step
        tracker.step = None

    try:
        with routed(warned, handled=handled_while_migrating(ctx)):
            ctx.run_env(work)
    except SluiceError:
        raise
    except Exception as exc:
        path, line, rev = ctx.env_failure(exc, tracker)
        ctx.db.state = "used"
        stand_in = ctx.stand_in_note()
        if rev is not None:
            message = f"upgrade of revision {rev} failed: {describe_error(exc)}"
            fix = stand_in or (
                f"Run it yourself to see the full error: {ctx.given.alembic('upgrade', rev)} "
                "on an empty database (SLUICE_DEBUG=1 shows the traceback here).")
        else:
            message = f"env.py failed before any migration ran: {describe_error(exc)}"
            fix = stand_in or (f"Fix env.py; {ctx.given.alembic('upgrade', 'head')} fails "
                               "the same way.")
        return [check_finding(check, "upgrade-failed", message, fix, path=path, line=line,
                        revision=rev)]
    ctx.db.state = "head"
    ctx.migration_notes = warned.notes()
    # What Alembic records at head (and what `alembic check` compares with): a head that
    # another head depends on shares that head's row, so it has none of its own.
    expected = {rev.revision for rev in script.get_revisions("heads") if rev is not None}
    recorded = ctx.read_versions()
    if recorded != expected:
        ctx.db.state = "used"
        shown = ", ".join(sorted(recorded)) or "nothing"
        return [check_finding(
            check, "upgrade-not-committed",
            f"the upgrade ended without an error, but the database records {shown} instead "
            f"of {', '.join(sorted(expected))}",
            "env.py probably never commits (SQLAlchemy 2 rolls back what is not committed): "
            "run context.run_migrations() inside `with context.begin_transaction():`.",
            path=ctx.rel(ctx.history().script.dir + "/env.py"),
        )]
    return []


def check_upgrade(ctx: CheckContext) -> CheckResult:
    """Run the check; its rule documents it (:mod:`sluice.rules.check.upgrade`)."""
    blocked = graph_blocked(ctx, NAME, TITLE)
    if blocked is not None:
        return blocked
    if ctx.db.state != "empty":
        ctx.db.fresh()
    started = time.perf_counter()
    problems = upgrade_to_heads(ctx)
    ctx.head_problems = problems
    elapsed = time.perf_counter() - started
    heads = sorted(ctx.history().script.get_heads())
    count = len(ctx.history().scripts)
    summary = (f"{count} revision{'s' if count != 1 else ''} applied, now at "
               f"{', '.join(heads) or 'base'}") if not problems else "upgrade failed"
    found = ctx.stand_in() if not problems else None
    notes = [f"ran on a temporary SQLite database, not on {found[0]} (the project's URL): "
             f"what only {found[0]} refuses (its DDL rules, types and locks) is not checked "
             f"here; {found[1]} runs the upgrade and the round trip on {found[0]} itself"
             ] if found else []
    notes += ctx.migration_notes
    return finish(NAME, TITLE, problems, summary, notes=notes,
                  data={"seconds": round(elapsed, 4)})


def handled_while_migrating(ctx: CheckContext) -> tuple[re.Pattern[str], ...]:
    """SQLAlchemy's warnings while migrations run that the checks answer themselves: on a
    SQLite project, an expression-based index ``batch_alter_table`` cannot carry over
    (the drift check reports it missing, by name)."""
    if ctx.db.backend == "sqlite" and ctx.stand_in() is None:
        return (EXPRESSION_INDEX_WARNING,)
    return ()


def ensure_head(ctx: CheckContext) -> list[Finding]:
    """Bring the database to head if it is not there yet; the problems that stopped it."""
    if ctx.db.state == "head":
        return []
    if ctx.head_problems is not None:
        return ctx.head_problems
    if ctx.db.state != "empty" and not ctx.db.fresh():
        return [check_finding("upgrade", "not-at-head",
                              "the database is not at head and cannot be replaced")]
    ctx.head_problems = upgrade_to_heads(ctx)
    return ctx.head_problems
