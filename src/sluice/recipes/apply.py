"""Applying the registry to a list of Alembic operations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from alembic.operations import ops

from sluice.recipes.model import Recipe, RecipeContext, recipes_for
from sluice.recipes.steps import AutocommitBlock, Backfill, LockTimeout, Suppressed
from sluice.rules.registry import all_rules


@dataclass
class Applied:
    """One op a recipe rewrote: the recipe, the op as it was, and what replaced it."""

    recipe: Recipe
    op: ops.MigrateOperation
    ops: list[ops.MigrateOperation]


@dataclass
class RecipeResult:
    """The rewritten op list and what was rewritten, in order."""

    ops: list[ops.MigrateOperation]
    applied: list[Applied] = field(default_factory=list)


def table_of(op: ops.MigrateOperation) -> str | None:
    """The table an op works on (``source_table`` for a foreign key)."""
    name = getattr(op, "table_name", None) or getattr(op, "source_table", None)
    return str(name) if name else None


def rewrite_op(op: ops.MigrateOperation, ctx: RecipeContext) -> Applied | None:
    """The first recipe of ``ctx.dialect`` that applies to ``op`` on the target version
    (and answers a rule in force), applied; None when none does. The caller decides whether the table already exists
    (a table created in the same revision needs no recipe)."""
    for recipe in recipes_for(ctx.dialect):
        if not ctx.wants(recipe):
            continue
        out = recipe.rewrite(op, ctx)
        if out is not None:
            _review(out, "downgrade" if ctx.in_downgrade() else "upgrade", ctx)
            return Applied(recipe, op, out)
    return None


def _review(steps: Iterable[ops.MigrateOperation], phase: str, ctx: RecipeContext) -> None:
    """Keep a step's ``# sluice: ignore[RULE]`` only where lint reads it: the rule in
    force and reporting on ops of ``phase`` (lint does not check a downgrade for most
    rules, and would report the suppression unused, SL902); elsewhere its reason stays
    a plain comment."""
    for step in steps:
        if isinstance(step, AutocommitBlock):
            _review(step.ops, phase, ctx)
        elif isinstance(step, Suppressed):
            rule = all_rules().get(step.rule)
            step.active = rule is not None and ctx.in_force(step.rule) and (
                rule.phases is None or phase in rule.phases)


def apply_recipes(operations: Sequence[ops.MigrateOperation], ctx: RecipeContext, *,
                  new_tables: Iterable[str] = (), swapped: Iterable[str] = ()
                  ) -> RecipeResult:
    """Rewrite every op of ``operations`` that a recipe answers into its safe sequence.

    Ops on a table created earlier in the list (or in ``new_tables``), or dropped later in
    it, are left alone: nobody waits on such a table. So is a constraint created on a
    table a constraint of which is dropped earlier in the list (or in ``swapped``): the
    two are a swap meant to commit together, and a recipe's ``autocommit_block`` would
    commit the drop first, leaving the table without either constraint (and a rerun
    failing on the drop) if the new one fails. Containers (``UpgradeOps``,
    ``ModifyTableOps``, as autogenerate builds them) are rewritten in place and kept.
    Adjacent ``autocommit_block``s are merged and repeated lock timeouts dropped.
    """
    created = {t.lower() for t in new_tables}
    dropped = {str(o.table_name).lower() for o in _flat(operations)
               if isinstance(o, ops.DropTableOp)}
    applied: list[Applied] = []
    out = _walk(list(operations), ctx, created, dropped, applied,
                {t.lower() for t in swapped})
    return RecipeResult(tidy(out, ctx.dialect), applied)


def _flat(operations: Iterable[ops.MigrateOperation]) -> Iterable[ops.MigrateOperation]:
    for o in operations:
        if isinstance(o, ops.OpContainer):
            yield from _flat(o.ops)
        else:
            yield o


#: Ops that create a constraint: the second half of a swap after a drop of one.
_CREATES = (ops.CreateForeignKeyOp, ops.CreateUniqueConstraintOp, ops.CreateCheckConstraintOp,
            ops.CreatePrimaryKeyOp)


def _walk(operations: list[ops.MigrateOperation], ctx: RecipeContext, created: set[str],
          dropped: set[str], applied: list[Applied], swapped: set[str]
          ) -> list[ops.MigrateOperation]:
    out: list[ops.MigrateOperation] = []
    for o in operations:
        if isinstance(o, ops.OpContainer):
            o.ops = tidy(_walk(list(o.ops), ctx, created, dropped, applied, swapped),
                         ctx.dialect)
            out.append(o)
            continue
        if isinstance(o, ops.CreateTableOp):
            created.add(str(o.table_name).lower())
        table = table_of(o)
        if isinstance(o, ops.DropConstraintOp) and table is not None:
            swapped.add(table.lower())
        if table is not None and (table.lower() in created | dropped or (
                isinstance(o, _CREATES) and table.lower() in swapped)):
            out.append(o)
            continue
        done = rewrite_op(o, ctx)
        if done is None:
            out.append(o)
        else:
            applied.append(done)
            out += done.ops
    return out


def tidy(operations: list[ops.MigrateOperation], dialect: str) -> list[ops.MigrateOperation]:
    """Merge adjacent autocommit blocks; drop a lock timeout already in force."""
    out: list[ops.MigrateOperation] = []
    in_force: str | None = None  # the SET LOCAL (PostgreSQL) or session value set last
    for o in operations:
        if isinstance(o, AutocommitBlock):
            prev = out[-1] if out else None
            if isinstance(prev, LockTimeout):
                out.pop()  # a SET LOCAL right before a commit does nothing
            prev = out[-1] if out else None
            if isinstance(prev, AutocommitBlock) and prev.lock_timeout == o.lock_timeout:
                prev.ops += o.ops
            else:
                out.append(o)
            if dialect == "postgresql":
                in_force = None  # the block's commit ends the transaction's SET LOCAL
            continue
        if isinstance(o, Backfill) and dialect == "postgresql":
            in_force = None  # its batches commit, ending the transaction first
        if isinstance(o, LockTimeout):
            if in_force == o.value:
                continue
            in_force = o.value
        out.append(o)
    return out
