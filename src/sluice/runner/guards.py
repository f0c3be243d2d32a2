"""The environment policy applied to a plan: what is refused, what is asked, what happens first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sluice.core.durations import format_duration
from sluice.core.suggest import Invocation
from sluice.errors import PolicyViolation
from sluice.runner.policy import EnvPolicy

if TYPE_CHECKING:
    from sluice.runner.plan import Plan


def evaluate(plan: Plan, policy: EnvPolicy, *, allow_downgrade: bool = False,
             dry_run: bool = False, given: Invocation | None = None) -> None:
    """Fill ``plan.guards`` (what will happen) and ``plan.refusals`` (what stops the run);
    the commands a refusal suggests carry the options of ``given``."""
    guards: list[str] = []
    refusals: list[str] = []
    blockers: list[str] = []
    env = policy.environment
    if not plan.empty and not dry_run:
        if plan.direction == "downgrade" and not (policy.allow_downgrade or allow_downgrade):
            refusals.append(downgrade_refusal(plan, policy, given))
        if plan.direction == "upgrade" and policy.block_on_lint_errors:
            blocked = [r for r in plan.revisions if r.errors]
            if blocked:
                refusals.append(lint_refusal(plan, policy))
    guards.extend(refusals)
    guards.append(
        f"takes the migration lock (waits up to {format_duration(policy.migration_lock_timeout_ms)} "
        "for another deploy)")
    if dry_run:
        guards.append("dry run: everything runs in one transaction that is rolled back")
    else:
        if policy.backup_command:
            guards.append(f"backs up first: {policy.backup_command}")
        elif policy.require_backup and plan.dialect == "sqlite":
            guards.append("backs up first (SQLite backup API)")
        elif policy.require_backup:
            blocker = (f"requires a backup first, but no backup_command is configured for "
                       f"{env}: the upgrade stops before changing anything")
            guards.append(blocker)
            if not plan.empty:
                blockers.append(blocker)
        if policy.confirm:
            guards.append("asks for confirmation showing this plan (--yes skips it)")
    if policy.lock_timeout_ms is not None or policy.statement_timeout_ms is not None:
        guards.append(f"timeouts: lock {format_duration(policy.lock_timeout_ms)}, statement "
                      f"{format_duration(policy.statement_timeout_ms)} (per revision: "
                      "sluice_timeouts)")
    plan.guards = guards
    plan.refusals = refusals
    plan.blockers = blockers


def enforce(plan: Plan) -> None:
    """Raise :class:`PolicyViolation` (exit 1) for the first refusal of an evaluated plan."""
    if plan.refusals:
        first, *rest = plan.refusals
        head, _, detail = first.partition("\n")
        extra = "\n".join([detail] + rest).strip()
        raise PolicyViolation(head, hint=extra or None)


def downgrade_refusal(plan: Plan, policy: EnvPolicy, given: Invocation | None = None) -> str:
    env = policy.environment
    target = plan.target
    given = given or Invocation(environment=env)
    return (
        f"downgrade refused in {env}: downgrades are off in "
        f"{'production' if policy.production else 'this environment'} because they usually "
        "drop tables or columns, and the data in them is gone for good.\n"
        "Rolling forward with a new revision that undoes the change is usually safer. If "
        "a downgrade really is the fix:\n"
        f"  1. review it: {given.sluice('plan', target, '--downgrade')}\n"
        "  2. make sure a restorable backup exists\n"
        f"  3. run: {given.sluice('downgrade', target, '--allow-downgrade')}\n"
        f"(allow_downgrade = true in {policy.table} turns this guard off.)"
    )


def lint_refusal(plan: Plan, policy: EnvPolicy) -> str:
    env = policy.environment
    blocked = [r for r in plan.revisions if r.errors]
    lines = [
        f"upgrade refused in {env}: {len(blocked)} revision"
        f"{'s' if len(blocked) != 1 else ''} to apply "
        f"{'have' if len(blocked) != 1 else 'has'} error-level lint findings "
        "(data loss or a blocking lock on a live table):"
    ]
    rule = "SL000"
    for rev in blocked:
        for f in rev.errors:
            rule = f.rule
            where = f"{f.path or rev.path}:{f.line}" if f.line else (f.path or rev.path or rev.revision)
            lines.append(f"  {where}: {f.rule} {f.name}: {f.message}")
            if f.fix:
                for fix_line in f.fix.splitlines():
                    lines.append(f"      {fix_line}")
    lines.append(
        "Fix the revision the way the finding says. If it has been reviewed and is "
        f"intended, suppress it in the script: `# sluice: ignore[{rule}] <why this is safe>` "
        "on the operation's line. block_on_lint_errors = false in "
        f"{policy.table} turns this guard off."
    )
    return "\n".join(lines)
