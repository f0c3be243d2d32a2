"""Server-default comparison without dialect noise.

Databases hand back defaults spelled differently from the models: ``now()`` becomes
``CURRENT_TIMESTAMP`` or ``current_timestamp()``, ``0`` becomes ``'0'`` or ``'0'::integer``,
and PostgreSQL adds casts. Alembic reports each of these as a change on every
autogenerate run. :func:`compare_server_default` normalises both sides per dialect and
says "equal" when they mean the same; otherwise it defers to Alembic's own comparison.
"""

from __future__ import annotations

import re
from typing import Any

_TIMESTAMP_SYNONYMS = {
    "now()", "current_timestamp", "current_timestamp()", "localtimestamp",
    "localtimestamp()", "transaction_timestamp()", "statement_timestamp()",
    "datetime('now')", "getdate()",
}
_BOOL = {"true": "1", "false": "0", "'t'": "1", "'f'": "0", "b'1'": "1", "b'0'": "0"}
_CAST = re.compile(r"::[a-z_ ]+(\([\d, ]+\))?(\[\])?", re.I)


def normalize_default(text: str | None) -> str | None:
    """A canonical spelling of a server default expression (None stays None)."""
    if text is None:
        return None
    value = str(text).strip()
    # Outer parentheses, repeatedly: ((0)) -> 0
    while value.startswith("(") and value.endswith(")") and _balanced(value[1:-1]):
        value = value[1:-1].strip()
    value = _CAST.sub("", value).strip()
    while value.startswith("(") and value.endswith(")") and _balanced(value[1:-1]):
        value = value[1:-1].strip()
    low = value.lower()
    low = re.sub(r"current_timestamp\(\d*\)", "current_timestamp", low)
    low = re.sub(r"now\(\d+\)", "now()", low)
    if low in _TIMESTAMP_SYNONYMS:
        return "current_timestamp"
    if low in _BOOL:
        return _BOOL[low]
    # '0' and 0, '1.50' and 1.5
    unquoted = low[1:-1] if len(low) >= 2 and low[0] == low[-1] == "'" else low
    try:
        number = float(unquoted)
    except ValueError:
        return value if value.startswith("'") else low
    return repr(int(number)) if number.is_integer() else repr(number)


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _metadata_default_text(metadata_column: Any, rendered: str | None) -> str | None:
    default = getattr(metadata_column, "server_default", None)
    if default is None:
        return None
    arg = getattr(default, "arg", None)
    if arg is None:
        return rendered
    if isinstance(arg, str):
        return f"'{arg}'"
    try:
        return str(arg.compile())  # e.g. func.now() -> now(), text("0") -> 0
    except Exception:
        return rendered


def compare_server_default(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """``compare_server_default`` hook: False when both sides mean the same default."""
    meta = _metadata_default_text(metadata_column, rendered_metadata_default)
    if inspected_default is None and meta is None:
        return False
    if inspected_default is None or meta is None:
        return None
    if normalize_default(inspected_default) == normalize_default(meta):
        return False
    return None
