"""Review header: every generated script starts with a list of its operations and risks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.operations import ops as alembic_ops

from sluice.lint.dialects import policy_dialects
from sluice.lint.from_ops import ops_to_models
from sluice.lint.model import SEVERITY_ORDER, Op
from sluice.lint.registry import run_rules_for
from sluice.policy.base import CommentOp, PolicyContext

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
    models: list[Op] = []
    for upgrade_ops in script.upgrade_ops_list:
        models.extend(m for _, m in ops_to_models(upgrade_ops.ops))
    findings = run_rules_for(models, ctx.config, policy_dialects(
        ctx.config.lint.dialects, ctx.migration_context))
    worst: dict[int, int] = {}
    for f in findings:
        if f.op is not None:
            worst[id(f.op)] = max(worst.get(id(f.op), 0), SEVERITY_ORDER[f.severity])
    lines = [
        f"Sluice review: {len(models)} operation{'s' if len(models) != 1 else ''} "
        f"(environment: {ctx.environment})",
    ]
    for m in models:
        risk = RISK_LABEL[worst.get(id(m), 0)] if id(m) in worst else "low"
        lines.append(f"  [{risk:<6}] {describe(m)}")
    for note in ctx.notes.get(script.rev_id or "", []):
        lines.append(f"  {note}")
    return lines


def review_header(ctx: PolicyContext, directives: list[alembic_ops.MigrationScript]) -> None:
    """Start every generated script with a comment block listing its operations and risk.

    Risk is the highest lint severity among the rules that fire on the operation (HIGH:
    error, MEDIUM: warning, low: nothing found). The block goes at the top of the file when
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
