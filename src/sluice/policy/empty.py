"""Empty-revision policy."""

from __future__ import annotations

from alembic.operations import ops as alembic_ops

from sluice.errors import PolicyViolation
from sluice.policy.base import PolicyContext


def empty_revision(ctx: PolicyContext, directives: list[alembic_ops.MigrationScript]) -> None:
    """Refuse (or skip) an autogenerate run that found no changes.

    Alembic writes a revision with ``pass`` in upgrade() and downgrade() when models and
    database agree; merged by accident, it adds a no-op node to the graph. With
    ``empty_revision = "error"`` (the default) the command fails and writes nothing;
    ``"skip"`` writes nothing and exits 0; ``"allow"`` keeps Alembic's behaviour.
    Plain ``alembic revision -m`` (no autogenerate) is never affected.
    """
    if not ctx.autogenerate or ctx.config.empty_revision == "allow":
        return
    if not directives or not all(s.upgrade_ops_list and all(u.is_empty() for u in
                                                               s.upgrade_ops_list)
                                 for s in directives):
        return
    where = ctx.config.source or "sluice.toml or [tool.sluice]"
    if ctx.config.empty_revision == "skip":
        directives[:] = []
        ctx.info("no schema changes detected; no revision written (empty_revision = 'skip')")
        return
    raise PolicyViolation(
        "no schema changes detected; no revision written "
        f"(empty_revision is 'error'; 'skip' or 'allow' in {where} changes that; use "
        "'alembic revision -m' for a hand-written one)"
    )
