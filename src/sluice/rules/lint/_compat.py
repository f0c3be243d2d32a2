"""What the rule files of the ``compat`` family share.

Changes that break running code or rewrite data (SL1xx): types, nullability, renames,
defaults.
"""

from __future__ import annotations

from sluice.core.ops import TypeInfo

#: Type changes that never lose data: (from family, to family).
_WIDENING = {
    ("integer", "biginteger"),
    ("integer", "numeric"),
    ("string", "citext"),
    ("text", "citext"),
    ("citext", "text"),
    ("biginteger", "numeric"),
    ("string", "text"),
    ("integer", "float"),
    ("date", "datetime"),
    ("json", "text"),
    ("uuid", "text"),
    ("uuid", "string"),
    ("integer", "text"),
    ("biginteger", "text"),
}

#: Families whose every value has an exact text form: to TEXT or VARCHAR without a length
#: they lose nothing (what the code reads back changes: SL105). FLOAT is not one (its text
#: form is rounded).
_EXACT_TEXT = frozenset({"boolean", "integer", "biginteger", "numeric", "date", "datetime",
                         "time", "uuid", "enum", "json"})


#: Integer types by width in bytes, and the range of each (signed).
_INT_BYTES = {"TINYINT": 1, "SMALLINT": 2, "SMALLINTEGER": 2, "MEDIUMINT": 3, "INTEGER": 4,
              "INT": 4}


def type_change_loses_data(old: TypeInfo | None, new: TypeInfo | None) -> str | None:
    """Why changing ``old`` to ``new`` can lose data, or None when it cannot."""
    if old is None or new is None:
        return None
    narrower = _INT_BYTES.get(new.name.upper(), 8) < _INT_BYTES.get(old.name.upper(), 8)
    if old.family == new.family == "integer" and narrower:
        bits = 8 * _INT_BYTES[new.name.upper()] - 1
        return (f"{old.name} becomes {new.name}; values outside {-(2 ** bits)} to "
                f"{2 ** bits - 1} fail")
    if old.family == new.family:
        if old.length is not None and (new.length is None or new.length >= old.length):
            return None
        if old.family == "string" and old.length is None and new.length is not None:
            return f"an unbounded {old.name} becomes {new.name}({new.length})"
        if old.length is not None and new.length is not None and new.length < old.length:
            return f"length shrinks from {old.length} to {new.length}"
        if old.precision is not None and new.precision is not None:
            if new.precision < old.precision or (new.scale or 0) < (old.scale or 0):
                return "precision or scale shrinks"
        return None
    if (old.family, new.family) in _WIDENING:
        return None
    if old.family in _EXACT_TEXT and (new.family in ("text", "citext") or (
            new.family == "string" and new.length is None)):
        return None
    if old.family in ("text", "citext") and new.family == "string":
        if new.length is None:
            return None  # VARCHAR without a length holds any text
        return f"{old.name} becomes {new.name}({new.length})"
    return f"{old.name} becomes {new.name}; values that do not convert fail or are truncated"
