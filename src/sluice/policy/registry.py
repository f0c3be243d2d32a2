"""The registry of autogenerate policies (:data:`POLICIES`) and :func:`apply_policies`.

Imported through :mod:`sluice.policy` when a name of it is first used: an env.py that
only upgrades needs none of the policies (nor the lint rules they run).
"""

from __future__ import annotations

from collections.abc import Callable

from alembic.operations import ops as alembic_ops

from sluice.policy.base import PolicyContext
from sluice.policy.dangerous import dangerous_ops
from sluice.policy.empty import empty_revision
from sluice.policy.enums import enum_notes
from sluice.policy.renames import renames
from sluice.policy.review import review_header
from sluice.policy.services import service_branches
from sluice.policy.split import expand_contract

PolicyFn = Callable[[PolicyContext, list[alembic_ops.MigrationScript]], None]

#: Order matters. empty-revision first: it judges the whole autogenerate result, before
#: any split could leave one part empty. renames before the splits (a drop + add pair must
#: stay together to be recognised) and before dangerous-ops (a confirmed rename is not a
#: drop). The splits before dangerous-ops and review-header, so that every revision they
#: produce is judged and gets its own header.
POLICIES: list[tuple[str, PolicyFn]] = [
    ("empty-revision", empty_revision),
    ("renames", renames),
    ("services", service_branches),
    ("expand-contract", expand_contract),
    ("dangerous-ops", dangerous_ops),
    ("enum-notes", enum_notes),
    ("review-header", review_header),
]


def apply_policies(ctx: PolicyContext, directives: list[alembic_ops.MigrationScript]) -> None:
    for script in directives:
        # Alembic builds the script with MigrationScript's default ``imports``, one set
        # shared by every script of the process: a policy adding an import line to it
        # would add it to every revision generated after.
        script.imports = set(script.imports)
    for _name, policy in POLICIES:
        if not directives:
            break
        policy(ctx, directives)
    ctx.announce()  # only once no policy refused: what is said is what gets written
