"""``safe_by_default``: a generated revision that can be run again after a failure.

A recipe commits part way: its ``autocommit_block()`` commits the revision's transaction
so far before its own statements run, and a batched backfill commits batch by batch.
The plain operations written before it in the same revision (``op.drop_table``,
``op.add_column``) are committed with that first commit, but the revision is not
recorded as applied until it ends. When a later step fails (a backfill batch, a lock
timeout), Sluice says to fix the cause and run the upgrade again; the rerun starts the
revision from its top, and the plain operations, which are not written to run twice,
fail (``DROP TABLE orders``: the table is gone).

So the plain operations that come before a recipe's last commit are moved into a
revision of their own, written before the one with the recipes: it commits with its own
version row (the recipe's first commit takes both), and a rerun after a failure in the
recipes starts after it. Every recipe step is written to run again. Plain operations
after the last commit stay where they are: they commit together with the version row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from alembic.operations import ops as alembic_ops

from sluice.policy.base import CommentOp, PolicyContext
from sluice.policy.safe import Rewrite, leaves, rewrite_ops
from sluice.policy.split import new_script, tagged

Keep = Callable[[Any], bool]


def split_before_recipes(ctx: PolicyContext, rctx: Any, script: alembic_ops.MigrationScript,
                         directives: list[alembic_ops.MigrationScript],
                         keep: Keep) -> alembic_ops.MigrationScript | None:
    """Move the plain operations of ``script`` that the recipes would write before a
    commit into a new revision inserted before it in ``directives`` (see the module
    docs); the new revision, or None when nothing needs to move (or the downgrade's
    counterparts of the moved operations cannot be told apart: then nothing changes)."""
    if len(script.upgrade_ops_list) != 1 or len(script.downgrade_ops_list) != 1:
        return None
    upgrade, downgrade = script.upgrade_ops_list[0], script.downgrade_ops_list[0]
    moved = _before_last_commit(upgrade.ops, rctx, keep)
    if not moved:
        return None
    try:
        undo = [_key(o.reverse()) for o in leaves(upgrade.ops) if id(o) in moved]
    except (NotImplementedError, AttributeError, ValueError, TypeError):
        return None
    down_moved: set[int] = set()
    down_leaves = leaves(downgrade.ops)
    for key in undo:
        match = next((o for o in down_leaves if id(o) not in down_moved and _key(o) == key),
                     None)
        if match is None:
            return None
        down_moved.add(id(match))
    pre_up, rest_up = _partition(upgrade.ops, moved)
    pre_down, rest_down = _partition(downgrade.ops, down_moved)
    first = new_script(script, pre_up, pre_down, message=tagged(script.message, "prepare"))
    upgrade.ops, downgrade.ops = rest_up, rest_down
    script.head = first.rev_id
    script.splice = False
    script.branch_label = None
    script.depends_on = None
    rev = script.rev_id or ""
    before = (f"sluice: prepare step: the plain operations of {rev}, which run before its "
              "recipe steps commit; in a revision of their own so that rerunning the "
              f"upgrade after a failure in {rev} does not run them again.")
    after = (f"sluice: the plain operations before this revision's recipe steps are in "
             f"{first.rev_id}, which runs first: after a failure here, rerun the upgrade.")
    for target, text in ((first, before), (script, after)):
        target.upgrade_ops_list[0].ops.insert(0, CommentOp(text))
        ctx.notes.setdefault(target.rev_id or "", []).append(text)
    ctx.info(f"safe_by_default: {first.rev_id} (plain operations), {rev} (recipes)")
    directives.insert(directives.index(script), first)
    return first


def _before_last_commit(ops: list[Any], rctx: Any, keep: Keep) -> set[int]:
    """The ids of the plain (not rewritten) operations of ``ops`` that the recipes would
    write before their last commit (an ``autocommit_block`` or a batched backfill)."""
    from sluice.recipes.steps import (  # lazy: recipes load when safe_by_default is on
        AutocommitBlock,
        Backfill,
    )

    trial = _copy(ops)  # the same operations in new containers: rewritten, then dropped
    rewrite_ops(trial, dataclasses.replace(rctx), keep,
                make=lambda o, applied: Rewrite(o, applied), phase="upgrade", contract=None)
    original = {id(o) for o in leaves(ops)}
    flat = leaves(trial)
    commits = [i for i, o in enumerate(flat) if isinstance(o, (AutocommitBlock, Backfill))]
    if not commits:
        return set()
    return {id(o) for o in flat[:commits[-1]]
            if id(o) in original and not isinstance(o, CommentOp)}


def _copy(ops: list[Any]) -> list[Any]:
    out: list[Any] = []
    for o in ops:
        if isinstance(o, alembic_ops.ModifyTableOps):
            out.append(alembic_ops.ModifyTableOps(o.table_name, _copy(list(o.ops)),
                                                  schema=o.schema))
        else:
            out.append(o)
    return out


def _partition(ops: list[Any], chosen: set[int]) -> tuple[list[Any], list[Any]]:
    """(the operations in ``chosen``, the others), in order, table containers split."""
    picked: list[Any] = []
    rest: list[Any] = []
    for o in ops:
        if isinstance(o, alembic_ops.ModifyTableOps):
            p, r = _partition(list(o.ops), chosen)
            if p:
                picked.append(alembic_ops.ModifyTableOps(o.table_name, p, schema=o.schema))
            if r:
                rest.append(alembic_ops.ModifyTableOps(o.table_name, r, schema=o.schema))
        elif id(o) in chosen:
            picked.append(o)
        else:
            rest.append(o)
    return picked, rest


def _key(op: Any) -> tuple[Any, ...]:
    """What an operation does to what: its kind, table, column and index or constraint."""
    column = getattr(op, "column_name", None) or getattr(getattr(op, "column", None),
                                                         "name", None)
    name = getattr(op, "index_name", None) or getattr(op, "constraint_name", None)
    return (type(op).__name__, getattr(op, "table_name", None), getattr(op, "schema", None),
            None if column is None else str(column), None if name is None else str(name))
