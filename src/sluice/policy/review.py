"""Review header: every generated script starts with a list of its operations and risks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.operations import ops as alembic_ops

from sluice.core.alembic_ops import iter_leaf_ops
from sluice.core.findings import SEVERITY_ORDER, Finding
from sluice.core.ops import Op
from sluice.policy.base import CommentOp, PolicyContext
from sluice.policy.dangerous import judge, refusable
from sluice.policy.enums import AddEnumValuesOp, describe_enum_values
from sluice.policy.safe import rewritten, without_recipe_steps

#: Headers by revision id, read by the ``sluice_header`` template function.
_HEADERS: dict[str, str] = {}

RISK_LABEL = {2: "HIGH", 1: "MEDIUM", 0: "low"}


def sluice_header(rev_id: str) -> str:
    """Template function: the review header for ``rev_id`` ('' when there is none)."""
    return _HEADERS.pop(rev_id, "")


def describe(op: Op) -> str:
    extra = ""
    if op.kind in ("add_column", "alter_column"):
        bits = []
        if op.args.get("type_"):
            bits.append(str(op.args["type_"]))
        if "nullable" in op.args:
            bits.append("nullable" if op.args["nullable"] else "NOT NULL")
        if op.args.get("server_default"):
            bits.append(f"default {op.args['server_default']}")
        if op.args.get("new_column_name"):
            bits.append(f"renamed to {op.args['new_column_name']}")
        extra = f" ({', '.join(bits)})" if bits else ""
    elif op.name and op.kind not in ("drop_table", "create_table"):
        extra = f" ({op.name})"
    return f"{op.kind} {op.target}{extra}"


def header_lines(ctx: PolicyContext, script: alembic_ops.MigrationScript) -> list[str]:
    """``Sluice review: N operations``, then one line per operation: its risk, what it
    does, and the rules that fire on it with their severities (the findings ``sluice
    lint`` reports for the written file; ``allowed``: the override the policy wrote). An
    op ``safe_by_default`` wrote as a recipe is one line, ``[recipe]``: the op as
    generated, the rules that asked for the recipe, and the recipe's id."""
    entries: list[str] = []
    for upgrade_ops in script.upgrade_ops_list:
        entries += _entries(ctx, upgrade_ops)
    lines = [
        f"Sluice review: {len(entries)} operation{'s' if len(entries) != 1 else ''} "
        f"(environment: {ctx.environment})",
        *entries,
    ]
    for note in ctx.notes.get(script.rev_id or "", []):
        lines.append(f"  {note}")
    return lines


def _entries(ctx: PolicyContext, upgrade_ops: alembic_ops.UpgradeOps) -> list[str]:
    plain = without_recipe_steps(upgrade_ops)
    pairs, findings = judge(ctx, plain)
    by_op: dict[int, list[Finding]] = {}
    for f in findings:
        by_op.setdefault(id(f.op), []).append(f)
    models: dict[int, list[Op]] = {}  # a plugin's operation: one per statement it runs
    for raw, m in pairs:
        models.setdefault(id(raw), []).append(m)
    out: list[str] = []
    seen: set[int] = set()
    for raw, _ in iter_leaf_ops(upgrade_ops.ops):
        rewrite = rewritten(raw)
        if rewrite is not None:
            if id(rewrite) not in seen:
                seen.add(id(rewrite))
                rules = ", ".join(f"{f.rule} {f.severity}" for f in rewrite.findings)
                late = " (steps after the backfill)" if rewrite.contract_part else ""
                out.append(f"  [recipe] {describe(rewrite.model)}  "
                           + (f"{rules} -> " if rules else "")
                           + f"{rewrite.applied.recipe.id}{late}")
            continue
        if isinstance(raw, AddEnumValuesOp):  # not a lint model: its own line
            out.append(f"  {describe_enum_values(raw)}")
            continue
        ms = models.get(id(raw))
        if not ms:
            continue
        found = [(m, f) for m in ms for f in by_op.get(id(m), [])]
        worst = max((SEVERITY_ORDER[f.severity] for _, f in found), default=0)
        rules = ", ".join(
            f"{f.rule} {f.severity}"
            + (" allowed" if refusable(f) and ctx.allowed_by(m.allow_key) else "")
            for m, f in found)
        out.append(f"  [{RISK_LABEL[worst]:<6}] {describe_all(ms)}"
                   + (f"  {rules}" if rules else ""))
    return out


def describe_all(models: list[Op]) -> str:
    """One generated operation: itself, or a plugin's operation by its name and the
    number of statements it runs."""
    via = models[0].args.get("via")
    if not isinstance(via, str):
        return describe(models[0])
    what = f" {models[0].args['enum']}" if models[0].args.get("enum") else ""
    count = f"{len(models)} statement{'s' if len(models) != 1 else ''}"
    return f"{via.rsplit('.', 1)[-1]}{what} ({count})"


def review_header(ctx: PolicyContext, directives: list[alembic_ops.MigrationScript]) -> None:
    """Start every generated script with a comment block listing its operations and risk.

    Risk is the highest lint severity among the rules that fire on the operation (HIGH:
    error, MEDIUM: warning, low: info or nothing found); the rules are listed with it. The block goes at the top of the file when
    the project's ``script.py.mako`` contains ``sluice_header`` (``sluice init`` installs
    such a template); otherwise at the top of ``upgrade()``.
    """
    if not ctx.autogenerate:
        return
    template_in_use = _template_has_header(ctx)
    for script in directives:
        lines = header_lines(ctx, script)
        if template_in_use and script.rev_id:
            _HEADERS[script.rev_id] = "\n".join(f"# {line}" for line in lines) + "\n"
        elif script.upgrade_ops_list:
            script.upgrade_ops_list[0].ops.insert(0, CommentOp("\n".join(lines)))
    if template_in_use and ctx.migration_context is not None:
        ctx.migration_context.opts.setdefault("template_args", {})["sluice_header"] = sluice_header


def _template_has_header(ctx: PolicyContext) -> bool:
    mc: Any = ctx.migration_context
    try:
        script_dir = mc.script.dir if mc is not None and mc.script is not None else None
    except Exception:
        script_dir = None
    if script_dir is None:
        return False
    template = Path(script_dir) / "script.py.mako"
    try:
        return "sluice_header" in template.read_text(encoding="utf-8")
    except OSError:
        return False
