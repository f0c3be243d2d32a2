"""Rename rewriting: accepted rename candidates become renames in the revision.

Each accepted candidate becomes ``alter_column(..., new_column_name=...)`` /
``rename_table(...)`` in the upgrade, the downgrade renames back, and the indexes, constraints
and foreign keys that move with a renamed table are no longer dropped and re-created.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import renderers
from alembic.autogenerate.rewriter import Rewriter
from alembic.operations import ops as alembic_ops

from sluice.core.alembic_compat import reverse_op
from sluice.core.alembic_ops import ops_to_models
from sluice.policy.base import Allowance, CommentOp, PolicyContext
from sluice.policy.defaults import normalize_default
from sluice.policy.rename_detect import Candidate, default_sql, same_type


class RenameColumnOp(alembic_ops.AlterColumnOp):
    """``alter_column(..., new_column_name=...)`` whose reverse renames the column back."""

    def reverse(self) -> RenameColumnOp:
        assert self.modify_name is not None
        changed_type = self.modify_type is not None
        changed_null = self.modify_nullable is not None
        changed_default = self.modify_server_default is not False
        return RenameColumnOp(
            self.table_name,
            self.modify_name,
            schema=self.schema,
            existing_type=self.modify_type if changed_type else self.existing_type,
            existing_nullable=self.modify_nullable if changed_null else self.existing_nullable,
            existing_server_default=(self.modify_server_default if changed_default
                                     else self.existing_server_default),
            modify_name=self.column_name,
            modify_type=self.existing_type if changed_type else None,
            modify_nullable=self.existing_nullable if changed_null else None,
            modify_server_default=(self.existing_server_default or None) if changed_default
            else False,
        )


class RenameTableOp(alembic_ops.RenameTableOp):
    """``rename_table(old, new)`` with a reverse (Alembic's own has none)."""

    def reverse(self) -> RenameTableOp:
        return RenameTableOp(self.new_table_name, self.table_name, schema=self.schema)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("rename_table", self.table_name, self.new_table_name)


@renderers.dispatch_for(RenameTableOp)
def _render_rename_table(autogen_context: Any, op: RenameTableOp) -> str:
    prefix = autogen_context.opts.get("alembic_module_prefix", "op.")
    schema = f", schema={op.schema!r}" if op.schema else ""
    return f"{prefix}rename_table({op.table_name!r}, {op.new_table_name!r}{schema})"


def rename_column_op(cand: Candidate) -> RenameColumnOp:
    old = cand.drop.to_column()
    new = cand.add.column
    old_type = getattr(old, "type", None)
    old_default = getattr(old, "server_default", None)
    changed_default = normalize_default(default_sql(old_default)) != normalize_default(
        default_sql(new.server_default))
    return RenameColumnOp(
        cand.table,
        cand.old,
        schema=cand.schema,
        existing_type=old_type,
        existing_nullable=getattr(old, "nullable", None),
        existing_server_default=old_default if old_default is not None else False,
        modify_name=cand.new,
        modify_type=None if same_type(old_type, new.type) else new.type,
        modify_nullable=None if getattr(old, "nullable", None) == new.nullable else new.nullable,
        modify_server_default=new.server_default if changed_default else False,
    )


def _plan(cand: Candidate, note: str) -> tuple[dict[int, list[Any]], dict[tuple[str, ...], Any]]:
    """Replacements in the upgrade ops (by op identity) and matchers for the downgrade."""
    up: dict[int, list[Any]] = {}
    down: dict[tuple[str, ...], Any]
    if cand.kind == "column":
        rename: Any = rename_column_op(cand)
        up[id(cand.add)] = [CommentOp(note), rename]
        up[id(cand.drop)] = []
        down = {
            ("add_column", cand.table, cand.old): rename.reverse(),
            ("drop_column", cand.table, cand.new): None,
        }
    else:
        rename = RenameTableOp(cand.old, cand.new, schema=cand.schema)
        up[id(cand.add)] = [CommentOp(note), rename]
        up[id(cand.drop)] = []
        down = {
            ("create_table", cand.old): rename.reverse(),
            ("drop_table", cand.new): None,
        }
    return up, down


def _down_key(op: Any, table: str | None) -> tuple[str, ...] | None:
    if isinstance(op, alembic_ops.AddColumnOp):
        return ("add_column", op.table_name or table or "", op.column.name)
    if isinstance(op, alembic_ops.DropColumnOp):
        return ("drop_column", op.table_name or table or "", op.column_name)
    if isinstance(op, alembic_ops.CreateTableOp):
        return ("create_table", op.table_name)
    if isinstance(op, alembic_ops.DropTableOp):
        return ("drop_table", op.table_name)
    return None


def apply_renames(ctx: PolicyContext, script: alembic_ops.MigrationScript,
                  accepted: list[tuple[Candidate, str]]) -> None:
    """Rewrite ``script`` (upgrade and downgrade) for the accepted candidates."""
    if not accepted:
        return
    up: dict[int, list[Any]] = {}
    down: dict[tuple[str, ...], Any] = {}
    for cand, note in accepted:
        u, d = _plan(cand, note)
        up.update(u)
        down.update(d)
        ctx.notes.setdefault(script.rev_id or "", []).append(note)
        # the rename was decided (config or prompt): an override of the rename rules
        # (SL103/SL104), written into the script as a reviewed suppression
        origin = note[note.rfind("(") + 1:].rstrip(")")
        for _, model in ops_to_models([u[id(cand.add)][-1]]):
            ctx.allowances.append(Allowance(model.allow_key, origin))
    removed_indexes = _indexes_kept_by_rename(accepted)
    table_renames = {c.old: c.new for c, _ in accepted if c.kind == "table"}
    redundant = {id(op) for ops_list in (*script.upgrade_ops_list, *script.downgrade_ops_list)
                 for op in _redundant_fk_pairs(ops_list.ops, table_renames)}

    writer = Rewriter()

    def rewrite(context: Any, revision: Any, op: Any) -> Any:
        if id(op) in up:
            return up[id(op)]
        if id(op) in redundant:
            return []
        key = _down_key(op, None)
        if key is not None and key in down:
            replacement = down[key]
            return [] if replacement is None else replacement
        name = getattr(op, "index_name", None)
        if name is not None and (op.table_name, name) in removed_indexes:
            return []
        if isinstance(op, _INDEX_AND_CONSTRAINT_OPS) and _op_table(op) in table_renames:
            return []  # indexes and constraints of the old table move with rename_table
        return op

    for cls in (alembic_ops.AddColumnOp, alembic_ops.DropColumnOp, alembic_ops.CreateTableOp,
                alembic_ops.DropTableOp, alembic_ops.CreateIndexOp, alembic_ops.DropIndexOp,
                alembic_ops.DropConstraintOp, alembic_ops.AddConstraintOp,
                alembic_ops.CreateForeignKeyOp):
        writer.rewrites(cls)(rewrite)
    writer(ctx.migration_context, (), [script])
    for ops_list in (*script.upgrade_ops_list, *script.downgrade_ops_list):
        ops_list.ops = [o for o in ops_list.ops
                        if not (isinstance(o, alembic_ops.ModifyTableOps) and not o.ops)]


_INDEX_AND_CONSTRAINT_OPS = (alembic_ops.CreateIndexOp, alembic_ops.DropIndexOp,
                             alembic_ops.AddConstraintOp, alembic_ops.DropConstraintOp)


def _op_table(op: Any) -> str | None:
    name = getattr(op, "table_name", None) or getattr(op, "source_table", None)
    return name if isinstance(name, str) else None


def _fk_key(op: Any) -> tuple[Any, ...] | None:
    """(source table, local columns, referent table, remote columns) of a foreign key op."""
    if isinstance(op, alembic_ops.DropConstraintOp):
        if op.constraint_type != "foreignkey":
            return None
        op = reverse_op(op)
    if not isinstance(op, alembic_ops.CreateForeignKeyOp):
        return None
    return (op.source_table, tuple(op.local_cols), op.referent_table, tuple(op.remote_cols))


def _redundant_fk_pairs(ops: list[Any], renamed: dict[str, str]) -> list[Any]:
    """Foreign keys dropped and re-created only because their target table was renamed.

    Every database moves a foreign key along with ``rename_table``, so the pair
    autogenerate wrote (drop the key to the old name, create it to the new one) goes.
    """
    if not renamed:
        return []
    pairs = {**renamed, **{new: old for old, new in renamed.items()}}
    leaves: list[Any] = []

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, alembic_ops.OpContainer):
                walk(item.ops)
            else:
                leaves.append(item)

    walk(ops)
    drops = [(o, k) for o in leaves if isinstance(o, alembic_ops.DropConstraintOp)
             and (k := _fk_key(o)) is not None and k[2] in pairs]
    creates = [(o, k) for o in leaves if isinstance(o, alembic_ops.CreateForeignKeyOp)
               and (k := _fk_key(o)) is not None]
    out: list[Any] = []
    used: set[int] = set()
    for drop, dk in drops:
        for create, ck in creates:
            if id(create) in used:
                continue
            if (ck[0], ck[1], ck[3]) == (dk[0], dk[1], dk[3]) and ck[2] == pairs[dk[2]]:
                out += [drop, create]
                used.add(id(create))
                break
    return out


def _indexes_kept_by_rename(accepted: list[tuple[Candidate, str]]) -> set[tuple[str, str]]:
    """Indexes a renamed table already has under the same name (creating them would fail)."""
    out: set[tuple[str, str]] = set()
    for cand, _ in accepted:
        if cand.kind != "table":
            continue
        try:
            table = cand.drop.to_table()
        except Exception:
            continue
        for index in getattr(table, "indexes", ()):
            if index.name:
                out.add((cand.new, str(index.name)))
    return out
