"""Rename detection: a drop plus an add that is really a rename.

Autogenerate cannot see renames. Rename ``users.fullname`` to ``users.full_name`` in the
model and it writes ``drop_column('users', 'fullname')`` plus ``add_column('users',
full_name)``: the data in the column is gone after the upgrade. The same for a table
renamed in the model (``drop_table`` + ``create_table``).

A *rename candidate* is

- a column dropped and a column added in the same table, with compatible types (same type
  family, or a widening change) and similar names (``difflib`` ratio of at least 0.6, or
  one name contained in the other), or
- a table dropped and a table created with the same column names and compatible types.

Each candidate is rewritten to ``alter_column(..., new_column_name=...)`` /
``rename_table(...)`` (downgrade renames back) when ``renames`` in the config lists it, or
when the user confirms it at a terminal prompt (the context's ``confirm``, which the env.py
glue sets only when stdin is a terminal and ``CI`` is not set); it is left as drop + add when the drop is explicitly allowed (``-x allow=...``);
otherwise it is refused, and the message shows both ways forward.
"""

from __future__ import annotations

from alembic.operations import ops as alembic_ops

from sluice.core.alembic_ops import type_text
from sluice.errors import PolicyViolation
from sluice.policy.base import PolicyContext
from sluice.policy.rename_detect import (
    SIMILARITY,
    Candidate,
    find_candidates,
    name_similarity,
    types_compatible,
)
from sluice.policy.rename_rewrite import (
    RenameColumnOp,
    RenameTableOp,
    apply_renames,
    rename_column_op,
)

__all__ = [
    "SIMILARITY", "Candidate", "RenameColumnOp", "RenameTableOp", "apply_renames",
    "describe", "find_candidates", "name_similarity", "rename_column_op",
    "renames", "types_compatible",
]


def _config_hint(ctx: PolicyContext, cands: list[Candidate]) -> str:
    source = ctx.config.source
    if source is not None and source.name == "pyproject.toml":
        header, where = "[tool.sluice.renames]", str(source)
    else:
        header, where = "[renames]", str(source) if source is not None else "sluice.toml"
    lines = [f'       "{c.old_key}" = "{c.new_key}"' for c in cands]
    return f"   If it is a rename, add to {where} and run again:\n       {header}\n" + "\n".join(lines)


def describe(cand: Candidate) -> str:
    if cand.kind == "column":
        return (f"column {cand.table}.{cand.old} dropped and {cand.table}.{cand.new} added "
                f"({type_text(cand.add.column.type)})")
    return f"table {cand.old} dropped and table {cand.new} created with the same columns"


def renames(ctx: PolicyContext, directives: list[alembic_ops.MigrationScript]) -> None:
    """Turn drop + add pairs that are really renames into renames, or refuse them.

    A column dropped and another added in the same table with a compatible type and a
    similar name, or a table dropped and one created with the same columns, is almost
    always a rename that autogenerate turns into data loss. Such a pair becomes
    ``alter_column(..., new_column_name=...)`` / ``rename_table(...)`` (the downgrade
    renames back) when ``renames = { "users.fullname" = "users.full_name" }`` lists it (or
    ``{ "customers" = "clients" }`` for a table), or when you confirm it at the prompt
    (only on a terminal, never in CI). It stays a drop + add when the drop is explicitly
    allowed (``-x allow=drop_column:users.fullname``). Otherwise the run is refused
    (``dangerous_ops = "warn"``: warned) with both options spelled out.
    """
    if not ctx.autogenerate:
        return
    configured = ctx.config.renames
    unresolved: list[Candidate] = []
    for script in directives:
        for upgrade_ops in script.upgrade_ops_list:
            accepted: list[tuple[Candidate, str]] = []
            for cand in find_candidates(upgrade_ops.ops, configured):
                if configured.get(cand.old_key) == cand.new_key:
                    where = ctx.config.source.name if ctx.config.source else "config"
                    accepted.append((cand, f"sluice: rename {cand.old_key} -> {cand.new_key} "
                                           f"(renames in {where})"))
                elif ctx.allowed_by(cand.drop_allow_key) is not None:
                    continue
                elif ctx.confirm is not None:
                    if ctx.confirm(f"sluice: {describe(cand)}. Is this a rename of "
                                   f"{cand.old_key} to {cand.new_key}?"):
                        accepted.append((cand, f"sluice: rename {cand.old_key} -> "
                                               f"{cand.new_key} (confirmed at the prompt)"))
                    # "no": a real drop + add, judged by the dangerous-ops policy as usual.
                else:
                    unresolved.append(cand)
            apply_renames(ctx, script, accepted)
    if not unresolved:
        return
    body = "\n".join(
        f"- {describe(c)}: looks like a rename of {c.old_key} to {c.new_key}; as generated it "
        f"drops {c.old_key} and everything in it." for c in unresolved
    )
    allows = ",".join(c.drop_allow_key for c in unresolved)
    options = (
        f"{_config_hint(ctx, unresolved)}\n"
        f"   If you really mean drop and add (the data is lost):\n"
        f"     {ctx.allow_command(allows)}"
    )
    if ctx.config.dangerous_ops == "warn":
        ctx.warn(f"possible rename written as drop + add:\n{body}\n{options}")
        return
    count = len(unresolved)
    raise PolicyViolation(
        f"refused {count} possible rename{'s' if count > 1 else ''} written as drop + add; "
        f"no revision written\n{body}\n{options}"
    )
