"""The key a step walks: choosing it, keyset conditions on it, and its checkpoint codec."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from sluice.data.model import KeyArg, fail


def unique_keys(table: sa.Table) -> list[tuple[str, list[str]]]:
    """(description, column names) of every usable unique key of a reflected table."""
    found: list[tuple[str, list[str]]] = []
    if table.primary_key.columns:
        found.append(("primary key", [c.name for c in table.primary_key.columns]))
    for cons in table.constraints:
        if isinstance(cons, sa.UniqueConstraint) and cons.columns:
            found.append((f"unique constraint {cons.name or ''}".strip(),
                          [c.name for c in cons.columns]))
    for index in table.indexes:
        if not index.unique or any(not isinstance(e, sa.Column) for e in index.expressions):
            continue
        if any(k.endswith("_where") and v is not None for k, v in index.dialect_kwargs.items()):
            continue  # a partial index does not cover every row
        found.append((f"unique index {index.name}", [c.name for c in index.columns]))
    return found


def choose_key(table: sa.Table, key: KeyArg) -> list[str]:
    name = table.name
    keys = unique_keys(table)

    def not_null(cols: list[str]) -> bool:
        return all(not table.c[c].nullable for c in cols)

    if key is None:
        pk = [c.name for c in table.primary_key.columns]
        if pk:
            return _exact(table, pk)
        candidates = [", ".join(cols) for _, cols in keys if not_null(cols)]
        hint = (f" Candidates here: {'; '.join(candidates)}." if candidates else
                " It has no unique NOT NULL index either: add a primary key in an earlier "
                "revision, then run this step.")
        raise fail(
            f"table '{name}' has no primary key, so there is no safe way to walk it in "
            "batches (rows could be skipped or visited twice). Pass key='column' naming a "
            f"unique, NOT NULL, indexed column or list of columns.{hint}"
        )
    wanted = [key] if isinstance(key, str) else list(key)
    if not wanted:
        raise fail("key= is empty; name the column(s) of a unique index")
    for col in wanted:
        if col not in table.c:
            raise fail(f"key column '{col}' is not a column of table '{name}' "
                        f"(columns: {', '.join(table.c.keys())})")
    for what, cols in keys:
        if set(cols) == set(wanted) and len(cols) == len(wanted):
            if what != "primary key" and not not_null(cols):
                nullable = [c for c in cols if table.c[c].nullable]
                raise fail(
                    f"key column(s) {', '.join(nullable)} of table '{name}' allow NULL: rows "
                    "with NULL there would never be visited. Make the column NOT NULL first, "
                    "or use the primary key."
                )
            return _exact(table, cols)  # the index's order, so the index serves ORDER BY
    raise fail(
        f"key={wanted!r} is not a unique, indexed key of table '{name}': walking a "
        "non-unique key can skip rows or visit them twice, and an unindexed one makes every "
        "batch scan the table. Use the primary key, or add a unique index on these columns "
        "in an earlier revision."
    )


def _exact(table: sa.Table, cols: list[str]) -> list[str]:
    """``cols``, refused when one is floating-point: its values do not survive the round
    trip to Python exactly (MySQL sends a FLOAT rounded to 6 digits), so ranges bounded by
    them skip rows or never end, and ``key = value`` finds nothing."""
    for col in cols:
        if isinstance(table.c[col].type, sa.Float):
            raise fail(
                f"key column '{col}' of table '{table.name}' is floating-point "
                f"({table.c[col].type}): its values do not compare exactly once read back, "
                "so batches bounded by them can skip rows or never end. Pass key= naming a "
                "unique NOT NULL key of integer, string, decimal, date/time or UUID columns, "
                "or add one in an earlier revision."
            )
    return cols


def _encode_value(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, decimal.Decimal):
        return {"decimal": str(v)}
    if isinstance(v, dt.datetime):
        return {"datetime": v.isoformat()}
    if isinstance(v, dt.date):
        return {"date": v.isoformat()}
    if isinstance(v, dt.time):
        return {"time": v.isoformat()}
    if isinstance(v, uuid.UUID):
        return {"uuid": str(v)}
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"bytes": base64.b64encode(bytes(v)).decode("ascii")}
    raise fail(f"cannot checkpoint a key value of type {type(v).__name__} ({v!r}); use a "
                "key of integer, string, decimal, date/time, UUID or bytes columns")


def _decode_value(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    ((tag, raw),) = v.items()
    decoders: dict[str, Callable[[Any], Any]] = {
        "decimal": decimal.Decimal,
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "time": dt.time.fromisoformat,
        "uuid": uuid.UUID,
        "bytes": base64.b64decode,
    }
    return decoders[tag](raw)


def encode_key(values: Sequence[Any]) -> str:
    """A key tuple as the JSON stored in ``last_key``."""
    return json.dumps([_encode_value(v) for v in values])


def decode_key(text: str, width: int | None = None) -> tuple[Any, ...]:
    """``last_key`` as a key tuple (of ``width`` values); ValueError when it is none."""
    try:
        values = json.loads(text)
        if not isinstance(values, list) or width is not None and len(values) != width:
            raise ValueError(text)
        return tuple(_decode_value(v) for v in values)
    except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
        raise ValueError(f"not a key: {text!r}") from exc


def encode_checkpoint(after: Sequence[Any] | None, upto: Sequence[Any] | None) -> str:
    """``last_key``: the last committed batch's upper key (``after``, None before the
    first) and the bound the step walks to (``upto``, the largest key when it started;
    None: the table was empty)."""
    return json.dumps({"after": None if after is None else [_encode_value(v) for v in after],
                       "upto": None if upto is None else [_encode_value(v) for v in upto]})


def has_bound(text: str | None) -> bool:
    """Whether ``last_key`` holds the step's bound (see :func:`encode_checkpoint`)."""
    return text is not None and text.lstrip().startswith("{")


def decode_checkpoint(text: str | None, width: int
                      ) -> tuple[tuple[Any, ...] | None, tuple[Any, ...] | None, bool]:
    """``last_key`` as ``(after, upto, bound_known)``. A plain list is a checkpoint written
    before steps kept their bound: its bound is not known. ValueError when it is no key
    of ``width`` values."""
    if text is None:
        return None, None, False
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not a key: {text!r}") from exc
    if isinstance(value, list):
        return decode_key(text, width), None, False
    if not isinstance(value, dict) or set(value) != {"after", "upto"}:
        raise ValueError(f"not a key: {text!r}")
    parts = [None if value[k] is None else decode_key(json.dumps(value[k]), width)
             for k in ("after", "upto")]
    return parts[0], parts[1], True


def keyset_after(cols: Sequence[Any], values: Sequence[Any] | None, backend: str) -> Any:
    """``(cols) > (values)``; the expanded OR form on MySQL, whose optimizer ranges it."""
    if values is None:
        return sa.true()
    binds = [sa.literal(v, c.type) for c, v in zip(cols, values, strict=True)]
    if len(cols) == 1:
        return cols[0] > binds[0]
    if backend != "mysql":
        return sa.tuple_(*cols) > sa.tuple_(*binds)
    return sa.or_(*[
        sa.and_(*[cols[j] == binds[j] for j in range(i)], cols[i] > binds[i])
        for i in range(len(cols))
    ])


def keyset_upto(cols: Sequence[Any], values: Sequence[Any], backend: str) -> Any:
    """``(cols) <= (values)``."""
    binds = [sa.literal(v, c.type) for c, v in zip(cols, values, strict=True)]
    if len(cols) == 1:
        return cols[0] <= binds[0]
    if backend != "mysql":
        return sa.tuple_(*cols) <= sa.tuple_(*binds)
    return sa.or_(
        *[sa.and_(*[cols[j] == binds[j] for j in range(i)], cols[i] < binds[i])
          for i in range(len(cols))],
        sa.and_(*[c == b for c, b in zip(cols, binds, strict=True)]),
    )
