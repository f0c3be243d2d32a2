"""How big the tables a plan touches are, so a risky operation on a big table stands out.

- PostgreSQL: ``pg_class.reltuples`` (the planner's estimate, kept by ANALYZE/autovacuum)
  and ``pg_total_relation_size`` (table, indexes and TOAST). A table never analyzed has no
  estimate; below 64 MB it is counted exactly instead.
- MySQL/MariaDB: ``information_schema.TABLES`` (``TABLE_ROWS`` is InnoDB's estimate,
  ``DATA_LENGTH + INDEX_LENGTH``).
- SQLite: an exact ``count(*)``, and the bytes from the ``dbstat`` table when SQLite was
  built with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from sluice.runner.database import quote

EXACT_COUNT_BELOW_BYTES = 64 * 1024 * 1024


@dataclass
class TableSize:
    table: str
    schema: str | None
    exists: bool
    rows: int | None = None
    bytes: int | None = None
    #: "estimate" or "exact".
    rows_kind: str | None = None
    #: Not in the database because the planned upgrade creates it (else: not found there).
    new: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"table": self.table, "schema": self.schema, "exists": self.exists,
                "rows": self.rows, "bytes": self.bytes, "rows_kind": self.rows_kind,
                "new": self.new}

    def describe(self) -> str:
        if not self.exists:
            return "new table" if self.new else "not in the database"
        parts = []
        if self.rows is not None:
            approx = "~" if self.rows_kind == "estimate" else ""
            parts.append(f"{approx}{human_count(self.rows)} rows")
        if self.bytes is not None:
            parts.append(human_bytes(self.bytes))
        return ", ".join(parts) or "size unknown"


def human_count(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}".replace(".0", "")
    return str(n)


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def table_sizes(conn: Connection, tables: Iterable[tuple[str | None, str]]) -> dict[str, TableSize]:
    """``{"schema.table" or "table": TableSize}`` for each ``(schema, table)``."""
    out: dict[str, TableSize] = {}
    insp = inspect(conn)
    for schema, table in sorted(set(tables), key=lambda t: (t[0] or "", t[1])):
        key = f"{schema}.{table}" if schema else table
        try:
            exists = insp.has_table(table, schema=schema)
        except Exception:
            exists = False
        size = TableSize(table, schema, exists)
        if exists:
            try:
                _measure(conn, size)
            except Exception:
                pass  # sizes are advisory; never fail a plan over them
        out[key] = size
    return out


def _measure(conn: Connection, size: TableSize) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        row = conn.execute(text(
            "SELECT c.reltuples::bigint, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = :t AND n.nspname = coalesce(:s, current_schema())"
        ), {"t": size.table, "s": size.schema}).first()
        if row is None:
            return
        size.bytes = int(row[1])
        if row[0] is not None and int(row[0]) >= 0:
            size.rows, size.rows_kind = int(row[0]), "estimate"
        if (size.rows is None or size.rows == 0) and size.bytes < EXACT_COUNT_BELOW_BYTES:
            size.rows, size.rows_kind = _count(conn, size), "exact"
    elif dialect in ("mysql", "mariadb"):
        row = conn.execute(text(
            "SELECT TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = coalesce(:s, DATABASE()) AND TABLE_NAME = :t"
        ), {"t": size.table, "s": size.schema}).first()
        if row is None:
            return
        size.rows = int(row[0]) if row[0] is not None else None
        size.rows_kind = "estimate"
        size.bytes = int(row[1]) if row[1] is not None else None
        if size.bytes is not None and size.bytes < EXACT_COUNT_BELOW_BYTES:
            size.rows, size.rows_kind = _count(conn, size), "exact"
    else:
        size.rows, size.rows_kind = _count(conn, size), "exact"
        try:
            size.bytes = conn.execute(
                text("SELECT SUM(pgsize) FROM dbstat WHERE name = :t"), {"t": size.table}
            ).scalar()
        except Exception:
            size.bytes = None


def _count(conn: Connection, size: TableSize) -> int:
    name = quote(conn, size.table)
    if size.schema:
        name = f"{quote(conn, size.schema)}.{name}"
    return int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar() or 0)
