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
when the user confirms it at a terminal prompt (only when stdin is a terminal and ``CI`` is
not set); it is left as drop + add when the drop is explicitly allowed (``-x allow=...``);
otherwise it is refused, and the message shows both ways forward.
"""

from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass
from typing import Any

from alembic.autogenerate import renderers
from alembic.autogenerate.rewriter import Rewriter
from alembic.operations import ops as alembic_ops

from sluice.core.alembic_compat import reverse_op
from sluice.errors import PolicyViolation
from sluice.lint.from_ops import ops_to_models, type_text
from sluice.lint.model import TypeInfo
from sluice.policy.base import Allowance, CommentOp, PolicyContext
from sluice.policy.defaults import normalize_default

SIMILARITY = 0.6

_WIDENING = {
    ("integer", "biginteger"), ("integer", "numeric"), ("biginteger", "numeric"),
    ("string", "text"), ("integer", "float"), ("date", "datetime"),
}


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


# --------------------------------------------------------------------------- detection


def name_similarity(old: str, new: str) -> float:
    a = old.lower().replace("_", "")
    b = new.lower().replace("_", "")
    if a == b:
        return 1.0
    if min(len(a), len(b)) >= 3 and (a in b or b in a):
        return max(SIMILARITY, difflib.SequenceMatcher(None, a, b).ratio())
    return difflib.SequenceMatcher(None, old.lower(), new.lower()).ratio()


def types_compatible(old: Any, new: Any) -> bool:
    """Same type family, or a change that cannot lose data (unknown types: compatible)."""
    a = TypeInfo.parse(type_text(old))
    b = TypeInfo.parse(type_text(new))
    if a is None or b is None:
        return True
    return a.family == b.family or (a.family, b.family) in _WIDENING


def _same_type(old: Any, new: Any) -> bool:
    a = TypeInfo.parse(type_text(old))
    b = TypeInfo.parse(type_text(new))
    if a is None or b is None:
        return True
    same_len = a.length == b.length or a.length is None or b.length is None
    return (a.family == b.family and same_len and
            (a.precision, a.scale) == (b.precision, b.scale))


def _default_sql(default: Any) -> str | None:
    if default is None or default is False:
        return None
    arg = getattr(default, "arg", default)
    if isinstance(arg, str):
        return f"'{arg}'"
    text = getattr(arg, "text", None)
    if text is not None:
        return str(text)
    try:
        return str(arg.compile())
    except Exception:  # pragma: no cover - exotic defaults
        return str(arg)


@dataclass
class Candidate:
    """One drop + add pair that looks like a rename."""

    kind: str  # "column" or "table"
    table: str
    old: str
    new: str
    drop: Any
    add: Any
    schema: str | None = None
    score: float = 0.0

    @property
    def old_key(self) -> str:
        return f"{self.table}.{self.old}" if self.kind == "column" else self.old

    @property
    def new_key(self) -> str:
        return f"{self.table}.{self.new}" if self.kind == "column" else self.new

    @property
    def drop_allow_key(self) -> str:
        base = f"{self.schema}." if self.schema else ""
        if self.kind == "column":
            return f"drop_column:{base}{self.table}.{self.old}"
        return f"drop_table:{base}{self.old}"


def _column_candidates(container: alembic_ops.ModifyTableOps,
                       configured: dict[str, str]) -> list[Candidate]:
    drops = [o for o in container.ops if isinstance(o, alembic_ops.DropColumnOp)]
    adds = [o for o in container.ops if isinstance(o, alembic_ops.AddColumnOp)]
    if not drops or not adds:
        return []
    table = container.table_name
    scored: list[Candidate] = []
    for drop in drops:
        old_col = drop.to_column()
        for add in adds:
            new_name = add.column.name
            cand = Candidate("column", table, drop.column_name, new_name, drop, add,
                             schema=container.schema)
            if configured.get(cand.old_key) == cand.new_key:
                cand.score = 2.0
            elif types_compatible(getattr(old_col, "type", None), add.column.type):
                cand.score = name_similarity(drop.column_name, new_name)
            if cand.score >= SIMILARITY:
                scored.append(cand)
    return _best_pairs(scored)


def _table_columns(op: Any) -> dict[str, Any]:
    items = op.columns if isinstance(op, alembic_ops.CreateTableOp) else op.to_table().columns
    return {c.name: c.type for c in items if hasattr(c, "type") and hasattr(c, "name")}


def _table_candidates(ops: list[Any], configured: dict[str, str]) -> list[Candidate]:
    drops = [o for o in ops if isinstance(o, alembic_ops.DropTableOp)]
    creates = [o for o in ops if isinstance(o, alembic_ops.CreateTableOp)]
    scored: list[Candidate] = []
    for drop in drops:
        try:
            old_cols = _table_columns(drop)
        except Exception:
            old_cols = {}
        for create in creates:
            if (drop.schema or None) != (create.schema or None):
                continue
            cand = Candidate("table", create.table_name, drop.table_name, create.table_name,
                             drop, create, schema=create.schema)
            new_cols = _table_columns(create)
            if configured.get(cand.old_key) == cand.new_key:
                cand.score = 2.0
            elif old_cols and set(old_cols) == set(new_cols) and all(
                types_compatible(old_cols[c], new_cols[c]) for c in old_cols
            ):
                cand.score = 1.0 + name_similarity(drop.table_name, create.table_name) / 10
            if cand.score >= 1.0:
                scored.append(cand)
    return _best_pairs(scored)


def _best_pairs(scored: list[Candidate]) -> list[Candidate]:
    out: list[Candidate] = []
    used_old: set[str] = set()
    used_new: set[str] = set()
    for cand in sorted(scored, key=lambda c: -c.score):
        if cand.old in used_old or cand.new in used_new:
            continue
        used_old.add(cand.old)
        used_new.add(cand.new)
        out.append(cand)
    return out


def find_candidates(ops: list[Any], configured: dict[str, str] | None = None) -> list[Candidate]:
    """Rename candidates among autogenerated ``ops`` (top-level list of an UpgradeOps)."""
    configured = configured or {}
    out = _table_candidates(ops, configured)
    for item in ops:
        if isinstance(item, alembic_ops.ModifyTableOps):
            out.extend(_column_candidates(item, configured))
    return out


# --------------------------------------------------------------------------- rewriting


def rename_column_op(cand: Candidate) -> RenameColumnOp:
    old = cand.drop.to_column()
    new = cand.add.column
    old_type = getattr(old, "type", None)
    old_default = getattr(old, "server_default", None)
    changed_default = normalize_default(_default_sql(old_default)) != normalize_default(
        _default_sql(new.server_default))
    return RenameColumnOp(
        cand.table,
        cand.old,
        schema=cand.schema,
        existing_type=old_type,
        existing_nullable=getattr(old, "nullable", None),
        existing_server_default=old_default if old_default is not None else False,
        modify_name=cand.new,
        modify_type=None if _same_type(old_type, new.type) else new.type,
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


# --------------------------------------------------------------------------- decisions


def is_interactive() -> bool:
    """Prompt only on a terminal, and never in CI."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return False
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def ask(question: str) -> bool:
    import click

    try:
        return bool(click.confirm(question, default=False, err=True))
    except (click.Abort, EOFError, KeyboardInterrupt):
        raise PolicyViolation("stopped at the rename prompt; no revision written") from None


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
                elif is_interactive():
                    if ask(f"sluice: {describe(cand)}. Is this a rename of {cand.old_key} to "
                           f"{cand.new_key}?"):
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
        f"     alembic -x allow={allows} revision --autogenerate -m \"...\""
    )
    if ctx.config.dangerous_ops == "warn":
        ctx.warn(f"possible rename written as drop + add:\n{body}\n{options}")
        return
    count = len(unresolved)
    raise PolicyViolation(
        f"refused {count} possible rename{'s' if count > 1 else ''} written as drop + add; "
        f"no revision written\n{body}\n{options}"
    )
