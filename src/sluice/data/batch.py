"""The SQL of one batch: the next key range, and the update, delete or backfill within it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import TableClause

from sluice.data.dialects import counts_matched_rows
from sluice.data.keys import keyset_after, keyset_upto
from sluice.data.model import BackfillFn, Kind, fail


@dataclass
class BatchSql:
    """A step's statements, resolved against its table (see :func:`~sluice.data.target.prepare`)."""

    kind: Kind
    label: str
    target: TableClause
    key_cols: list[Any]
    where_expr: Any = None
    set_values: dict[str, Any] = field(default_factory=dict)
    read_cols: list[Any] = field(default_factory=list)
    fn: BackfillFn | None = None

    def bound(self, conn: Connection) -> tuple[Any, ...] | None:
        """The largest key now (None: the table is empty): where a starting step stops."""
        cols = self.key_cols
        row = conn.execute(
            sa.select(*cols).order_by(*[c.desc() for c in cols]).limit(1)).first()
        return None if row is None else tuple(row)

    def finds(self, conn: Connection, key: tuple[Any, ...]) -> bool:
        """Whether ``key``, as read into Python, finds its row again."""
        return bool(conn.execute(
            sa.select(sa.func.count()).select_from(self.target).where(*[
                c == sa.literal(v, c.type) for c, v in zip(self.key_cols, key, strict=True)
            ])).scalar())

    def beyond(self, conn: Connection, backend: str, upto: tuple[Any, ...] | None) -> int:
        """Rows with a key past the step's bound that its ``where`` matches: added (or
        moved there) since it started, and left as they are."""
        cond = keyset_after(self.key_cols, upto, backend)
        if self.where_expr is not None:
            cond = sa.and_(cond, self.where_expr)
        return int(conn.execute(
            sa.select(sa.func.count()).select_from(self.target).where(cond)).scalar() or 0)

    def next_range(self, conn: Connection, backend: str, last: tuple[Any, ...] | None,
                   size: int, upto: tuple[Any, ...]) -> tuple[tuple[Any, ...], int] | None:
        """The upper key of the next batch, at most ``upto``, and how many keys it spans."""
        cols = self.key_cols
        after = sa.and_(keyset_after(cols, last, backend), keyset_upto(cols, upto, backend))
        row = conn.execute(
            sa.select(*cols).where(after).order_by(*cols).limit(1).offset(size - 1)
        ).first()
        if row is not None:
            return tuple(row), size
        row = conn.execute(
            sa.select(*cols).where(after).order_by(*[c.desc() for c in cols]).limit(1)
        ).first()
        if row is None:
            return None
        upper = tuple(row)
        count = conn.execute(
            sa.select(sa.func.count()).select_from(self.target)
            .where(after, keyset_upto(cols, upper, backend))
        ).scalar()
        return upper, int(count or 0)

    def apply(self, conn: Connection, backend: str, last: tuple[Any, ...] | None,
              upper: tuple[Any, ...]) -> int:
        """Run the batch's change on the keys after ``last`` up to ``upper``; rows changed."""
        cols = self.key_cols
        cond = sa.and_(keyset_after(cols, last, backend), keyset_upto(cols, upper, backend))
        if self.where_expr is not None:
            cond = sa.and_(cond, self.where_expr)
        if self.kind == "update":
            res = conn.execute(sa.update(self.target).where(cond).values(self.set_values))
            return int(res.rowcount or 0)
        if self.kind == "delete":
            res = conn.execute(sa.delete(self.target).where(cond))
            return int(res.rowcount or 0)
        return self._apply_backfill(conn, cond)

    def _apply_backfill(self, conn: Connection, cond: Any) -> int:
        assert self.fn is not None
        rows = [dict(r._mapping) for r in conn.execute(
            sa.select(*self.read_cols).where(cond).order_by(*self.key_cols).with_for_update()
        )]
        if not rows:
            return 0
        out = self.fn([dict(r) for r in rows])
        if isinstance(out, (str, bytes, Mapping)) or not isinstance(out, Sequence):
            raise fail(f"{self.label}: fn must return a list with one entry per row (a dict "
                       f"of new values or None), got {type(out).__name__}")
        if len(out) != len(rows):
            raise fail(f"{self.label}: fn got {len(rows)} rows and returned {len(out)} "
                       "entries; return one entry per row (a dict of new values or None)")
        key_names = [c.name for c in self.key_cols]
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row, new in zip(rows, out, strict=True):
            changes = self._row_changes(row, new, key_names)
            if not changes:
                continue
            cols = tuple(sorted(changes))
            params = {f"v_{i}": changes[c] for i, c in enumerate(cols)}
            params.update({f"k_{i}": row[k] for i, k in enumerate(key_names)})
            groups.setdefault(cols, []).append(params)
        changed = 0
        exact = counts_matched_rows(conn)
        for cols, params_list in groups.items():
            stmt = (
                sa.update(self.target)
                .where(*[c == sa.bindparam(f"k_{i}", type_=c.type)
                         for i, c in enumerate(self.key_cols)])
                .values({c: sa.bindparam(f"v_{i}", type_=self.target.c[c].type)
                         for i, c in enumerate(cols)})
            )
            written = conn.execute(stmt, params_list).rowcount
            if exact and written != len(params_list):
                raise self._short_write(params_list, written)
            changed += len(params_list)
        return changed

    def _short_write(self, params_list: list[dict[str, Any]], written: int) -> Exception:
        """The database wrote fewer of a batch's rows than ``fn`` changed, without an
        error: a trigger or policy skipped them, or a key no longer finds its row."""
        def key(params: dict[str, Any]) -> str:
            return ", ".join(f"{c.name}={params[f'k_{i}']!r}"
                             for i, c in enumerate(self.key_cols))

        n = len(params_list)
        keys = (f"key {key(params_list[0])}" if n == 1 else
                f"keys {key(params_list[0])} to {key(params_list[-1])}")
        return fail(
            f"{self.label}: of the {n} row{'' if n == 1 else 's'} fn changed in table "
            f"'{self.target.name}' ({keys}), the database wrote {written} and skipped the "
            "others without an error: a BEFORE UPDATE trigger that returns NULL (or "
            "ignores the row), a row-level security policy, or a key whose values come "
            "back from the database changed, so that WHERE key = value finds no row. That "
            "batch was rolled back and the checkpoint is where it was. Find what skips "
            "those rows; if they are meant to stay as they are, leave them out with where=, "
            "then rerun to resume."
        )

    def _row_changes(self, row: dict[str, Any], new: Any,
                     key_names: list[str]) -> dict[str, Any]:
        """The columns ``fn`` changes in one row (``new``: its entry for the row)."""
        if new is None:
            return {}
        if not isinstance(new, Mapping):
            raise fail(f"{self.label}: fn returned {type(new).__name__} {new!r} for a "
                       "row; return a dict of new values or None")
        changes: dict[str, Any] = {}
        for cname, value in new.items():
            if cname not in self.target.c:
                raise fail(f"{self.label}: fn returned column '{cname}', which table "
                           f"'{self.target.name}' does not have")
            if cname in key_names:
                if value != row[cname]:
                    raise fail(f"{self.label}: fn changed key column '{cname}' "
                               f"({row[cname]!r} -> {value!r}); keys cannot change")
                continue
            changes[cname] = value
        return changes
