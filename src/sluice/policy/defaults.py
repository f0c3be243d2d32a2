"""Server-default comparison without dialect noise.

Databases hand back defaults spelled differently from the models, and Alembic reports each
difference as a change on every autogenerate run:

============  =====================================  ==========================
database      model                                  reflected
============  =====================================  ==========================
PostgreSQL    ``server_default="draft"``             ``'draft'::character varying``
PostgreSQL    ``server_default="-1"``                ``'-1'::integer``
PostgreSQL    ``func.now()`` / ``CURRENT_TIMESTAMP``  ``now()`` / ``CURRENT_TIMESTAMP``
MariaDB       ``func.now()``                         ``current_timestamp()``
MariaDB       ``sa.true()``                          ``1``
MySQL/SQLite  ``server_default="0"``                 ``0`` / ``'0'``
SQLite        ``sa.false()`` / ``text("false")``      ``0`` / ``false``
any           ``server_default="0"`` (Numeric)       ``0.00``
============  =====================================  ==========================

:func:`compare_server_default` (wired in by ``configure_options``) reduces both sides to a
canonical value *for the column's type* and says "equal" when they match; otherwise it
defers to Alembic's own comparison (which on PostgreSQL asks the server). Booleans are only
folded for boolean columns and numbers only for numeric ones, so ``'1.50'`` and ``'1.5'``
stay different in a VARCHAR column. Numbers are compared exactly (as decimals, never as
floats): a BIGINT default of 9007199254740993 changed to 9007199254740992 is a change.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal
from typing import Any

import sqlalchemy as sa

#: Expressions meaning "the current timestamp of the transaction". ``statement_timestamp()``
#: and ``clock_timestamp()`` are deliberately absent: they give different values.
_TIMESTAMP_SYNONYMS = {
    "now()", "current_timestamp", "current_timestamp()", "transaction_timestamp()",
    "datetime('now')", "localtimestamp", "localtimestamp()",
}
_TRUE = {"true", "'true'", "'t'", "t", "1", "'1'", "b'1'", "'y'", "'yes'", "'on'"}
_FALSE = {"false", "'false'", "'f'", "f", "0", "'0'", "b'0'", "'n'", "'no'", "'off'"}
#: ``::type`` casts PostgreSQL adds: ``::integer``, ``::character varying(20)``,
#: ``::timestamp without time zone``, ``::public.status``, ``::"Mixed"``, ``::integer[]``.
_CAST = re.compile(r"::\s*(?:\"[^\"]+\"|[a-z_][\w]*)(?:\.(?:\"[^\"]+\"|[a-z_][\w]*))?"
                   r"(?:\s+(?:varying|precision|without time zone|with time zone))?"
                   r"(?:\s*\([\d, ]+\))?(?:\[\])*", re.I)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

Canonical = tuple[str, str] | None
#: Enough digits for any NUMERIC a database allows (PostgreSQL: 131072 before the point).
_EXACT = Context(prec=200_000)


def type_kind(type_: Any) -> str | None:
    """``boolean``, ``number``, ``string``, ``datetime`` or None for other types."""
    if type_ is None:
        return None
    if isinstance(type_, sa.Boolean):
        return "boolean"
    if isinstance(type_, (sa.Integer, sa.Numeric, sa.Float)):
        return "number"
    if isinstance(type_, (sa.String, sa.Enum)):
        return "string"
    if isinstance(type_, (sa.DateTime, sa.Date, sa.Time)):
        return "datetime"
    return None


def _strip_parens(value: str) -> str:
    while value.startswith("(") and value.endswith(")") and _balanced(value[1:-1]):
        value = value[1:-1].strip()
    return value


def _balanced(text: str) -> bool:
    depth = 0
    quoted = False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _unquote(value: str) -> str | None:
    """The content of a SQL string literal (``'it''s'`` -> ``it's``), None if not one."""
    if len(value) >= 2 and value[0] == value[-1] == "'":
        inner = value[1:-1]
        if re.search(r"(?<!['\\])'(?!')", inner.replace("''", "")):
            return None  # 'a' || 'b' is an expression, not a literal
        return inner.replace("''", "'").replace("\\'", "'").replace("\\\\", "\\")
    return None


def _number(text: str) -> str | None:
    """The exact value of a numeric literal as canonical text (``1.50`` -> ``1.5``,
    ``1e3`` -> ``1000``). Decimal, not float: a BIGINT or NUMERIC default beyond 2**53
    must not compare equal to its neighbour."""
    if not _NUMBER.match(text):
        return None
    number = Decimal(text).normalize(_EXACT)
    if number.is_zero():
        return "0"
    if abs(number.adjusted()) > 1000:  # absurd exponents: keep the scientific spelling
        return str(number)
    return format(number, "f")


def canonical_default(text: str | None, kind: str | None = None) -> Canonical:
    """A canonical ``(category, value)`` for a server default as SQL text; None for no default.

    ``kind`` is the column's :func:`type_kind`; it decides whether ``'1'`` means true, the
    number one or the string ``1``.
    """
    if text is None:
        return None
    value = _strip_parens(str(text).strip())
    value = _strip_parens(_CAST.sub("", value).strip())
    low = value.lower()
    if low == "null":
        return None
    low = re.sub(r"current_timestamp\s*\(\s*\d*\s*\)", "current_timestamp", low)
    low = re.sub(r"now\s*\(\s*\d*\s*\)", "now()", low)
    low = re.sub(r"localtimestamp\s*\(\s*\d*\s*\)", "localtimestamp", low)
    if low in _TIMESTAMP_SYNONYMS:
        return ("now", "current_timestamp")
    if kind == "boolean":
        if low in _TRUE:
            return ("bool", "true")
        if low in _FALSE:
            return ("bool", "false")
    literal = _unquote(value)
    if kind == "number" or (kind is None and literal is None):
        number = _number(literal if literal is not None else low)
        if number is not None:
            return ("number", number)
    if literal is not None:
        return ("literal", literal)
    if kind in ("string", None) and _number(low) is not None:
        return ("literal", value)  # MySQL hands DEFAULT 0 on a VARCHAR back as 0
    return ("expression", re.sub(r"\s+", " ", low))


def normalize_default(text: str | None, kind: str | None = None) -> str | None:
    """A canonical spelling of a server default expression (None stays None)."""
    canon = canonical_default(text, kind)
    if canon is None:
        return None
    category, value = canon
    return f"'{value}'" if category == "literal" else value


def _metadata_default_text(metadata_column: Any, rendered: str | None) -> str | None:
    default = getattr(metadata_column, "server_default", None)
    if default is None:
        return None
    arg = getattr(default, "arg", None)
    if arg is None:
        return rendered
    if isinstance(arg, str):
        return "'" + arg.replace("'", "''") + "'"
    if rendered is not None:
        return rendered  # compiled for the connection's dialect by Alembic
    try:
        return str(arg.compile())
    except Exception:  # pragma: no cover - exotic expressions
        return None


def compare_server_default(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """``compare_server_default`` hook: False when both sides mean the same default.

    None (not True) otherwise, so that Alembic's own dialect comparison still decides.
    """
    kind = type_kind(getattr(metadata_column, "type", None))
    meta = _metadata_default_text(metadata_column, rendered_metadata_default)
    if inspected_default is None and meta is None:
        return False
    if canonical_default(inspected_default, kind) == canonical_default(meta, kind):
        return False
    return None
