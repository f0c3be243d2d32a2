"""What SQLite's ``sqlite_master`` statements say that SQLAlchemy does not read reliably.

SQLite keeps each table and index as the text of the statement that made it. SQLAlchemy
reads a generated column's expression from that text with a pattern that takes the first
``GENERATED ALWAYS AS`` after any occurrence of the column's name (column ``total`` gets
the expression of ``subtotal`` before it), and skips expression-based indexes; this module
reads both with sqlglot's SQLite dialect: the tree says which columns are generated (and
STORED) and what an index is made of, the tokens where each part is written, so that the
parts are given back as written.
"""

from __future__ import annotations

import logging

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import Token, TokenType

logging.getLogger("sqlglot").setLevel(logging.ERROR)

#: The words a table constraint starts with, where a column definition has its name.
_TABLE_CONSTRAINTS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}


def _read(sql: str) -> tuple[exp.Expression, list[Token]] | None:
    """sqlglot's tree and tokens of the statement ``sql``; None when it cannot read it."""
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
        tokens = Dialect.get_or_raise("sqlite").tokenize(sql)
    except Exception:  # sqlglot raises several error types; any means "not read"
        return None
    return (tree, tokens) if isinstance(tree, exp.Expression) else None


def _after(tokens: list[Token], node: exp.Expression) -> int:
    """The index of the first token after the one ``node`` (an identifier) is written as."""
    end = node.meta.get("end", -1)
    return next((i for i, t in enumerate(tokens) if t.start > end), len(tokens))


def _group(sql: str, tokens: list[Token], i: int) -> tuple[str, int]:
    """The text inside the parentheses opened at ``tokens[i]``, and the index of the
    token that closes them."""
    depth = 0
    for j in range(i, len(tokens)):
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(tokens[j].token_type, 0)
        if depth == 0:
            return sql[tokens[i].end + 1:tokens[j].start].strip(), j
    return sql[tokens[i].end + 1:].strip(), len(tokens)


def _generated(sql: str, tokens: list[Token], i: int) -> tuple[str, bool] | None:
    """The expression in the first ``AS (...)`` of the column definition at ``tokens[i]``
    and whether STORED follows it; None when there is none."""
    depth = 0
    for j in range(i, len(tokens) - 1):
        kind = tokens[j].token_type
        if depth == 0 and kind == TokenType.ALIAS \
                and tokens[j + 1].token_type == TokenType.L_PAREN:
            text, end = _group(sql, tokens, j + 1)
            return text, end + 1 < len(tokens) and tokens[end + 1].text.upper() == "STORED"
        if depth == 0 and kind in (TokenType.COMMA, TokenType.R_PAREN):
            return None
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(kind, 0)
    return None


def _unparsed_columns(sql: str) -> dict[str, tuple[str, bool]]:
    """:func:`generated_columns` from the tokens alone, for a statement sqlglot's parser
    does not read: SQLite accepts the short ``AS (...)`` after another column constraint
    (``b INT NOT NULL AS (a * 2)``), sqlglot only right after the type."""
    try:
        tokens = Dialect.get_or_raise("sqlite").tokenize(sql)
    except Exception:  # an unterminated string or quote
        return {}
    out: dict[str, tuple[str, bool]] = {}
    depth, starts = 0, False
    for i, tok in enumerate(tokens):
        if depth == 1 and starts and tok.text.upper() not in _TABLE_CONSTRAINTS:
            found = _generated(sql, tokens, i + 1)
            if found is not None:
                out[tok.text] = found
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(tok.token_type, 0)
        starts = depth == 1 and tok.token_type in (TokenType.L_PAREN, TokenType.COMMA)
    return out


def generated_columns(create_table: str) -> dict[str, tuple[str, bool]]:
    """Each generated column of a ``CREATE TABLE`` statement: (its expression as written,
    whether it is STORED)."""
    read = _read(create_table)
    if read is None:
        return _unparsed_columns(create_table)
    tree, tokens = read
    out: dict[str, tuple[str, bool]] = {}
    for column in tree.find_all(exp.ColumnDef) if isinstance(tree.this, exp.Schema) else ():
        computed = column.find(exp.ComputedColumnConstraint)
        if computed is None:
            continue
        found = _generated(create_table, tokens, _after(tokens, column.this))
        if found is not None:
            out[column.name] = (found[0], bool(computed.args.get("persisted")))
    return out


def index_parts(create_index: str) -> tuple[str, str | None, bool] | None:
    """(the indexed columns and expressions as written, the WHERE predicate or None,
    whether it is UNIQUE) of a ``CREATE INDEX`` statement; None when it cannot be read."""
    read = _read(create_index)
    if read is None or not isinstance(read[0].this, exp.Index):
        return None
    tree, tokens = read
    table = tree.this.args.get("table")
    start = _after(tokens, table.this) if isinstance(table, exp.Table) else len(tokens)
    start = next((i for i in range(start, len(tokens))
                  if tokens[i].token_type == TokenType.L_PAREN), -1)
    if start < 0:
        return None
    columns, end = _group(create_index, tokens, start)
    where = None
    if tree.this.find(exp.Where) is not None:
        word = next((t for t in tokens[end:] if t.token_type == TokenType.WHERE), None)
        where = create_index[word.end + 1:].strip() if word is not None else None
    return columns, where, bool(tree.args.get("unique"))
