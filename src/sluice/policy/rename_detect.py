"""Rename detection: which drop + add pairs autogenerate wrote look like renames.

A column dropped and a column added in the same table, with compatible types (same type
family, or a widening change) and similar names, or a table dropped and a table created with
the same column names and compatible types. :mod:`sluice.policy.renames` decides what to do
with each candidate; :mod:`sluice.policy.rename_rewrite` rewrites the accepted ones.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from alembic.operations import ops as alembic_ops

from sluice.core.alembic_ops import type_text
from sluice.core.ops import TypeInfo

SIMILARITY = 0.6

_WIDENING = {
    ("integer", "biginteger"), ("integer", "numeric"), ("biginteger", "numeric"),
    ("string", "text"), ("integer", "float"), ("date", "datetime"),
}


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


def same_type(old: Any, new: Any) -> bool:
    a = TypeInfo.parse(type_text(old))
    b = TypeInfo.parse(type_text(new))
    if a is None or b is None:
        return True
    same_len = a.length == b.length or a.length is None or b.length is None
    return (a.family == b.family and same_len and
            (a.precision, a.scale) == (b.precision, b.scale))


def default_sql(default: Any) -> str | None:
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
