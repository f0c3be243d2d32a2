"""Empty-revision policy."""

from __future__ import annotations

from alembic.operations import ops as alembic_ops

from sluice.errors import PolicyViolation
from sluice.policy.base import PolicyContext
from sluice.policy.branches import (
    active_service,
    all_heads,
    branch_heads,
    location_arg,
    script_directory,
)
from sluice.policy.ownership import get_service


def empty_revision(ctx: PolicyContext, directives: list[alembic_ops.MigrationScript]) -> None:
    """Refuse (or skip) an autogenerate run that found no changes.

    Alembic writes a revision with ``pass`` in upgrade() and downgrade() when models and
    database agree; merged by accident, it adds a no-op node to the graph. With
    ``empty_revision = "error"`` (the default) the command fails and writes nothing;
    ``"skip"`` writes nothing and exits 0; ``"allow"`` keeps Alembic's behaviour.
    Plain ``alembic revision -m`` (no autogenerate) is never affected; the refusal names
    that command for a hand-written revision, with the run's ``-c``, ``-n`` and ``-x``,
    placed where the autogenerate run would have placed it (``--head billing@head
    --version-path ...`` under ``-x service=billing``).
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
        f"{hand_written(ctx)} for a hand-written one)"
    )


def hand_written(ctx: PolicyContext) -> str:
    """```alembic OPTIONS revision -m "..."``` (in backticks) for a hand-written revision
    where this run would have written one: on the service's branch and in its folder
    under ``-x service=NAME``; with several heads and no service, ``--head HEAD`` and the
    heads to choose from."""
    words, choose = ["revision"], ""
    mc = ctx.migration_context
    if getattr(mc, "script", None) is not None:
        script_dir = script_directory(ctx)
        service = active_service(ctx)
        svc = get_service(ctx.config, service) if service is not None else None
        if svc is not None and not svc.config.version_table:
            if branch_heads(script_dir, svc.label):
                words += ["--head", f"{svc.label}@head"]
            else:
                words += ["--head", "base", "--branch-label", svc.label]
            if svc.location is not None:
                words += ["--version-path", location_arg(script_dir, svc.location)]
        elif len(heads := sorted(rev.revision for rev in all_heads(script_dir))) > 1:
            words += ["--head", "HEAD"]
            choose = f" (HEAD: one of the heads {', '.join(heads)})"
    return f"`{ctx.given.alembic_line(*words, message=True)}`{choose}"
