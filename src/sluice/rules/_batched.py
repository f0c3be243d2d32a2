"""The ``sluice.data`` call a finding suggests for a bulk UPDATE or DELETE, with the
statement's literals turned into Python values or bind parameters."""

from __future__ import annotations

import re
from typing import Any

from sluice.core import memo


def batched_snippet(kind: str, table: str, where: str | None,
                    sets: list[tuple[str, str]] | None = None) -> str:
    """A ``sluice.data`` call doing the same change in batches, for a fix. Literal values
    become Python values or bind parameters: ``sluice.data`` refuses SQL text that carries
    literals (that is how injection and quoting bugs get in)."""
    binds = _Binds()
    cond = binds.clause(where) if where else ("sa.true()" if kind == "delete" else None)
    if kind == "delete":
        return f"sluice.data.batched_delete({table!r}, where={cond})"
    values = ", ".join(f"{col!r}: {binds.value(val)}" for col, val in (sets or [])) or "..."
    tail = f", where={cond}" if cond else ""
    return f"sluice.data.batched_update({table!r}, {{{values}}}{tail})"


class _Binds:
    """Turns the literals of SQL fragments into bind parameters ``:v1``, ``:v2`` ..."""

    def __init__(self) -> None:
        self.count = 0

    def value(self, sql: str) -> str:
        """A SET value: a plain Python value when it is one literal, else an expression."""
        literal = _python_literal(sql.strip())
        if literal is not _NOT_LITERAL:
            return repr(literal)
        return self.clause(sql)

    def clause(self, sql: str) -> str:
        text, params = self._bind(sql)
        if not params:
            return f"sa.text({text!r})"
        args = ", ".join(f"{k}={v!r}" for k, v in params.items())
        return f"sa.text({text!r}).bindparams({args})"

    def _bind(self, sql: str) -> tuple[str, dict[str, Any]]:
        from sluice.rules._sqlfast import simple_literals  # lazy: only for a fix's SQL

        literals = simple_literals(sql)
        if literals is None:
            literals = sqlglot_literals(sql)
        if literals is None:
            return sql, {}
        out, pos, params = [], 0, {}
        for start, end, value in literals:
            self.count += 1
            name = f"v{self.count}"
            out.append(sql[pos:start])
            out.append(f":{name}")
            pos = end
            params[name] = value
        out.append(sql[pos:])
        return "".join(out), params


def sqlglot_literals(sql: str) -> list[tuple[int, int, Any]] | None:
    """The string and number literals of ``sql`` as sqlglot's PostgreSQL tokenizer reads
    them: (start, end, value); None when it cannot tokenize ``sql``. Kept between lints
    (:mod:`sluice.core.memo`, keyed ``"literals"``)."""
    kept = memo.entries()
    key = (sql, "literals")
    found = kept.get(key) if kept is not None else None
    if isinstance(found, tuple) and len(found) == 1:
        return None if found[0] is None else [tuple(t) for t in found[0]]
    literals = _tokenized_literals(sql)
    if kept is not None:
        kept[key] = (None if literals is None else [tuple(t) for t in literals],)
        memo.added.add(key)
    return literals


def _tokenized_literals(sql: str) -> list[tuple[int, int, Any]] | None:
    from sqlglot.dialects.dialect import Dialect  # lazy: start-up (sqlglot)
    from sqlglot.tokens import TokenType  # lazy: start-up (sqlglot)

    try:
        tokens = Dialect.get_or_raise("postgres").tokenize(sql)
    except Exception:
        return None
    out: list[tuple[int, int, Any]] = []
    for t in tokens:
        if t.token_type not in (TokenType.STRING, TokenType.NUMBER):
            continue
        value: Any = t.text
        if t.token_type == TokenType.NUMBER:
            value = float(t.text) if any(c in t.text for c in ".eE") else int(t.text)
        out.append((t.start, t.end + 1, value))
    return out


_NOT_LITERAL = object()


def _python_literal(sql: str) -> Any:
    if re.fullmatch(r"'(?:[^']|'')*'", sql):
        return sql[1:-1].replace("''", "'")
    if re.fullmatch(r"-?\d+", sql):
        return int(sql)
    if re.fullmatch(r"-?\d+\.\d*", sql):
        return float(sql)
    upper = sql.upper()
    if upper in ("TRUE", "FALSE"):
        return upper == "TRUE"
    if upper == "NULL":
        return None
    return _NOT_LITERAL
