"""The one SQL statement splitter of Sluice.

Literal SQL (``op.execute`` text, ``alembic upgrade --sql`` output) is cut into statements
on top-level ``;`` only. sqlglot's tokenizer for the dialect decides what is top level:
``'...'`` strings (with the dialect's escapes), ``"..."`` and backtick identifiers, ``--``,
``#`` and ``/* */`` comments, and PostgreSQL dollar quotes (``$$ ... $$``, ``$tag$ ...
$tag$``), so a PL/pgSQL body stays one statement. A compound body without ``DELIMITER``
(``CREATE TRIGGER ... BEGIN ...; ...; END`` on MySQL/MariaDB or SQLite, ``BEGIN ATOMIC``
on PostgreSQL) stays one statement too, as the server receives it from a driver, and so
does a ``;`` inside parentheses (``CREATE RULE ... DO INSTEAD (...; ...)``). A line
holding only ``GO`` (SQL Server) or ``/`` (Oracle), the batch separators Alembic writes
offline, also ends a statement.

When the tokenizer rejects the text (an unterminated string, say), a quote-aware regular
expression splits it instead, so a caller always gets statements, never an exception.

sqlglot is loaded only for SQL that needs it: plain SQL (words, numbers, operators,
parentheses) splits the same in every dialect, and PostgreSQL SQL whose strings, quoted
names, dollar quotes and comments are of the common kinds splits the same once those are
blanked, so neither goes through the tokenizer (tests/test_sql_split.py keeps both ways
equal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from sluice.core import memo

if TYPE_CHECKING:
    from sqlglot.tokens import Token, Tokenizer

__all__ = ["Span", "split_sql", "statement_spans"]


@dataclass(frozen=True)
class _Lexer:
    """sqlglot's tokenizers and token types, imported on the first split: importing
    sqlglot costs more than most commands' own work (``sluice upgrade`` in a development
    environment never splits SQL)."""

    tokenizer: type[Tokenizer]
    token_error: type[Exception]
    types: Any
    #: Tokens whose text is data (a string, a quoted name), never a keyword.
    quoted: frozenset[Any]


#: The sqlglot dialect module whose tokenizer splits each dialect's SQL (``""``: any).
_DIALECT_MODULES = {
    "postgresql": "postgres", "postgres": "postgres", "mysql": "mysql", "mariadb": "mysql",
    "sqlite": "sqlite", "mssql": "tsql", "tsql": "tsql",
}


@cache
def _lexer(module: str) -> _Lexer:
    """The tokenizer of sqlglot's dialect ``module`` (``""``: PostgreSQL's, with both
    identifier quotes, for an unknown dialect); only that dialect is imported."""
    import importlib  # lazy: sqlglot's dialect on the first split

    from sqlglot.errors import TokenError  # lazy: sqlglot's dialects on the first split
    from sqlglot.tokens import TokenType  # lazy: sqlglot's dialects on the first split

    dialect = importlib.import_module(f"sqlglot.dialects.{module or 'postgres'}")
    base = {"postgres": "Postgres", "mysql": "MySQL", "sqlite": "SQLite",
            "tsql": "TSQL"}[module or "postgres"]
    # Commands are tokenized like any other statement (sqlglot would otherwise read the
    # rest of a ``DO``/``REFRESH``/``EXECUTE`` statement as one raw string).
    extra: dict[str, Any] = {"COMMANDS": set()}
    if not module:  # unknown dialect: dollar quotes and both identifier quotes
        extra["IDENTIFIERS"] = ['"', "`"]
    tokenizer = type(f"_{base}Tokens", (getattr(dialect, base).Tokenizer,), extra)
    return _Lexer(
        tokenizer=tokenizer,
        token_error=TokenError,
        types=TokenType,
        quoted=frozenset({
            TokenType.STRING, TokenType.HEREDOC_STRING, TokenType.IDENTIFIER,
            TokenType.NATIONAL_STRING, TokenType.RAW_STRING, TokenType.BIT_STRING,
            TokenType.HEX_STRING, TokenType.BYTE_STRING, TokenType.UNICODE_STRING}),
    )


@dataclass(frozen=True)
class Span:
    """Where one statement is in the text it was split from."""

    #: Just after the previous separator (leading comments and blank lines included).
    start: int
    #: The statement's first token (its leading comments end here).
    code: int
    #: The separator (``;``, ``GO``, ``/``) or the end of the text; not included.
    end: int


def split_sql(sql: str, dialect: str | None = None, *, comments: bool = True) -> list[str]:
    """The statements of ``sql``, stripped, without their separators.

    ``comments=False`` drops the comments that lead a statement (Alembic's ``-- Running
    upgrade`` markers, say); comments inside a statement always stay. Pieces that hold
    nothing but comments and whitespace are left out.
    """
    return [sql[s.start if comments else s.code : s.end].strip()
            for s in statement_spans(sql, dialect)]


def statement_spans(sql: str, dialect: str | None = None) -> list[Span]:
    """Where each statement of ``sql`` is (see the module docs for what splits)."""
    return list(_spans_cached(sql, (dialect or "").lower()))


@lru_cache(maxsize=2048)
def _spans_cached(sql: str, dialect: str) -> tuple[Span, ...]:
    if _plain(sql):
        return tuple(_plain_spans(sql))
    if dialect in _MASKED_DIALECTS:
        masked = _mask_quoted(sql)
        if masked is not None and _plain(masked):
            return tuple(_plain_spans(masked))
    return _tokenizer_spans(sql, dialect)


def _tokenizer_spans(sql: str, dialect: str) -> tuple[Span, ...]:
    kept = memo.entries()
    key = (sql, f"split:{dialect}")
    found = kept.get(key) if kept is not None else None
    if isinstance(found, tuple) and all(
            isinstance(t, tuple) and len(t) == 3 and all(type(n) is int for n in t)
            for t in found):
        return tuple(Span(*t) for t in found)
    spans = _tokenized_spans(sql, dialect)
    if kept is not None:
        kept[key] = tuple((s.start, s.code, s.end) for s in spans)
        memo.added.add(key)
    return spans


def _tokenized_spans(sql: str, dialect: str) -> tuple[Span, ...]:
    lex = _lexer(_DIALECT_MODULES.get(dialect, ""))
    try:
        tokens = lex.tokenizer().tokenize(sql)
    except lex.token_error:
        return tuple(_fallback(sql))
    spans = _token_spans(lex, sql, tokens, blocks=True)
    if spans is None:  # a BEGIN or "(" never closed: split as if neither were there
        spans = _token_spans(lex, sql, tokens, blocks=False)
    assert spans is not None
    return tuple(spans)


#: ``BEGIN`` followed by one of these starts a transaction, not a compound body.
_TRANSACTION_WORDS = {"TRANSACTION", "WORK", "TRAN", "ISOLATION", "READ", "DEFERRED",
                      "IMMEDIATE", "EXCLUSIVE", "DISTRIBUTED", "DEFERRABLE"}
#: ``END IF``, ``END LOOP``, ...: closes a construct that was not counted as opening.
_UNCOUNTED_ENDS = {"IF", "LOOP", "WHILE", "REPEAT", "FOR"}


def _token_spans(lex: _Lexer, sql: str, tokens: list[Token], *,
                 blocks: bool) -> list[Span] | None:
    types, quoted = lex.types, lex.quoted
    spans: list[Span] = []
    start = 0
    first: Token | None = None
    stack: list[str] = []
    for i, tok in enumerate(tokens):
        word = "" if tok.token_type in quoted else tok.text.upper()
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.token_type == types.SEMICOLON or _batch_separator(lex, sql, tok):
            if "BEGIN" in stack or "(" in stack:
                continue
            if first is not None:
                spans.append(Span(start, first.start, tok.start))
            start, first, stack = tok.end + 1, None, []
            continue
        if blocks and word == "BEGIN":
            if _opens_block(lex, first is None, nxt):
                stack.append("BEGIN")
        elif blocks and tok.token_type == types.L_PAREN:
            stack.append("(")
        elif tok.token_type == types.R_PAREN:
            if stack and stack[-1] == "(":
                stack.pop()
        elif word == "CASE":
            stack.append("CASE")
        elif word == "END" and stack and stack[-1] != "(":
            after = "" if nxt is None or nxt.token_type in quoted else nxt.text.upper()
            if after not in _UNCOUNTED_ENDS and not (after == "CASE" and stack[-1] != "CASE"):
                stack.pop()
        if first is None:
            first = tok
    if "BEGIN" in stack or "(" in stack:
        return None
    if first is not None:
        spans.append(Span(start, first.start, len(sql)))
    return spans


def _opens_block(lex: _Lexer, leads: bool, nxt: Token | None) -> bool:
    """Is this ``BEGIN`` the start of a compound body (``BEGIN ... END``)?"""
    if nxt is None or nxt.token_type == lex.types.SEMICOLON:
        return False
    after = nxt.text.upper()
    if leads:  # a statement starting with BEGIN is a transaction, except MariaDB's block
        return after == "NOT"
    return after not in _TRANSACTION_WORDS


def _batch_separator(lex: _Lexer, sql: str, tok: Token) -> bool:
    """``GO`` or ``/`` alone on its line."""
    if tok.token_type in lex.quoted or tok.text.upper() not in ("GO", "/"):
        return False
    line_start = sql.rfind("\n", 0, tok.start) + 1
    line_end = sql.find("\n", tok.end + 1)
    line_end = len(sql) if line_end < 0 else line_end
    return not sql[line_start:tok.start].strip() and not sql[tok.end + 1:line_end].strip()


#: Plain SQL: no quote, comment, dollar quote, backslash or ``/`` can be in it (so no
#: token hides a ``;``), nor a word that opens or closes a compound body (``BEGIN``,
#: ``CASE``, ``END`` not inside a longer name), nor a ``GO`` line. Only ``;`` and parentheses decide where it splits, the same in every dialect,
#: so it is split without loading sqlglot (tests/test_sql_split.py keeps both equal).
_PLAIN = re.compile(r"[A-Za-z0-9_ \t\r\n(),;.=<>!+*%&|^~:?@-]*")
_PLAIN_SPECIAL = re.compile(
    r"--|(?<![A-Za-z_])(?:BEGIN|CASE|END)(?![A-Za-z0-9_])|^[ \t\r]*GO[ \t\r]*$", re.I | re.M)
_PLAIN_TOKEN = re.compile(r"[;()]")
_PLAIN_CODE = re.compile(r"[^ \t\r\n]")


def _plain(sql: str) -> bool:
    return _PLAIN.fullmatch(sql) is not None and _PLAIN_SPECIAL.search(sql) is None


def _plain_spans(sql: str) -> list[Span]:
    """:func:`_token_spans` for plain SQL (see :data:`_PLAIN`): a ``;`` inside parentheses
    does not split, unless a ``(`` is never closed."""
    for parens in (True, False):
        spans: list[Span] = []
        start, depth = 0, 0
        for m in _PLAIN_TOKEN.finditer(sql):
            char = m.group()
            if char == "(":
                depth += parens
            elif char == ")":
                depth = max(depth - 1, 0)
            elif not depth:
                spans.extend(_plain_span(sql, start, m.start()))
                start = m.end()
        if not depth:
            return spans + _plain_span(sql, start, len(sql))
    raise AssertionError("unreachable: without parentheses nothing stays open")


def _plain_span(sql: str, start: int, end: int) -> list[Span]:
    code = _PLAIN_CODE.search(sql, start, end)
    return [Span(start, code.start(), end)] if code else []


#: Dialects whose quotes and comments :func:`_mask_quoted` reads as sqlglot's tokenizer
#: does (PostgreSQL's; ``""``, an unknown dialect, uses it too).
_MASKED_DIALECTS = frozenset({"postgresql", "postgres", ""})
#: Where a quoted string, identifier, dollar quote or comment may start.
_OPENER = re.compile(r"['\"$]|--|/\*")
_QUOTED = {
    "'": re.compile(r"'[^'\\]*(?:''[^'\\]*)*'(?!')"),
    '"': re.compile(r'"[^"\\]*(?:""[^"\\]*)*"(?!")'),
}
#: What may precede a comment the blanking reads: the tokenizer reads ``--`` and ``/*``
#: after these as a comment (after ``|``, say, it may read an operator).
_BEFORE_COMMENT = frozenset(" \t\r\n(),;'\"$")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_LINE_BREAK = re.compile(r"[\r\n]")
_NOT_NEWLINE = re.compile(r"[^\r\n]")


def _mask_quoted(sql: str) -> str | None:
    """``sql`` with what PostgreSQL's tokenizer reads as data blanked, at the same
    positions: a ``'...'`` string, a ``"..."`` name or a ``$$``/``$tag$`` dollar quote
    becomes ``0``s (a token), a ``--`` or ``/* */`` comment becomes spaces (line breaks
    kept). Split as plain SQL, the masked text splits where the tokenizer would split
    ``sql`` (tests/test_sql_split.py). None for anything read otherwise or not surely
    so: a prefixed quote (``E'...'``, ``U&"..."``), a backslash in a quote, a ``$`` that
    is not a dollar quote, a comment right after an operator, a nested or unterminated
    comment, an unterminated quote."""
    out: list[str] = []
    pos = 0
    while (m := _OPENER.search(sql, pos)) is not None:
        start, opener = m.start(), m.group()
        prev = sql[start - 1] if start else " "
        if opener in ("--", "/*") and prev not in _BEFORE_COMMENT:
            return None  # ``|/*`` is an operator, ``|/``, then ``*``: keep to the plain cases
        if opener == "--":
            brk = _LINE_BREAK.search(sql, start)
            end = brk.start() if brk else len(sql)
            mask = " " * (end - start)
        elif opener == "/*":
            close = sql.find("*/", start + 2)
            if close < 0 or "/*" in sql[start + 2:close + 1]:
                return None
            end = close + 2
            mask = _NOT_NEWLINE.sub(" ", sql[start:end])
        else:
            if prev.isalnum() or prev in "_&$'\"":
                return None
            if opener == "$":
                tag = _DOLLAR_TAG.match(sql, start)
                close = sql.find(tag.group(), tag.end()) if tag else -1
                if tag is None or close < 0:
                    return None
                end = close + len(tag.group())
            else:
                quoted = _QUOTED[opener].match(sql, start)
                if quoted is None:
                    return None
                end = quoted.end()
            mask = _NOT_NEWLINE.sub("0", sql[start:end])
        out.append(sql[pos:start])
        out.append(mask)
        pos = end
    out.append(sql[pos:])
    return "".join(out)


_FALLBACK = re.compile(
    r"'(?:[^'\\]|\\.|'')*'"            # string literals
    r"|\"(?:[^\"]|\"\")*\""            # quoted identifiers
    r"|`[^`]*`"                        # MySQL identifiers
    r"|--[^\n]*|#[^\n]*|/\*.*?\*/"     # comments
    r"|\$([A-Za-z_]\w*)?\$.*?\$\1\$"   # dollar quotes
    r"|;",
    re.S,
)
_COMMENTS = re.compile(r"\s+|--[^\n]*|#[^\n]*|/\*.*?\*/", re.S)


def _fallback(sql: str) -> list[Span]:
    """Split where the tokenizer gave up: top-level ``;`` outside quotes and comments."""
    spans: list[Span] = []
    start = 0
    for m in _FALLBACK.finditer(sql):
        if m.group(0) == ";":
            spans.extend(_fallback_span(sql, start, m.start()))
            start = m.end()
    spans.extend(_fallback_span(sql, start, len(sql)))
    return spans


def _fallback_span(sql: str, start: int, end: int) -> list[Span]:
    code = start
    while code < end:
        m = _COMMENTS.match(sql, code, end)
        if not m or not m.group(0):
            break
        code = m.end()
    return [Span(start, code, end)] if code < end else []


def string_literal(text: str) -> str:
    """``text`` as an SQL string literal (its quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def fill_name(template: str, name: str, quoted: str, qualified: str) -> str:
    """The SQL of a step ``sluice fix`` writes around a constraint's or an index's name:
    ``template`` (``str.format``) with ``{name}`` the quoted identifier, ``{literal}`` the
    name as a string literal, ``{qualified}`` the identifier with its schema and
    ``{regclass}`` that as a string literal. Filled when the revision runs
    (:mod:`sluice.recipes.naming`) and when lint reads it statically."""
    return template.format(name=quoted, literal=string_literal(name), qualified=qualified,
                           regclass=string_literal(qualified))
