"""SQL expressions compared by meaning, not by spelling: a partial index's predicate or a
generated column's expression as the models write it and as the database gives it back.

Each database returns these its own way: PostgreSQL parenthesises every operation, adds
casts (``(s)::text = 'x'::text``) and turns ``IN`` into ``= ANY (ARRAY[...])``, ``LIKE``
into ``~~`` and ``BETWEEN`` into two comparisons; MariaDB quotes every name with
backticks and renames functions (``lcase``); SQLite keeps the text as written.
:func:`canonical` reads an expression with sqlglot in the database's dialect and writes its
tree back in one fully parenthesised form without those differences (no casts, charset
introducers, table qualifiers or redundant parentheses; names unquoted and lower-case), so
two spellings of one expression give the same text and two different expressions do not.
Without a dialect the expression is read as generic SQL, or as MariaDB's when only that
reads it (backticks). Text sqlglot cannot read gives None: callers then compare the
spelling with whitespace, quotes and casts removed (:func:`loose`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType

logging.getLogger("sqlglot").setLevel(logging.ERROR)

#: sqlglot's name of each SQLAlchemy dialect.
_READ = {"postgresql": "postgres", "postgres": "postgres", "mysql": "mysql",
         "mariadb": "mysql", "sqlite": "sqlite"}
#: Words that continue a multi-word type name after ``::``.
_TYPE_WORDS = {"varying", "precision", "without", "with", "time", "zone"}


def _reads(dialect: str | None) -> list[str]:
    return [_READ.get(dialect, dialect)] if dialect else ["", "mysql"]


def _bottom_up(node: exp.Expression,
               rewrite: Callable[[exp.Expression], exp.Expression]) -> exp.Expression:
    """``node`` with ``rewrite`` applied to each node of its tree, children first."""
    for child in list(node.iter_expressions()):
        key, index = child.arg_key, child.index  # before a rewrite moves the child
        new = _bottom_up(child, rewrite)
        if new is not child and key:
            node.set(key, new, index)
    return rewrite(node)


def _in(left: exp.Expression, items: list[exp.Expression], *, negated: bool
        ) -> exp.Expression:
    """``x IN (a, b)``; one item is ``x = a``, as PostgreSQL gives it back."""
    if len(items) == 1:
        cls = exp.NEQ if negated else exp.EQ
        return cls(this=left, expression=items[0])
    made = exp.In(this=left, expressions=items)
    return exp.Not(this=made) if negated else made


def _quantified(node: exp.Expression, word: str) -> list[exp.Expression] | None:
    """The items of ``ANY (ARRAY[...])`` (``word`` any) or ``ALL (ARRAY[...])``; None when
    ``node`` is not that (generic SQL reads ANY and ALL as plain functions)."""
    if isinstance(node, exp.Any | exp.All) and word == type(node).__name__.lower():
        array = node.this
    elif isinstance(node, exp.Anonymous) and node.name.lower() == word \
            and len(node.expressions) == 1:
        array = node.expressions[0]
    else:
        return None
    return list(array.expressions) if isinstance(array, exp.Array) else None


def _same_meaning(node: exp.Expression) -> exp.Expression:
    """One spelling of ``node`` (its children already rewritten)."""
    if isinstance(node, exp.Cast | exp.Paren | exp.Introducer):  # TryCast is a Cast
        inner: exp.Expression = node.expression if isinstance(node, exp.Introducer) \
            else node.this  # _utf8mb4'x': 'x'
        return inner
    if isinstance(node, exp.Identifier):
        return exp.Identifier(this=node.name.lower(), quoted=False)
    if isinstance(node, exp.Column) and node.table:  # table.column: the column
        return exp.column(node.this)
    if isinstance(node, exp.Between):
        return exp.And(this=exp.GTE(this=node.this.copy(), expression=node.args["low"]),
                       expression=exp.LTE(this=node.this, expression=node.args["high"]))
    if isinstance(node, exp.EQ | exp.NEQ):
        items = _quantified(node.expression, "any" if isinstance(node, exp.EQ) else "all")
        if items is not None:
            return _in(node.this, items, negated=isinstance(node, exp.NEQ))
    if isinstance(node, exp.In) and not node.args.get("query") \
            and len(node.expressions) == 1:
        return _in(node.this, list(node.expressions), negated=False)
    if isinstance(node, exp.Is) and node.args.get("negate"):  # PostgreSQL's IS NOT
        return exp.Not(this=exp.Is(this=node.this, expression=node.expression))
    if isinstance(node, exp.Not) and isinstance(node.this, exp.EQ):
        return exp.NEQ(this=node.this.this, expression=node.this.expression)
    return node


def _parenthesised(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Binary | exp.Unary | exp.In) and not isinstance(node, exp.Paren):
        return exp.Paren(this=node)
    return node


@lru_cache(maxsize=1024)
def canonical(text: str, dialect: str | None = None) -> str | None:
    """One spelling of the expression ``text`` (see the module) read in ``dialect``
    (SQLAlchemy's name); None when it cannot be read."""
    for read in _reads(dialect):
        try:
            tree = sqlglot.parse_one(text, read=read)
        except Exception:  # sqlglot raises several error types; any means "not read"
            continue
        if not isinstance(tree, exp.Expression) or isinstance(tree, exp.Command):
            continue
        try:
            tree = _bottom_up(_bottom_up(tree, _same_meaning), _parenthesised)
            return tree.sql(normalize_functions="lower")
        except Exception:  # a tree sqlglot cannot write back
            return None
    return None


def loose(text: str, dialect: str | None = None) -> str:
    """The spelling of ``text`` without whitespace, quotes, casts or parentheses: what is
    compared when :func:`canonical` cannot read one side."""
    try:
        tokens = Dialect.get_or_raise(_READ.get(dialect or "", "mysql")).tokenize(text)
    except Exception:  # an unterminated string or quote
        return re.sub(r"\s+", "", text).lower()
    out: list[str] = []
    skip = False
    for tok in tokens:
        if tok.token_type == TokenType.DCOLON:
            skip = True
            continue
        if skip:
            skip = tok.text.lower() in _TYPE_WORDS
            continue
        if tok.token_type not in (TokenType.L_PAREN, TokenType.R_PAREN):
            out.append(f"'{tok.text}'" if tok.token_type == TokenType.STRING
                       else tok.text.lower())
    return " ".join(out)


def same(a: str, b: str, dialect: str | None = None) -> bool:
    """Whether the expressions ``a`` and ``b`` are one, each database's spelling aside."""
    ca, cb = canonical(a, dialect), canonical(b, dialect)
    if ca is not None and cb is not None:
        return ca == cb
    return loose(a, dialect) == loose(b, dialect)


class Expression(str):
    """An expression as the database gives it back (``str`` of it: ``before``, the SQL,
    ``after``, as reports show it) that compares equal to another spelling of the same
    expression (:func:`same`, in ``dialect``), with the same ``before`` and ``after``."""

    sql: str
    affixes: tuple[str, str]
    dialect: str | None

    def __new__(cls, sql: str, before: str = "", after: str = "",
                dialect: str | None = None) -> Expression:
        made = super().__new__(cls, before + sql + after)
        made.sql, made.affixes, made.dialect = sql, (before, after), dialect
        return made

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Expression):
            return self.affixes == other.affixes and same(self.sql, other.sql,
                                                          self.dialect or other.dialect)
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.affixes)
