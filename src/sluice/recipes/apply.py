"""Applying the registry to a list of Alembic operations."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.operations import ops

from sluice.lint.fixplan import ANY_TABLE, ColumnRef, TableRef, table_ref
from sluice.recipes.model import Recipe, RecipeContext, recipes_for
from sluice.recipes.steps import Anchor, AutocommitBlock, Backfill, LockTimeout, Suppressed
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


def schema_of(op: ops.MigrateOperation) -> str | None:
    """The schema of the table :func:`table_of` names (``source_schema`` for a foreign key)."""
    schema = getattr(op, "schema", None)
    if schema is None and isinstance(op, ops.CreateForeignKeyOp):
        schema = op.kw.get("source_schema")
    return str(schema) if schema else None


def key_of(op: ops.MigrateOperation) -> TableRef | None:
    """``(schema, table)`` of the table an op works on, as :func:`table_ref` spells it."""
    table = table_of(op)
    return None if table is None else table_ref(table, schema_of(op))


def rewrite_op(op: ops.MigrateOperation, ctx: RecipeContext, *,
               depended: Collection[ColumnRef] = ()) -> Applied | None:
    """The first recipe of ``ctx.dialect`` that applies to ``op`` on the target version
    (and answers a rule in force), applied; None when none does. The caller decides whether the table already exists
    (a table created in the same revision needs no recipe). ``depended``: the columns an
    index or a constraint made earlier in the revision depends on (see :class:`Seen`); a
    recipe that rebuilds the op's column (``Recipe.rebuilds_column``) is not applied to
    one of them."""
    column = _column_of(op)
    for recipe in recipes_for(ctx.dialect):
        if not ctx.wants(recipe) or (recipe.rebuilds_column and column in depended):
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
                  new_tables: Iterable[str | TableRef] = (),
                  swapped: Iterable[str | TableRef] = (),
                  depended: Iterable[ColumnRef] = ()) -> RecipeResult:
    """Rewrite every op of ``operations`` that a recipe answers into its safe sequence.

    Ops on a table created earlier in the list (or in ``new_tables``), or dropped later in
    it, are left alone: nobody waits on such a table. So is a constraint created on a
    table a constraint of which is dropped earlier in the list (or in ``swapped``): the
    two are a swap meant to commit together, and a recipe's ``autocommit_block`` would
    commit the drop first, leaving the table without either constraint (and a rerun
    failing on the drop) if the new one fails. A table is its schema and name
    (:func:`table_ref`; a plain name in ``new_tables`` or ``swapped`` is one without a
    schema). A column an index or a constraint made earlier in the list (or in
    ``depended``) depends on is not rebuilt (:func:`rewrite_op`). Containers
    (``UpgradeOps``, ``ModifyTableOps``, as autogenerate builds them) are rewritten in
    place and kept. Adjacent ``autocommit_block``s are merged and repeated lock timeouts
    dropped.
    """
    seen = Seen(operations, new_tables=new_tables, swapped=swapped, depended=depended)
    applied: list[Applied] = []
    out = _walk(list(operations), ctx, seen, applied)
    return RecipeResult(tidy(out, ctx.dialect), applied)


class Seen:
    """What the ops before the one a recipe may rewrite did, as the recipes need it: the
    tables created (and those the list drops anywhere), the tables a constraint of which
    was dropped, the columns an index or a constraint depends on. :meth:`note` each op
    before asking about it."""

    def __init__(self, operations: Iterable[ops.MigrateOperation] = (), *,
                 new_tables: Iterable[str | TableRef] = (),
                 swapped: Iterable[str | TableRef] = (),
                 depended: Iterable[ColumnRef] = ()) -> None:
        self.created = {_as_key(t) for t in new_tables}
        self.dropped = {table_ref(str(o.table_name), o.schema) for o in _flat(operations)
                        if isinstance(o, ops.DropTableOp)}
        self.swapped = {_as_key(t) for t in swapped}
        self.depended = set(depended)

    def note(self, op: ops.MigrateOperation) -> None:
        """``op`` comes next."""
        key = key_of(op)
        if isinstance(op, ops.CreateTableOp) and key is not None:
            self.created.add(key)
        if isinstance(op, ops.DropConstraintOp) and key is not None:
            self.swapped.add(key)
        self.depended |= dependents(op)

    def new_table(self, op: ops.MigrateOperation) -> bool:
        """``op`` works on a table created before it, or dropped in the list."""
        key = key_of(op)
        return key is not None and key in self.created | self.dropped

    def swap(self, op: ops.MigrateOperation) -> bool:
        """``op`` creates a constraint on a table a constraint of which was dropped (or
        on any table, after a drop on a table the source computes the name of)."""
        key = key_of(op)
        return isinstance(op, _CREATES) and key is not None and (
            key in self.swapped or ANY_TABLE in self.swapped)


def _as_key(table: str | TableRef) -> TableRef:
    return table_ref(table, None) if isinstance(table, str) else table


def _column_of(op: ops.MigrateOperation) -> ColumnRef | None:
    if not isinstance(op, ops.AlterColumnOp):
        return None
    return (*table_ref(str(op.table_name), op.schema), str(op.column_name).lower())


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _words(value: Any) -> set[str]:
    """The identifiers a column list, an expression or SQL text may name (lower case)."""
    if isinstance(value, (list, tuple)):
        return {w for v in value for w in _words(v)}
    if isinstance(value, sa.Column):
        return {str(value.name).lower()}
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:  # noqa: BLE001 - an expression that does not print names nothing
        return set()
    return {w.lower() for w in _WORD.findall(text)}


def dependents(op: ops.MigrateOperation) -> set[ColumnRef]:
    """The columns an index or a constraint ``op`` creates depends on (every identifier
    its columns or its expression names, a superset): dropping such a column drops it."""
    found: set[tuple[str, str, str]] = set()
    key = key_of(op)
    if isinstance(op, ops.CreateForeignKeyOp):
        referent = table_ref(str(op.referent_table), op.kw.get("referent_schema"))
        found |= {(*referent, w) for w in _words(op.remote_cols)}
        words = _words(op.local_cols)
    elif isinstance(op, (ops.CreateIndexOp, ops.CreateUniqueConstraintOp,
                         ops.CreatePrimaryKeyOp)):
        words = _words(op.columns)
    elif isinstance(op, ops.CreateCheckConstraintOp):
        words = _words(op.condition)
    elif isinstance(op, ops.AddColumnOp):
        col = op.column
        words = {str(col.name).lower()} if (col.index or col.unique or col.primary_key
                                            or col.foreign_keys or col.constraints) else set()
        for fk in col.foreign_keys:
            *schema, table, column = str(fk._colspec).split(".")  # noqa: SLF001 - as written
            found.add((*table_ref(table, ".".join(schema) or None), column.lower()))
    else:
        words = set()
    if key is not None:
        found |= {(*key, w) for w in words}
    return found


def _flat(operations: Iterable[ops.MigrateOperation]) -> Iterable[ops.MigrateOperation]:
    for o in operations:
        if isinstance(o, ops.OpContainer):
            yield from _flat(o.ops)
        else:
            yield o


#: Ops that create a constraint: the second half of a swap after a drop of one.
_CREATES = (ops.CreateForeignKeyOp, ops.CreateUniqueConstraintOp, ops.CreateCheckConstraintOp,
            ops.CreatePrimaryKeyOp)


def _walk(operations: list[ops.MigrateOperation], ctx: RecipeContext, seen: Seen,
          applied: list[Applied]) -> list[ops.MigrateOperation]:
    out: list[ops.MigrateOperation] = []
    for o in operations:
        if isinstance(o, ops.OpContainer):
            o.ops = tidy(_walk(list(o.ops), ctx, seen, applied), ctx.dialect)
            out.append(o)
            continue
        seen.note(o)
        if seen.new_table(o) or seen.swap(o):
            out.append(o)
            continue
        done = rewrite_op(o, ctx, depended=seen.depended)
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
            anchors: list[ops.MigrateOperation] = []
            while out and isinstance(out[-1], Anchor):  # (where a call's ops start)
                anchors.insert(0, out.pop())
            prev = out[-1] if out else None
            if isinstance(prev, LockTimeout):
                out.pop()  # a SET LOCAL right before a commit does nothing
            prev = out[-1] if out else None
            if isinstance(prev, AutocommitBlock) and prev.lock_timeout == o.lock_timeout:
                prev.ops += anchors + o.ops
            else:
                out += anchors
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
