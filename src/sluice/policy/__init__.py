"""Autogenerate policies, applied in order by ``process_revision_directives``.

A policy is one function ``(PolicyContext, directives) -> None`` whose docstring is its
documentation; :data:`POLICIES` is the one place they are registered.
"""

from __future__ import annotations

from collections.abc import Callable

from alembic.operations import ops as alembic_ops

from sluice.policy.base import Allowance, CommentOp, PolicyContext, parse_allowances
from sluice.policy.dangerous import dangerous_ops
from sluice.policy.empty import empty_revision
from sluice.policy.review import review_header

PolicyFn = Callable[[PolicyContext, list[alembic_ops.MigrationScript]], None]

POLICIES: list[tuple[str, PolicyFn]] = [
    ("empty-revision", empty_revision),
    ("dangerous-ops", dangerous_ops),
    ("review-header", review_header),
]


def apply_policies(ctx: PolicyContext, directives: list[alembic_ops.MigrationScript]) -> None:
    for _name, policy in POLICIES:
        if not directives:
            return
        policy(ctx, directives)


__all__ = [
    "POLICIES",
    "Allowance",
    "CommentOp",
    "PolicyContext",
    "apply_policies",
    "parse_allowances",
]
