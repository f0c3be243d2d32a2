"""SQL expressions compared by meaning, not by spelling: a partial index's predicate or a
generated column's expression as the models write it and as the database gives it back.

Each database returns these its own way: PostgreSQL parenthesises every operation, adds
casts (``(s)::text = 'x'::text``) and turns ``IN`` into ``= ANY (ARRAY[...])``, ``LIKE``
into ``~~`` and ``BETWEEN`` into two comparisons; MariaDB quotes every name with
backticks and renames functions (``lcase``); SQLite keeps the text as written.
:func:`canonical` parses an expression (operator precedence included) into one fully
parenthesised form without those differences, so two spellings of one expression give the
same text and two different expressions do not. Text it cannot parse gives None: callers
then compare the spelling with whitespace, quotes and casts removed.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>[eEnN]?'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*"|`(?:[^`]|``)*`)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<op>::|<=>|<>|!=|<=|>=|\|\||!~~\*|!~~|~~\*|~~|@@|@>|<@|&&|->>|->|\#>>|\#>|!~\*|!~|~\*
          |[-+*/%=<>(),.\[\]~\#^&|?@!])
""", re.VERBOSE)

#: Spellings of one operator or function.
_OPS = {"!=": "<>", "~~": "like", "!~~": "not like", "~~*": "ilike", "!~~*": "not ilike"}
_FUNCS = {"lcase": "lower", "ucase": "upper", "substr": "substring", "char_length": "length",
          "character_length": "length"}
#: Words that continue a multi-word type name after ``::``.
_TYPE_WORDS = {"varying", "precision", "without", "with", "time", "zone"}
_COMPARE = {"=", "<>", "<", ">", "<=", ">=", "<=>", "like", "ilike", "not like",
            "not ilike", "regexp", "glob"}
#: Binding power of the binary operators.
_BINARY = {"or": 1, "and": 2, **dict.fromkeys(_COMPARE, 4), "||": 5, "+": 6, "-": 6,
           "*": 7, "/": 7, "%": 7}


class _Unreadable(Exception):
    pass


def tokens(text: str) -> list[str]:
    """The tokens of ``text``: names unquoted and lower-case (a MySQL charset introducer,
    ``_utf8mb4'x'``, dropped), strings as written; None-free."""
    out: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise _Unreadable(text[pos:])
        pos = m.end()
        kind, value = m.lastgroup, m.group()
        if kind == "space":
            continue
        if kind == "string":
            if out and out[-1].startswith("_") and text[m.start() - 1] != " ":
                out.pop()  # _utf8mb4'x'
            out.append("'" + value.split("'", 1)[1])
        elif kind == "quoted":
            out.append(value[1:-1].replace(value[0] * 2, value[0]).lower())
        elif kind == "word":
            out.append(value.lower())
        else:
            out.append(value)
    return out


class _Parser:
    def __init__(self, toks: list[str]) -> None:
        self.toks = toks
        self.i = 0
        #: The items of each ARRAY[...] read, by its text; ``= ANY (ARRAY[...])`` by its.
        self.arrays: dict[str, list[str]] = {}
        self.quantified: dict[str, tuple[str, list[str]]] = {}

    def peek(self, ahead: int = 0) -> str | None:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise _Unreadable(f"expected {expected!r}, got {tok!r}")
        self.i += 1
        return tok

    def expression(self, power: int = 0) -> str:
        left = self.prefix()
        while True:
            op, width = self.binary_op()
            if op is None:
                break
            if op in ("is", "isnull", "notnull", "in", "between", "not in", "not between"):
                if _BINARY["="] <= power:
                    break
                self.i += width
                left = self.special(op, left)
                continue
            bp = _BINARY[op]
            if bp <= power:
                break
            self.i += width
            right = self.expression(bp)
            quantified = self.quantified.get(right)
            if quantified is not None and (op, quantified[0]) in (("=", "any"), ("<>", "all")):
                left = _in(left, quantified[1], negated=op == "<>")
            else:
                left = f"({left} {op} {right})"
        return left

    def binary_op(self) -> tuple[str | None, int]:
        tok = self.peek()
        if tok is None:
            return None, 0
        if tok == "not" and self.peek(1) in ("like", "ilike", "in", "between", "regexp",
                                             "glob"):
            return f"not {self.peek(1)}", 2
        if tok in ("is", "in", "between", "isnull", "notnull"):
            return tok, 1
        tok = _OPS.get(tok, tok)
        return (tok, 1) if tok in _BINARY else (None, 0)

    def special(self, op: str, left: str) -> str:
        if op in ("isnull", "notnull"):
            return f"({left} is {'not null' if op == 'notnull' else 'null'})"
        if op == "is":
            words = [self.take()]
            if words[0] == "not":
                words.append(self.take())
            if words[-1] == "distinct":
                self.take("from")
                right = self.expression(_BINARY["="])
                return f"({left} is {' '.join(words)} from {right})"
            return f"({left} is {' '.join(words)})"
        if op.endswith("between"):
            low = self.expression(_BINARY["="])
            self.take("and")
            high = self.expression(_BINARY["="])
            both = f"(({left} >= {low}) and ({left} <= {high}))"
            return f"(not {both})" if op.startswith("not") else both
        self.take("(")
        items = self.items(")")
        return _in(left, items, negated=op.startswith("not"))

    def items(self, close: str) -> list[str]:
        out: list[str] = []
        if self.peek() == close:
            self.take(close)
            return out
        while True:
            out.append(self.expression())
            if self.take() == close:
                return out
            if self.toks[self.i - 1] != ",":
                raise _Unreadable("expected ','")

    def cast_type(self) -> None:
        """Skip a type name after ``::`` or ``AS`` in CAST: ``character varying(20)[]``."""
        self.take()
        while self.peek() in _TYPE_WORDS:
            self.take()
        if self.peek() == "(":
            while self.take() != ")":
                pass
        while self.peek() == "[" and self.peek(1) == "]":
            self.i += 2

    def prefix(self) -> str:
        tok = self.take()
        if tok == "not":
            return f"(not {self.expression(3)})"
        if tok in ("-", "+"):
            operand = self.expression(8)
            return operand if tok == "+" else f"(- {operand})"
        if tok == "(":
            inner = self.expression()
            if self.peek() == ",":  # a row: (a, b)
                self.take(",")
                inner = "row(" + ", ".join([inner, *self.items(")")]) + ")"
            else:
                self.take(")")
            return self.postfix(inner)
        if tok == "case":
            return self.postfix(self.case())
        if tok in ("cast", "try_cast") and self.peek() == "(":
            self.take("(")
            inner = self.expression()
            self.take("as")
            while self.peek() != ")":
                self.take()
            self.take(")")
            return self.postfix(inner)
        if tok == "array" and self.peek() == "[":
            self.take("[")
            items = self.items("]")
            text = "array[" + ", ".join(items) + "]"
            self.arrays[text] = items
            return self.postfix(text)
        if tok in (")", ",", "]") or tok in _BINARY:
            raise _Unreadable(tok)
        if re.match(r"[a-z_]", tok) and self.peek() == "(":
            self.take("(")
            args = self.items(")")
            text = f"{_FUNCS.get(tok, tok)}({', '.join(args)})"
            if tok in ("any", "all") and len(args) == 1 and args[0] in self.arrays:
                self.quantified[text] = (tok, self.arrays[args[0]])
            return self.postfix(text)
        while self.peek() == "." and self.peek(1) is not None:  # table.column: the column
            self.take(".")
            tok = self.take()
        return self.postfix(tok)

    def case(self) -> str:
        parts = ["case"]
        if self.peek() != "when":
            parts.append(self.expression())
        while self.peek() == "when":
            self.take("when")
            parts.append("when " + self.expression())
            self.take("then")
            parts.append("then " + self.expression())
        if self.peek() == "else":
            self.take("else")
            parts.append("else " + self.expression())
        self.take("end")
        return "(" + " ".join(parts) + " end)"

    def postfix(self, value: str) -> str:
        while self.peek() == "::":
            self.take("::")
            self.cast_type()
        return value


def _in(left: str, items: list[str], *, negated: bool) -> str:
    """``x IN (a, b)``; one item is ``x = a``, as PostgreSQL gives it back."""
    if len(items) == 1:
        return f"({left} {'<>' if negated else '='} {items[0]})"
    return f"({left} {'not in' if negated else 'in'} ({', '.join(items)}))"


def canonical(text: str) -> str | None:
    """One spelling of the expression ``text`` (see the module); None when it cannot be
    read."""
    try:
        parser = _Parser(tokens(text))
        value = parser.expression()
        if parser.peek() is not None:
            raise _Unreadable(parser.peek() or "")
    except (_Unreadable, KeyError, RecursionError):
        return None
    return value


def loose(text: str) -> str:
    """The spelling of ``text`` without whitespace, quotes, casts or parentheses: what is
    compared when :func:`canonical` cannot read one side."""
    try:
        toks = tokens(text)
    except _Unreadable:
        return re.sub(r"\s+", "", text).lower()
    out: list[str] = []
    skip = False
    for tok in toks:
        if tok == "::":
            skip = True
            continue
        if skip:
            skip = tok in _TYPE_WORDS
            continue
        if tok not in ("(", ")"):
            out.append(_OPS.get(tok, _FUNCS.get(tok, tok)))
    return " ".join(out)


def same(a: str, b: str) -> bool:
    """Whether the expressions ``a`` and ``b`` are one, each database's spelling aside."""
    ca, cb = canonical(a), canonical(b)
    if ca is not None and cb is not None:
        return ca == cb
    return loose(a) == loose(b)


class Expression(str):
    """An expression as the database gives it back (``str`` of it: ``before``, the SQL,
    ``after``, as reports show it) that compares equal to another spelling of the same
    expression (:func:`same`), with the same ``before`` and ``after``."""

    sql: str
    affixes: tuple[str, str]

    def __new__(cls, sql: str, before: str = "", after: str = "") -> Expression:
        made = super().__new__(cls, before + sql + after)
        made.sql, made.affixes = sql, (before, after)
        return made

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Expression):
            return self.affixes == other.affixes and same(self.sql, other.sql)
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.affixes)
