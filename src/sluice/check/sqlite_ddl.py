"""What SQLite's ``sqlite_master`` statements say that SQLAlchemy does not read reliably.

SQLite keeps each table and index as the text of the statement that made it. SQLAlchemy
reads a generated column's expression from that text with a pattern that takes the first
``GENERATED ALWAYS AS`` after any occurrence of the column's name (column ``total`` gets
the expression of ``subtotal`` before it), and skips expression-based indexes; this module
reads both with a small scanner that knows SQL's quotes and parentheses.
"""

from __future__ import annotations

import re

#: A quoted string or identifier, or one character.
_QUOTES = {"'": "'", '"': '"', "`": "`", "[": "]"}


def _skip_quoted(text: str, i: int) -> int:
    """The index after the quoted token starting at ``text[i]``."""
    close = _QUOTES[text[i]]
    j = i + 1
    while j < len(text):
        if text[j] == close:
            if close != "]" and j + 1 < len(text) and text[j + 1] == close:
                j += 2  # a doubled quote inside
                continue
            return j + 1
        j += 1
    return j


def closing(text: str, start: int) -> int:
    """The index of the parenthesis that closes the one at ``text[start]`` (or the end)."""
    depth, i = 0, start
    while i < len(text):
        ch = text[i]
        if ch in _QUOTES:
            i = _skip_quoted(text, i)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text)


def split_top(text: str) -> list[str]:
    """``text`` split at the commas outside parentheses and quotes."""
    parts, depth, i, begin = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in _QUOTES:
            i = _skip_quoted(text, i)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[begin:i])
            begin = i + 1
        i += 1
    parts.append(text[begin:])
    return [p.strip() for p in parts if p.strip()]


def _first_paren(text: str, start: int = 0) -> int:
    """The index of the first ``(`` outside quotes from ``start``; -1 when there is none."""
    i = start
    while i < len(text):
        ch = text[i]
        if ch in _QUOTES:
            i = _skip_quoted(text, i)
            continue
        if ch == "(":
            return i
        i += 1
    return -1


def _name(part: str) -> tuple[str, str]:
    """The identifier ``part`` starts with (unquoted) and the rest of ``part``."""
    if part and part[0] in _QUOTES:
        end = _skip_quoted(part, 0)
        quote = part[0]
        inner = part[1:end - 1]
        if quote != "[":
            inner = inner.replace(quote * 2, quote)
        return inner, part[end:]
    m = re.match(r"[^\s(]+", part)
    word = m.group(0) if m else ""
    return word, part[len(word):]


_CONSTRAINT = re.compile(r"(CONSTRAINT|PRIMARY|UNIQUE|CHECK|FOREIGN)\b", re.IGNORECASE)
#: ``[GENERATED ALWAYS] AS (`` in a column definition, outside quotes.
_AS = re.compile(r"\bAS\s*$", re.IGNORECASE)


def generated_columns(create_table: str) -> dict[str, tuple[str, bool]]:
    """Each generated column of a ``CREATE TABLE`` statement: (its expression as written,
    whether it is STORED)."""
    start = _first_paren(create_table)
    if start < 0:
        return {}
    body = create_table[start + 1:closing(create_table, start)]
    out: dict[str, tuple[str, bool]] = {}
    for part in split_top(body):
        if _CONSTRAINT.match(part):
            continue
        name, rest = _name(part)
        i = _first_paren(rest)
        while i >= 0:
            end = closing(rest, i)
            if _AS.search(rest[:i]):
                after = rest[end + 1:]
                out[name] = (rest[i + 1:end].strip(),
                             bool(re.match(r"\s*STORED\b", after, re.IGNORECASE)))
                break
            i = _first_paren(rest, end + 1)
    return out


def index_parts(create_index: str) -> tuple[str, str | None, bool] | None:
    """(the indexed columns and expressions as written, the WHERE predicate or None,
    whether it is UNIQUE) of a ``CREATE INDEX`` statement; None when it cannot be read."""
    m = re.search(r"\bON\s+", create_index, re.IGNORECASE)
    if m is None:
        return None
    _, rest = _name(create_index[m.end():])
    # a schema-qualified table name: "main"."t"
    while rest.lstrip().startswith("."):
        _, rest = _name(rest.lstrip()[1:].lstrip())
    start = _first_paren(rest)
    if start < 0:
        return None
    end = closing(rest, start)
    after = rest[end + 1:].strip()
    where = re.match(r"WHERE\b\s*(.*)$", after, re.IGNORECASE | re.DOTALL)
    unique = bool(re.match(r"\s*CREATE\s+UNIQUE\b", create_index, re.IGNORECASE))
    return rest[start + 1:end].strip(), where.group(1).strip() if where else None, unique
