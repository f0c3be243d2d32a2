"""``safe_by_default``: autogenerate writes the safe recipe of a dangerous operation.

The dangerous-ops policy (:mod:`sluice.policy.dangerous`) calls :func:`rewrite_script`
before it refuses anything: every generated op that a recipe of :mod:`sluice.recipes`
rewrites for the project's one dialect and target version is replaced by the recipe's
safe sequence, in the upgrade and in the downgrade, as ``sluice fix`` would rewrite the
same calls in a hand-written revision. A finding of a rule the recipe answers is then
settled; every other finding (and every op no recipe rewrites) is judged as before.

Each rewritten op carries its :class:`Rewrite` in ``op.info`` (Alembic's per-op dict), so
that the review header can name it, the rule that asked for the recipe and the recipe.

A recipe that spans deploys -- steps that need its batched backfill finished, such as
SET NOT NULL on a column just backfilled -- keeps the steps up to the backfill in this
revision (expand) and moves the rest into a contract revision on top of it, unless the
run says ``-x split=none``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alembic.operations import ops as alembic_ops

from sluice.core.alembic_ops import to_model
from sluice.core.findings import Finding
from sluice.core.ops import Op
from sluice.lint.dialects import policy_dialects
from sluice.policy.base import CommentOp, PolicyContext
from sluice.policy.split import PHASE_VARIABLE, SPLIT_OPTION, new_script, phase_marker, tagged

if TYPE_CHECKING:
    from sluice.recipes import Applied, RecipeContext

#: ``op.info`` key: the :class:`Rewrite` an op of a recipe's sequence belongs to.
INFO_KEY = "sluice_recipe"
#: Dialects with recipes.
RECIPE_DIALECTS = ("postgresql", "mysql")


@dataclass
class Rewrite:
    """One generated op a recipe rewrote: the op as generated (``model``), the findings on
    it the recipe answers, the recipe applied, and whether its late steps were moved to a
    contract revision (``contract_rev``)."""

    model: Op
    applied: Applied
    findings: list[Finding] = field(default_factory=list)
    phase: str = "upgrade"
    #: Its steps after the backfill went to a contract revision (``contract_rev``).
    split: bool = False
    contract_rev: str | None = None
    #: In the contract revision: the steps of this rewrite that waited for its backfill.
    contract_part: bool = False

    @property
    def why(self) -> str:
        """``SL201 create-index-non-concurrently`` (the findings), or the recipe's title."""
        if self.findings:
            return ", ".join(f"{f.rule} {f.name}" for f in self.findings)
        return self.applied.recipe.title

    def note(self) -> str:
        """The review header's line for this rewrite."""
        where = "downgrade: " if self.phase == "downgrade" else ""
        recipe = self.applied.recipe
        name = (f" ({self.model.name})" if self.model.name and not self.model.column
                and self.model.name != self.model.target else "")
        text = f"sluice: safe_by_default: {where}{self.model.kind} {self.model.target}{name} "
        text += (f"[{self.why}] written as recipe {recipe.id}" if self.findings
                 else f"written as recipe {recipe.id} ({recipe.title})")
        if self.contract_part:
            return text + " (contract steps, after the backfill)"
        if self.split:
            return text + (f" (the steps after the backfill: contract revision "
                           f"{self.contract_rev or 'after this one'})")
        return text


def recipe_context(ctx: PolicyContext) -> RecipeContext | None:
    """The recipes' context when ``safe_by_default`` is on and the policies judge exactly
    one dialect that has recipes (a recipe written for one dialect would break the
    revision on another); None otherwise."""
    if not ctx.config.safe_by_default:
        return None
    dialects = policy_dialects(ctx.config.lint.dialects, ctx.migration_context)
    if len(dialects) != 1 or dialects[0] not in RECIPE_DIALECTS:
        if len(dialects) > 1:
            ctx.warn("safe_by_default writes recipes for one dialect; lint.dialects names "
                     f"{', '.join(str(d) for d in dialects)}: dangerous operations are "
                     "judged as without it")
        return None
    from sluice.recipes import context_for  # lazy: recipes load when safe_by_default is on

    return context_for(ctx.config, str(dialects[0]), env=ctx.environment)


def rewritten(op: Any) -> Rewrite | None:
    """The :class:`Rewrite` an op of a recipe's sequence belongs to, or None."""
    if not isinstance(op, alembic_ops.MigrateOperation):
        return None
    value = op.info.get(INFO_KEY)
    return value if isinstance(value, Rewrite) else None


def _tag(ops: list[Any], rewrite: Rewrite) -> None:
    for o in ops:
        o.info[INFO_KEY] = rewrite


# --------------------------------------------------------------------------- rewriting


Keep = Callable[[Any], bool]


def rewrite_ops(container: list[Any], rctx: RecipeContext, keep: Keep, *,
                make: Callable[[Any, Applied], Rewrite], phase: str,
                contract: list[Any] | None) -> list[Rewrite]:
    """Rewrite, in place, every op of ``container`` (descending into ``ModifyTableOps``)
    that a recipe rewrites and ``keep`` does not hold back. Ops on a table created earlier
    in the list (in the same schema), or dropped in it, are left alone, and a column an
    index or a constraint made earlier depends on is not rebuilt, as
    :func:`sluice.recipes.apply_recipes` leaves them. With ``contract`` given, a recipe's
    steps after its last backfill are appended there instead (inside a ``ModifyTableOps``
    when the op was in one)."""
    from sluice.recipes.apply import Seen  # lazy: recipes load when safe_by_default is on

    rctx = dataclasses.replace(rctx, phase=phase)  # where lint reads what the recipe writes
    seen = Seen(leaves(container))
    done: list[Rewrite] = []

    def walk(items: list[Any], table_ops: alembic_ops.ModifyTableOps | None) -> list[Any]:
        from sluice.recipes import rewrite_op  # lazy: recipes load when safe_by_default is on
        from sluice.recipes.apply import tidy  # lazy: recipes load when safe_by_default is on

        out: list[Any] = []
        late: list[Any] = []
        for o in items:
            if isinstance(o, alembic_ops.OpContainer):
                inner = o if isinstance(o, alembic_ops.ModifyTableOps) else None
                o.ops = walk(list(o.ops), inner)
                out.append(o)
                continue
            seen.note(o)
            applied = None
            if not seen.new_table(o) and not keep(o):
                applied = rewrite_op(o, rctx, depended=seen.depended)
            if applied is None:
                out.append(o)
                continue
            rewrite = make(o, applied)
            now, later = split_steps(applied.ops, active=rctx.in_force("SL102") and (
                phase == "upgrade")) if contract is not None else (applied.ops, [])
            _tag(now, rewrite)
            out.append(CommentOp(f"sluice: recipe {applied.recipe.id} ({rewrite.why})"))
            out += now
            if later:
                part = Rewrite(rewrite.model, applied, rewrite.findings, phase,
                               contract_part=True)
                _tag(later, part)
                late.append(CommentOp(f"sluice: recipe {applied.recipe.id}, after the "
                                      f"backfill of the expand step ({rewrite.why})"))
                late += later
                rewrite.split = True
            done.append(rewrite)
        if late and contract is not None:
            late = tidy(late, rctx.dialect)
            if table_ops is not None:
                contract.append(alembic_ops.ModifyTableOps(table_ops.table_name, late,
                                                           schema=table_ops.schema))
            else:
                contract.extend(late)
        return tidy(out, rctx.dialect)

    container[:] = walk(list(container), None)
    return done


def split_steps(steps: list[Any], *, active: bool = True) -> tuple[list[Any], list[Any]]:
    """(steps up to and including the last batched backfill, the steps after it): the
    latter need every row backfilled, and ship in a later deploy. A NOT NULL among them on
    a column a backfill filled carries ``# sluice: ignore[SL102]`` (``active``: where lint
    reads it, else a plain comment): SL102 reads one revision, and the contract revision
    alone does not show that the expand revision filled the NULLs."""
    from sluice.recipes.steps import (  # lazy: recipes load when safe_by_default is on
        AutocommitBlock,
        Backfill,
        Suppressed,
    )

    last = max((i for i, s in enumerate(steps) if isinstance(s, Backfill)), default=None)
    if last is None:
        return list(steps), []
    filled = {(s.table.lower(), s.column.lower()) for s in steps[:last + 1]
              if isinstance(s, Backfill) and s.where is None}

    def mark(step: Any) -> Any:
        if isinstance(step, AutocommitBlock):
            step.ops = [mark(o) for o in step.ops]
        elif isinstance(step, alembic_ops.AlterColumnOp) and step.modify_nullable is False \
                and (str(step.table_name).lower(), str(step.column_name).lower()) in filled:
            return Suppressed(step, "SL102", "the expand revision's batched_update filled "
                              "its NULLs", active=active)
        return step

    return list(steps[:last + 1]), [mark(s) for s in steps[last + 1:]]


def leaves(items: list[Any]) -> list[Any]:
    """The operations of ``items``, table containers opened, in order."""
    out: list[Any] = []
    for o in items:
        if isinstance(o, alembic_ops.OpContainer):
            out += leaves(list(o.ops))
        else:
            out.append(o)
    return out


def reverse_steps(steps: list[Any], rctx: RecipeContext | None = None,
                  whole: set[int] | None = None) -> list[Any]:
    """The downgrade of a contract part: its Alembic ops reversed, last first. Its SQL
    steps (a check added and dropped again within the part, a lock timeout) leave nothing
    to undo. The part of a recipe that is undone whole (``Recipe.undo_whole``, a swap) is
    undone by the recipe applied to the reverse of the op it rewrote (with ``rctx``)."""
    from sluice.recipes import rewrite_op  # lazy: recipes (as above)
    from sluice.recipes.steps import AutocommitBlock, Suppressed  # lazy: recipes (as above)

    whole = set() if whole is None else whole
    out: list[Any] = []
    for s in reversed(steps):
        if isinstance(s, alembic_ops.ModifyTableOps):
            inner = reverse_steps(list(s.ops), rctx, whole)
            if inner:
                out.append(alembic_ops.ModifyTableOps(s.table_name, inner, schema=s.schema))
            continue
        part = rewritten(s)
        if part is not None and part.applied.recipe.undo_whole and rctx is not None:
            if id(part) not in whole:
                whole.add(id(part))
                back = part.applied.op.reverse()
                undo = rewrite_op(back, dataclasses.replace(rctx, phase="downgrade"))
                out += undo.ops if undo is not None else [back]
            continue
        if isinstance(s, AutocommitBlock):
            out += reverse_steps(s.ops, rctx, whole)
            continue
        if isinstance(s, Suppressed):
            s = s.op
        if isinstance(s, (CommentOp, alembic_ops.ExecuteSQLOp)) \
                or type(s).__module__.startswith("sluice.recipes"):
            continue
        try:
            out.append(s.reverse())
        except (NotImplementedError, AttributeError, ValueError):
            continue
    return out


# --------------------------------------------------------------------------- scripts


def split_wanted(ctx: PolicyContext) -> bool:
    """A recipe's late steps go to a contract revision unless ``-x split=none``."""
    mc = ctx.migration_context
    value = mc.opts.get(SPLIT_OPTION) if mc is not None else None
    return value != "none"


def phase_of(script: alembic_ops.MigrationScript) -> str | None:
    for line in script.imports:
        if line.startswith(f"{PHASE_VARIABLE} = "):
            return "contract" if '"contract"' in line else "expand"
    return None


def contract_script(ctx: PolicyContext, script: alembic_ops.MigrationScript,
                    directives: list[alembic_ops.MigrationScript],
                    steps: list[Any],
                    rctx: RecipeContext | None = None) -> alembic_ops.MigrationScript:
    """Put ``steps`` (a recipe's late steps) in the contract revision after ``script``:
    the one the expand/contract split already made, else a new one, inserted in
    ``directives`` after ``script``. Returns the contract script."""
    down = reverse_steps(steps, rctx)
    for other in directives:
        if other is not script and other.head == script.rev_id and phase_of(other) == "contract":
            other.upgrade_ops_list[0].ops[1:1] = steps  # after its contract-step comment
            other.downgrade_ops_list[0].ops += down
            return other
    second = new_script(script, steps, down, message=tagged(script.message, "contract"))
    second.head = script.rev_id
    second.splice = False
    second.branch_label = None
    second.depends_on = None
    if phase_of(script) is None:
        script.message = tagged(script.message, "expand")
        _mark(ctx, script, "expand",
              f"sluice: expand step: the recipe steps that need the backfill finished are in "
              f"{second.rev_id} (contract).")
    _mark(ctx, second, "contract",
          "sluice: contract step: the recipe steps after the backfill of "
          f"{script.rev_id} (expand). Ship it once that backfill has finished.")
    ctx.info(f"safe_by_default: {script.rev_id} (expand), {second.rev_id} (contract)")
    directives.insert(directives.index(script) + 1, second)
    return second


def _mark(ctx: PolicyContext, script: alembic_ops.MigrationScript, phase: str,
          text: str) -> None:
    script.imports = {*script.imports, phase_marker(phase)}
    script.upgrade_ops_list[0].ops.insert(0, CommentOp(text))
    ctx.notes.setdefault(script.rev_id or "", []).append(text)


def rewrite_script(ctx: PolicyContext, rctx: RecipeContext,
                   script: alembic_ops.MigrationScript,
                   directives: list[alembic_ops.MigrationScript],
                   upgrade_ops: alembic_ops.UpgradeOps, pairs: list[tuple[Any, Op]],
                   judged: list[tuple[Any, Finding]],
                   refusable: Callable[[Finding], bool]) -> set[int] | None:
    """Rewrite ``upgrade_ops`` of ``script`` and the downgrade ops that go with it; ``pairs``
    and ``judged``: the ops as generated and the findings on them; ``refusable``: whether
    the policy acts on a finding (an override then keeps its op as generated). Returns the ids of the
    findings the recipes answered (None when no op was rewritten). A recipe's late steps
    go to a contract revision (:func:`contract_script`), appended to ``directives``."""
    models = {id(raw): m for raw, m in pairs}
    on_op: dict[int, list[Finding]] = {}
    for raw, f in judged:
        on_op.setdefault(id(raw), []).append(f)
    answered: set[int] = set()

    def keep(o: Any) -> bool:  # an override allows the op as generated: written so
        return any(refusable(f) and f.op is not None and ctx.allowed_by(f.op.allow_key)
                   for f in on_op.get(id(o), []))

    def make(phase: str) -> Callable[[Any, Applied], Rewrite]:
        def build(o: Any, applied: Applied) -> Rewrite:
            found = [f for f in on_op.get(id(o), []) if f.rule in applied.recipe.rules]
            answered.update(id(f) for f in found)
            model = models.get(id(o)) or to_model(o, phase=phase) \
                or Op(type(o).__name__, phase=phase)  # type: ignore[arg-type]
            return Rewrite(model, applied, found, phase)
        return build

    index = script.upgrade_ops_list.index(upgrade_ops)
    can_split = (len(script.upgrade_ops_list) == 1 and split_wanted(ctx)
                 and phase_of(script) != "contract")
    late: list[Any] = []
    done = rewrite_ops(upgrade_ops.ops, rctx, keep, make=make("upgrade"), phase="upgrade",
                       contract=late if can_split else None)
    if index < len(script.downgrade_ops_list):
        down = script.downgrade_ops_list[index]
        done += rewrite_ops(down.ops, rctx, lambda o: False, make=make("downgrade"),
                            phase="downgrade", contract=None)
    if not done:
        return None
    rev = script.rev_id or ""
    second = contract_script(ctx, script, directives, late, rctx) if late else None
    parts: dict[int, Rewrite] = {}
    for o in leaves(late):
        part = rewritten(o)
        if part is not None:
            parts.setdefault(id(part), part)
    for r in done:
        if r.split and second is not None:
            r.contract_rev = second.rev_id
        ctx.notes.setdefault(rev, []).append(r.note())
    if second is not None:
        for part in parts.values():
            ctx.notes.setdefault(second.rev_id or "", []).append(part.note())
    return answered


def without_recipe_steps(upgrade_ops: alembic_ops.UpgradeOps) -> alembic_ops.UpgradeOps:
    """``upgrade_ops`` without the ops of recipes (a copy; the ops themselves are shared):
    what the review header judges op by op, the recipes being named as a whole."""

    def strip(items: list[Any]) -> list[Any]:
        out: list[Any] = []
        for o in items:
            if isinstance(o, alembic_ops.ModifyTableOps):
                out.append(alembic_ops.ModifyTableOps(o.table_name, strip(list(o.ops)),
                                                      schema=o.schema))
            elif rewritten(o) is None:
                out.append(o)
        return out

    return alembic_ops.UpgradeOps(ops=strip(list(upgrade_ops.ops)),
                                  upgrade_token=upgrade_ops.upgrade_token)
