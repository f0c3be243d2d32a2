"""Small helpers shared by rule modules."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sluice.lint.model import Op
from sluice.lint.rules._sql import Stmt, statements

if TYPE_CHECKING:
    from sluice.lint.registry import RuleContext


def matches_any(name: str | None, patterns: Iterable[str]) -> str | None:
    """The first glob pattern ``name`` matches (case-insensitive), or None."""
    if not name:
        return None
    low = name.lower()
    for pattern in patterns:
        if fnmatchcase(low, pattern.lower()):
            return pattern
    return None


def steps(*lines: str) -> str:
    """Numbered steps, one per line."""
    return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))


# --------------------------------------------------------------------------- context helpers


class _Units:
    """Per-run index of ``ctx.ops``: ops by (file, revision, phase) and what came before."""

    def __init__(self, ops: list[Op], dialect: str | None) -> None:
        self.size = len(ops)
        #: Results rules computed once per run (keyed by the rule's own key).
        self.memo: dict[tuple[Any, ...], Any] = {}
        self.units: dict[tuple[str | None, str | None, str], list[Op]] = {}
        for o in ops:
            self.units.setdefault((o.path, o.revision, o.phase), []).append(o)
        self.created_before: dict[int, frozenset[str]] = {}
        for unit in self.units.values():
            created: set[str] = set()
            for o in unit:
                self.created_before[id(o)] = frozenset(created)
                created.update(_created_by(o, dialect))
                if o.kind == "rename_table" and o.table and o.table.lower() in created:
                    new = o.args.get("new_table_name")
                    if isinstance(new, str):
                        created.add(new.lower())


def _units(ctx: RuleContext) -> _Units:
    cached = getattr(ctx, "_sluice_units", None)
    if not isinstance(cached, _Units) or cached.size != len(ctx.ops):
        cached = _Units(ctx.ops, ctx.dialect)
        setattr(ctx, "_sluice_units", cached)  # noqa: B010 - private cache on the run context
    return cached


def run_memo(ctx: RuleContext) -> dict[tuple[Any, ...], Any]:
    """A dict that lives as long as ``ctx.ops`` stays the same (one ``run_rules`` call):
    for results several rules, or several ops, would otherwise compute again."""
    return _units(ctx).memo


def unit_ops(op: Op, ctx: RuleContext) -> list[Op]:
    """The ops of the same revision file and phase as ``op``, in order."""
    return _units(ctx).units.get((op.path, op.revision, op.phase), [])


def _created_by(o: Op, dialect: str | None) -> list[str]:
    if o.kind == "create_table" and o.table:
        return [o.table.lower()]
    if o.kind == "execute" and o.sql:
        return [s.table for s in statements(o.sql, dialect) if s.kind == "CREATE TABLE" and s.table]
    return []


def new_tables_before(op: Op, ctx: RuleContext) -> set[str]:
    """Tables created in the same revision and phase before ``op``."""
    found = _units(ctx).created_before.get(id(op))
    if found is None:  # an op that is not part of ctx.ops
        return set()
    return set(found)


def sql_statements(op: Op, ctx: RuleContext) -> Iterator[tuple[Stmt, bool]]:
    """``(statement, on_new_table)`` for the literal SQL of an ``execute`` op."""
    if op.kind != "execute" or not op.sql:
        return
    created = new_tables_before(op, ctx)
    for stmt in statements(op.sql, ctx.dialect):
        table = (stmt.table or "").lower()
        yield stmt, bool(table) and table in created
        if stmt.kind == "CREATE TABLE" and stmt.table:
            created.add(stmt.table.lower())


def pg_version(ctx: RuleContext) -> int:
    return int(ctx.config.lint.target_postgres_version)


def mysql_target(ctx: RuleContext) -> tuple[str, tuple[int, ...]]:
    """``("mysql", (8, 0))`` or ``("mariadb", (10, 11))`` from ``target_mysql_version``."""
    return _mysql_target(str(ctx.config.lint.target_mysql_version))


@lru_cache(maxsize=64)
def _mysql_target(version: str) -> tuple[str, tuple[int, ...]]:
    raw = version.strip().lower()
    flavor = "mariadb" if raw.startswith("mariadb") else "mysql"
    nums = tuple(int(n) for n in re.findall(r"\d+", raw))
    if flavor == "mysql" and nums and nums[0] >= 10:  # "10.11" without the prefix
        flavor = "mariadb"
    nums = nums or (8, 0)
    if len(nums) == 2:  # "8.0": the series at its current patch level
        nums = (*nums, 99)
    return flavor, nums


def mysql_label(ctx: RuleContext) -> str:
    raw = str(ctx.config.lint.target_mysql_version).strip()
    flavor, _ = mysql_target(ctx)
    number = re.sub(r"^[A-Za-z]+[-_ ]?", "", raw)
    return ("MariaDB " if flavor == "mariadb" else "MySQL ") + number


def has_default(value: object) -> bool:
    """A server default is set (an empty string ``''`` default counts)."""
    return value is not None and value is not False


#: Alembic operations that are DDL.
DDL_KINDS = frozenset({
    "add_column", "drop_column", "alter_column", "create_table", "drop_table", "rename_table",
    "create_index", "drop_index", "create_unique_constraint", "create_foreign_key",
    "create_check_constraint", "create_primary_key", "drop_constraint",
    "create_table_comment", "drop_table_comment", "create_exclude_constraint",
})
#: Statement kinds (see :class:`sluice.lint.rules._sql.Stmt`) that are DDL.
DDL_SQL = frozenset({
    "CREATE INDEX", "DROP INDEX", "DROP TABLE", "DROP SCHEMA", "TRUNCATE", "ALTER TABLE",
    "CREATE TABLE", "RENAME TABLE", "CREATE DATABASE", "DROP DATABASE", "DROP VIEW",
    "DROP TYPE", "ALTER TYPE",
})


#: A WHERE bounded by key (``id = 3``, ``id IN (...)``, ``id BETWEEN``, ``id < :hi``) or by
#: bind parameters (a batch loop) touches a bounded number of rows.
_BOUNDED = re.compile(
    r"\b\w*id\b\s*(=|<|>|<=|>=|\bIN\b|\bBETWEEN\b)|:\w+|%\(\w+\)s|%s|\?|\bLIMIT\b",
    re.I,
)


def bounded(stmt: Stmt) -> bool:
    """An UPDATE/DELETE that touches a bounded set of rows (by key, LIMIT or a batch loop)."""
    return stmt.has_limit or bool(_BOUNDED.search(stmt.where or ""))


def batched_snippet(kind: str, table: str, where: str | None,
                    sets: list[tuple[str, str]] | None = None) -> str:
    """A ``sluice.data`` call doing the same change in batches, for a fix."""
    cond = f"sa.text({where!r})" if where else ("sa.true()" if kind == "delete" else None)
    if kind == "delete":
        return f"sluice.data.batched_delete({table!r}, where={cond})"
    values = ", ".join(f"{col!r}: sa.text({val!r})" for col, val in (sets or [])) or "..."
    tail = f", where={cond}" if cond else ""
    return f"sluice.data.batched_update({table!r}, {{{values}}}{tail})"
