"""Where a step runs inside Alembic: the migration context, the running revision, and the
bookkeeping that names steps and deletes their checkpoints when the revision is stamped."""

from __future__ import annotations

import sys
import weakref
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic import op

from sluice.data.checkpoints import Store


def migration_context() -> Any | None:
    """The running Alembic MigrationContext, or None outside a migration."""
    try:
        return op.get_context()
    except Exception:
        return None


def running_revision(ctx: Any) -> tuple[str, bool] | None:
    """(revision id, is_upgrade) of the script Alembic is running right now."""
    frame = sys._getframe(1)
    fallback: tuple[str, bool] | None = None
    while frame is not None:
        if frame.f_code.co_name == "run_migrations" and frame.f_locals.get("self") is ctx:
            step = frame.f_locals.get("step")
            rev = getattr(getattr(step, "revision", None), "revision", None)
            if isinstance(rev, str):
                return rev, bool(getattr(step, "is_upgrade", True))
        g = frame.f_globals
        if fallback is None and isinstance(g.get("revision"), str) and "down_revision" in g:
            fallback = (g["revision"], frame.f_code.co_name != "downgrade")
        frame = frame.f_back  # type: ignore[assignment]
    return fallback


@dataclass
class RevisionSteps:
    names: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    cleanup_registered: bool = False
    #: The revision ids the run's checkpoints are stored under (``revision=`` may differ).
    stored: set[str] = field(default_factory=set)


# MigrationContext -> {(revision, is_upgrade): step bookkeeping for that run}
RUNS: weakref.WeakKeyDictionary[Any, dict[tuple[str, bool], RevisionSteps]] = (
    weakref.WeakKeyDictionary()
)


def register_cleanup(ctx: Any, store: Store, run: tuple[str, bool]) -> None:
    """Delete the checkpoints of revision ``run[0]``'s steps in the transaction that stamps it.

    Alembic calls ``on_version_apply`` callbacks right after updating ``alembic_version``
    for a step, in the same transaction. Deleting the checkpoints there means a revision
    that is later downgraded and upgraded again runs its steps again, while a crash
    before the stamp keeps them for the rerun. The run's step names are forgotten too:
    the same revision may run again on this connection (``sluice check``'s round trip
    upgrades, downgrades and upgrades it again in one session).
    """

    def cleanup(*, ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        if run[0] not in tuple(getattr(step, "up_revision_ids", ()) or ()):
            return
        ctx.on_version_apply_callbacks = tuple(
            cb for cb in ctx.on_version_apply_callbacks if cb is not cleanup
        )
        steps = RUNS.get(ctx, {}).pop(run, None)
        stored = sorted(steps.stored) if steps is not None else [run[0]]
        conn = ctx.connection
        if sa.inspect(conn).has_table(store.name):
            conn.execute(sa.delete(store.table).where(store.table.c.revision.in_(stored)))

    ctx.on_version_apply_callbacks = (*tuple(ctx.on_version_apply_callbacks or ()), cleanup)
