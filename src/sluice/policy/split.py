"""Splitting one autogenerate result into several revisions.

Two splits, both done in ``process_revision_directives`` before any file is written:

- per service (:func:`split_by_service`): one revision per owning service, each on its
  own branch (see :mod:`sluice.policy.services`); :func:`service_branches`, the services
  policy, places a revision on its service's branch or splits it;
- expand / contract (:func:`expand_contract`): additive changes in a first revision,
  destructive ones (drops, NOT NULL tightening, lossy type changes) in a second revision
  on top of it, marked ``sluice_phase = "contract"``, to ship in a later deploy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alembic import util as alembic_util
from alembic.operations import ops as alembic_ops

from sluice.core.alembic_ops import to_model
from sluice.core.ops import Op, TypeInfo
from sluice.errors import ConfigError
from sluice.policy.base import CommentOp, PolicyContext
from sluice.policy.branches import (
    active_service,
    check_trunk_location,
    place_on_branch,
    unowned_trunk_head,
)
from sluice.policy.ownership import (
    TRUNK,
    op_owner,
    op_tables,
    owner_of,
    referenced_tables,
    warn_unowned,
)

#: ``-x split=...`` values.
SPLIT_OPTION = "sluice_split"
EXPAND_CONTRACT = "expand-contract"
PHASE_VARIABLE = "sluice_phase"

_TRUNK = TRUNK


# --------------------------------------------------------------------------- helpers


def _tokens(script: alembic_ops.MigrationScript) -> tuple[str, str]:
    up = script.upgrade_ops_list[0].upgrade_token if script.upgrade_ops_list else "upgrades"
    down = (script.downgrade_ops_list[0].downgrade_token
            if script.downgrade_ops_list else "downgrades")
    return up, down


def new_script(
    template: alembic_ops.MigrationScript,
    upgrade: list[Any],
    downgrade: list[Any] | None,
    *,
    message: str,
    rev_id: str | None = None,
) -> alembic_ops.MigrationScript:
    """A MigrationScript like ``template`` holding ``upgrade`` (downgrade: given or reversed)."""
    up_token, down_token = _tokens(template)
    upgrade_ops = alembic_ops.UpgradeOps(ops=list(upgrade), upgrade_token=up_token)
    if downgrade is None:
        downgrade_ops = upgrade_ops.reverse()
        downgrade_ops.downgrade_token = down_token
    else:
        downgrade_ops = alembic_ops.DowngradeOps(ops=list(downgrade), downgrade_token=down_token)
    script = alembic_ops.MigrationScript(
        rev_id=rev_id or alembic_util.rev_id(),
        message=message,
        upgrade_ops=upgrade_ops,
        downgrade_ops=downgrade_ops,
        imports=set(template.imports),
        head=template.head,
        splice=template.splice,
        branch_label=template.branch_label,
        version_path=template.version_path,
        depends_on=template.depends_on,
    )
    script._needs_render = True
    return script


def tagged(message: str | None, *tags: str) -> str:
    base = message or "empty message"
    if base.endswith("]") and " [" in base:
        head, _, inner = base[:-1].rpartition(" [")
        return f"{head} [{inner}, {', '.join(tags)}]"
    return f"{base} [{', '.join(tags)}]"


# --------------------------------------------------------------------------- per service


def _bucket_of(ctx: PolicyContext, op: Any) -> str:
    owner = op_owner(ctx.config, op)
    return owner if owner is not None else _TRUNK


def _partition(ctx: PolicyContext, ops: Iterable[Any]) -> dict[str, list[Any]]:
    buckets: dict[str, list[Any]] = {}
    for op in ops:
        buckets.setdefault(_bucket_of(ctx, op), []).append(op)
    return buckets


def _service_order(ctx: PolicyContext, buckets: dict[str, list[Any]]) -> list[str]:
    """Trunk first, then services so that a foreign key's target service comes first."""
    names = [n for n in ctx.config.services if n in buckets]
    deps: dict[str, set[str]] = {}
    for name in names:
        refs = {owner_of(ctx.config, t) for t in referenced_tables(buckets[name])}
        deps[name] = {r for r in refs if r and r != name and r in buckets}
    ordered: list[str] = []
    while names:
        ready = [n for n in names if deps[n] <= set(ordered)] or names[:1]
        ordered.append(ready[0])
        names.remove(ready[0])
    return ([_TRUNK] if _TRUNK in buckets else []) + ordered


def split_by_service(ctx: PolicyContext, directives: list[alembic_ops.MigrationScript]) -> None:
    """One revision per owning service; see :func:`service_branches`."""
    result: list[alembic_ops.MigrationScript] = []
    for script in directives:
        if len(script.upgrade_ops_list) != 1 or script.upgrade_ops_list[0].is_empty():
            result.append(script)  # multi-database env.py: left as Alembic made it
            continue
        up = _partition(ctx, script.upgrade_ops_list[0].ops)
        down = _partition(ctx, script.downgrade_ops_list[0].ops)
        order = _service_order(ctx, up)
        pending: dict[str, str] = {}
        for i, bucket in enumerate(order):
            first = i == 0
            if len(order) == 1:
                part = script
            else:
                part = new_script(
                    script, up[bucket], down.get(bucket, []),
                    message=(script.message or "") if bucket == _TRUNK
                    else tagged(script.message, bucket),
                    rev_id=script.rev_id if first else None,
                )
            if bucket == _TRUNK:
                tables = [t for op in up[bucket] for t, _ in op_tables(op)] or ["(no table)"]
                if part.head in (None, "head"):
                    part.head = unowned_trunk_head(ctx, tables)
                check_trunk_location(ctx, part, tables)
                pending[_TRUNK] = part.rev_id or ""
            else:
                place_on_branch(ctx, part, bucket, pending=pending)
                pending[bucket] = part.rev_id or ""
            result.append(part)
        if len(order) > 1:
            ctx.info(
                "split into " + ", ".join(
                    f"{p.rev_id} ({'trunk' if b == _TRUNK else b})"
                    for p, b in zip(result[-len(order):], order, strict=True)
                )
            )
    directives[:] = result


# --------------------------------------------------------------------------- expand/contract

_DROP_KINDS = {"drop_table", "drop_column", "drop_index", "drop_constraint"}


def contract_reason(op: Any) -> str | None:
    """Why ``op`` belongs in the contract step (None: it is additive or neutral)."""
    model = to_model(op)
    if model is None:
        return None
    return model_contract_reason(model)


def model_contract_reason(model: Op) -> str | None:
    if model.kind in _DROP_KINDS:
        return model.kind.replace("_", " ")
    if model.kind != "alter_column":
        return None
    if model.args.get("nullable") is False and model.args.get("existing_nullable") is not False:
        return "NOT NULL tightening"
    if "type_" in model.args:
        from sluice.rules.lint._compat import type_change_loses_data  # lazy: every lint rule

        old = TypeInfo.parse(model.args.get("existing_type"))
        new = TypeInfo.parse(model.args.get("type_"))
        if type_change_loses_data(old, new):
            return "lossy type change"
    return None


def _names_created(ops: Iterable[Any]) -> set[tuple[str | None, str]]:
    out: set[tuple[str | None, str]] = set()
    for op in ops:
        name = getattr(op, "index_name", None) or getattr(op, "constraint_name", None)
        if name is not None and not isinstance(op, (alembic_ops.DropIndexOp,
                                                    alembic_ops.DropConstraintOp)):
            out.add((_table(op), str(name)))
    return out


def _table(op: Any) -> str | None:
    tables = op_tables(op)
    return tables[0][0] if tables else None


def _recreated(op: Any, created: set[tuple[str | None, str]]) -> bool:
    """A drop of an index/constraint that the same revision creates again under that name."""
    name = getattr(op, "index_name", None) or getattr(op, "constraint_name", None)
    if name is None:
        return False
    return (_table(op), str(name)) in created


def partition_phases(ops: list[Any]) -> tuple[list[Any], list[Any]]:
    """(expand ops, contract ops), keeping order; table containers are split in two."""
    created = _names_created(_leaves(ops))

    def go(items: list[Any]) -> tuple[list[Any], list[Any]]:
        expand: list[Any] = []
        contract: list[Any] = []
        for item in items:
            if isinstance(item, alembic_ops.ModifyTableOps):
                e, c = go(item.ops)
                if e:
                    expand.append(alembic_ops.ModifyTableOps(item.table_name, e,
                                                             schema=item.schema))
                if c:
                    contract.append(alembic_ops.ModifyTableOps(item.table_name, c,
                                                               schema=item.schema))
            elif contract_reason(item) and not _recreated(item, created):
                contract.append(item)
            else:
                expand.append(item)
        return expand, contract

    return go(ops)


def _leaves(ops: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for op in ops:
        if isinstance(op, alembic_ops.OpContainer):
            out.extend(_leaves(op.ops))
        else:
            out.append(op)
    return out


def split_enabled(ctx: PolicyContext) -> bool:
    mc = ctx.migration_context
    value = mc.opts.get(SPLIT_OPTION) if mc is not None else None
    if value is None:
        return ctx.config.expand_contract
    return bool(value == EXPAND_CONTRACT)


def phase_marker(phase: str) -> str:
    """The module-level line that marks a generated revision's phase."""
    return f'{PHASE_VARIABLE} = "{phase}"  # sluice: expand/contract step'


def expand_contract(ctx: PolicyContext, directives: list[alembic_ops.MigrationScript]) -> None:
    """Split additive and destructive changes into an expand and a contract revision.

    Opt-in: ``expand_contract = true`` in the config, or ``-x split=expand-contract`` for
    one run (``-x split=none`` turns it off). Drops of tables, columns, indexes and
    constraints, NOT NULL tightening and lossy type changes go into a second revision whose
    ``down_revision`` is the first; both carry a module-level ``sluice_phase = "expand"`` /
    ``"contract"`` line and ``[expand]`` / ``[contract]`` in their message. Ship the expand
    revision with the code that stops using the old schema, and the contract revision in a
    later deploy. An index or constraint dropped and created again under the same name stays
    in the expand step. The contract step is still judged by the dangerous-ops policy: drops
    need ``-x allow=...`` as always.
    """
    if not ctx.autogenerate or not split_enabled(ctx):
        return
    result: list[alembic_ops.MigrationScript] = []
    for script in directives:
        if len(script.upgrade_ops_list) != 1:
            result.append(script)
            continue
        expand, contract = partition_phases(script.upgrade_ops_list[0].ops)
        if not contract:
            result.append(script)
            continue
        if not expand:
            _mark(ctx, script, "contract", None)
            script.message = tagged(script.message, "contract")
            result.append(script)
            continue
        first = new_script(script, expand, None, message=tagged(script.message, "expand"),
                           rev_id=script.rev_id)
        second = new_script(script, contract, None, message=tagged(script.message, "contract"))
        second.head = first.rev_id
        second.splice = False
        second.branch_label = None
        second.depends_on = None
        _mark(ctx, first, "expand", second.rev_id)
        _mark(ctx, second, "contract", first.rev_id)
        ctx.info(f"expand/contract: {first.rev_id} (expand), {second.rev_id} (contract)")
        result += [first, second]
    directives[:] = result


def _mark(ctx: PolicyContext, script: alembic_ops.MigrationScript, phase: str,
          other: str | None) -> None:
    script.imports.add(phase_marker(phase))
    if phase == "contract":
        text = ("sluice: contract step: removes what the expand step replaced. Ship it in a "
                "later deploy, once no running code uses the old schema"
                + (f" (expand step: {other})." if other else "."))
    else:
        text = (f"sluice: expand step: additive changes only; the destructive ones are in "
                f"{other} (contract).")
    script.upgrade_ops_list[0].ops.insert(0, CommentOp(text))
    ctx.notes.setdefault(script.rev_id or "", []).append(text)


SPLIT_VALUES = (EXPAND_CONTRACT, "none")


def parse_split(x_args: dict[str, str]) -> str | None:
    """``-x split=expand-contract|none`` (None: use the ``expand_contract`` config key)."""
    value = x_args.get("split")
    if value is None:
        return None
    value = value.strip().lower()
    if value not in SPLIT_VALUES:
        raise ConfigError(
            f"-x split={value}: unknown value; valid: {', '.join(SPLIT_VALUES)}"
        )
    return value


def service_branches(ctx: PolicyContext, directives: list[alembic_ops.MigrationScript]) -> None:
    """Put each revision on the branch of the service that owns its tables.

    With ``-x service=NAME`` (or ``alembic -n NAME``) the revision goes on that service's
    branch: ``NAME@head``, or a new branch from base labelled with the service's
    ``branch_label`` when it has none yet, written to its ``version_location``. A foreign
    key to another service's table adds that service's head to ``depends_on``, so
    ``alembic upgrade billing@head`` on an empty database creates the referenced table first;
    a foreign key to a table no service owns adds the trunk's head (or the trunk revision
    split off in the same run).

    Without a service, an autogenerate result touching several services' tables is split
    into one revision per service, each on its own branch (ops on tables no service owns
    stay on the unlabelled trunk). Model tables no service owns are warned about; a table
    claimed by two services is an error naming both.
    """
    if not ctx.config.services:
        return
    if ctx.autogenerate:
        warn_unowned(ctx)
    service = active_service(ctx)
    if service is not None:
        for script in directives:
            place_on_branch(ctx, script, service)
        return
    if not ctx.autogenerate:
        return
    split_by_service(ctx, directives)
