"""A statement simple enough to summarise without sqlglot, exactly as sqlglot would.

Most raw SQL in revisions is a data fix of one shape: ``UPDATE t SET c = 1 WHERE id < 0``,
``UPDATE t SET c = u.c FROM u WHERE t.id = u.id`` or ``DELETE FROM t WHERE ...``, with
plain (or table-qualified) names, literals and ``AND``. For those, :func:`simple_dml`
fills a :class:`~sluice.rules._sql.Stmt` with what
:func:`~sluice.rules._sqltree.fill_from_tree` would (table, assignments, the WHERE clause
as sqlglot writes it back), and :func:`simple_statement` does the same for a plain
``CREATE INDEX``, ``DROP INDEX`` and ``ALTER TABLE ... RENAME CONSTRAINT``, so linting a
history whose SQL is all of those shapes never imports sqlglot (about 90 ms) nor parses
(about 0.5 ms a statement). Anything else -- a quoted name, a name sqlglot reads as a keyword, a
function, a subquery, ``OR``, ``IS NOT NULL``, a comment -- returns False and goes to
sqlglot.
tests/test_sql_fast.py keeps both ways equal on generated statements and
:data:`KEYWORDS` a superset of sqlglot's keywords.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sluice.rules._sql import Stmt

#: The first word of every keyword of sqlglot's tokenizers (base, PostgreSQL, MySQL,
#: SQLite): a name spelled like one may be read as something else than a name.
KEYWORDS = frozenset("""
    ALL ALTER ANALYZE AND ANTI ANY APPLY ARRAY AS ASC ASOF ATTACH AUTOINCREMENT
    AUTO_INCREMENT BEGIN BETWEEN BIGDECIMAL BIGINT BIGNUM BIGNUMERIC BIGSERIAL BINARY
    BIT BLOB BOOL BOOLEAN BPCHAR BYTE BYTEA CACHE CALL CASE CHAR CHARACTER CHARSET CLOB
    CLUSTER COLLATE COLUMN COMMENT COMMIT CONNECT CONSTRAINT COPY CREATE CROSS CSTRING
    CUBE CURRENT_CATALOG CURRENT_DATE CURRENT_SCHEMA CURRENT_TIME CURRENT_TIMESTAMP
    CURRENT_USER DATABASE DATE DATEMULTIRANGE DATERANGE DATETIME DEC DECFLOAT DECIMAL
    DECIMAL128 DECIMAL256 DECIMAL32 DECIMAL64 DECLARE DEFAULT DELETE DESC DESCRIBE
    DETACH DISTINCT DISTINCTROW DISTRIBUTE DIV DO DOUBLE DROP ELSE END ENUM ESCAPE
    EXCEPT EXEC EXECUTE EXISTS EXPLAIN FALSE FETCH FILE FILTER FIRST FIXED FLOAT FLOAT4
    FLOAT8 FOR FORCE FOREIGN FORMAT FROM FULL FUNCTION GEOGRAPHY GEOMETRY GLOB GRANT
    GROUP GROUPING HAVING HSTORE HUGEINT IGNORE ILIKE IN INDEX INDEXED INET INNER INOUT
    INSERT INT INT1 INT128 INT16 INT2 INT256 INT32 INT4 INT4MULTIRANGE INT4RANGE INT64
    INT8 INT8MULTIRANGE INT8RANGE INTEGER INTERSECT INTERVAL INTO IS ISNULL JOIN JSON
    JSONB KEEP KEY KILL LATERAL LEFT LIKE LIMIT LIST LOAD LOCALTIME LOCALTIMESTAMP LOCK
    LONG LONGBLOB LONGTEXT LONGVARCHAR MAP MATCH MEDIUMBLOB MEDIUMINT MEDIUMTEXT MEMBER
    MERGE MOD MONEY NAME NAMESPACE NATURAL NCHAR NEXT NOT NOTNULL NULL NULLABLE NUMBER
    NUMERIC NUMMULTIRANGE NUMRANGE NVARCHAR NVARCHAR2 OBJECT OFFSET OID ON ONLY OPERATOR
    OPTIMIZE OR ORDER ORDINALITY OUT OUTER OVER OVERLAPS OVERWRITE PARTITION PARTITIONED
    PARTITIONED_BY PERCENT PIVOT POINT PRAGMA PREPARE PRIMARY PROCEDURE QUALIFY RANGE
    REAL RECURSIVE REF REFERENCES REFRESH REGCLASS REGCOLLATION REGCONFIG REGDICTIONARY
    REGEXP REGNAMESPACE REGOPER REGOPERATOR REGPROC REGPROCEDURE REGROLE REGTYPE REINDEX
    RELEASE RENAME REPLACE RESET RETURNING REVOKE RIGHT RLIKE ROLLBACK ROLLUP ROW ROWS
    SAVEPOINT SCHEMA SELECT SEMI SEPARATOR SEQUENCE SERIAL SESSION SESSION_USER SET
    SETTINGS SHORT SHOW SIGNED SIMILAR SMALLINT SMALLSERIAL SOME SORT SQL START STR
    STRAIGHT_JOIN STRING STRUCT TABLE TABLESAMPLE TEMP TEMPORARY TEXT THEN TIME
    TIMESTAMP TIMESTAMPLTZ TIMESTAMPNTZ TIMESTAMPTZ TIMESTAMP_LTZ TIMESTAMP_NTZ TIMETZ
    TIME_NS TINYBLOB TINYINT TINYTEXT TRIGGER TRUE TRUNCATE TSMULTIRANGE TSRANGE
    TSTZMULTIRANGE TSTZRANGE TYPE UHUGEINT UINT UINT128 UINT256 UNCACHE UNION UNIQUE
    UNKNOWN UNLOCK UNNEST UNPIVOT UNSIGNED UPDATE USE USING UUID VACUUM VALUES VARBINARY
    VARCHAR VARCHAR2 VARIADIC VARIANT VECTOR VIEW VOLATILE WHEN WHERE WINDOW WITH XML
    XOR YEAR _ARMSCII8 _ASCII _BIG5 _BINARY _CP1250 _CP1251 _CP1256 _CP1257 _CP850
    _CP852 _CP866 _CP932 _DEC8 _EUCJPMS _EUCKR _GB18030 _GB2312 _GBK _GEOSTD8 _GREEK
    _HEBREW _HP8 _KEYBCS2 _KOI8R _KOI8U _LATIN1 _LATIN2 _LATIN5 _LATIN7 _MACCE _MACROMAN
    _SJIS _SWE7 _TIS620 _UCS2 _UJIS _UTF16 _UTF16LE _UTF32 _UTF8 _UTF8MB3 _UTF8MB4
""".split())

#: Words sqlglot's parser gives a meaning to in the statements read here, besides the
#: tokenizers' keywords: a name spelled like one is left to sqlglot.
_CLAUSE_WORDS = frozenset({"IF", "EXISTS", "CONCURRENTLY", "TO", "CASCADE", "RESTRICT",
                           "ONLY", "RENAME", "CONSTRAINT", "INCLUDE", "NULLS"})

#: Keywords sqlglot does not read as a column's name after ``table.`` (tests/test_sql_fast.py
#: tries every keyword there).
_NOT_AFTER_DOT = frozenset({"MOD", "NOT", "SELECT"})

_WS = r"[ \t\r\n]"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
#: A column, maybe qualified by its table (``accounts_user.id``).
_COLUMN = rf"{_NAME}(?:\.{_NAME})?"
_LITERAL_VALUE = r"-?(?:0|[1-9][0-9]{0,17})|(?i:NULL|TRUE|FALSE)|'[^'\\\n]*'"
_VALUE = rf"{_LITERAL_VALUE}|{_COLUMN}"
_OP = r"<=|>=|<>|!=|=|<|>"
_COND = rf"({_COLUMN})(?:{_WS}*({_OP}){_WS}*({_VALUE})|{_WS}+(?i:IS){_WS}+(?i:NULL))"
_ASSIGN = rf"({_NAME}){_WS}*={_WS}*({_VALUE})"
_UPDATE = re.compile(rf"(?i:UPDATE){_WS}+({_NAME}){_WS}+(?i:SET){_WS}+(.*?)"
                     rf"(?:{_WS}+(?i:FROM){_WS}+({_NAME}))?"
                     rf"(?:{_WS}+(?i:WHERE){_WS}+(.*))?", re.S)
_DELETE = re.compile(rf"(?i:DELETE){_WS}+(?i:FROM){_WS}+({_NAME})"
                     rf"(?:{_WS}+(?i:WHERE){_WS}+(.*))?", re.S)
_ASSIGNS = re.compile(rf"{_ASSIGN}(?:{_WS}*,{_WS}*{_ASSIGN})*")
_ASSIGN_ONE = re.compile(_ASSIGN)
_CONDS = re.compile(rf"{_COND}(?:{_WS}+(?i:AND){_WS}+{_COND})*", re.S)
_COND_ONE = re.compile(_COND)
_COMMA = re.compile(rf"{_WS}*,{_WS}*")
_AND = re.compile(rf"{_WS}+(?i:AND){_WS}+")


def _name(text: str) -> bool:
    """``text`` (a name, or a name qualified by its table) is read as a name: after a dot
    sqlglot reads a keyword as a name too, but for :data:`_NOT_AFTER_DOT`."""
    head, _, column = text.partition(".")
    if head.upper() in KEYWORDS or head.upper() in _CLAUSE_WORDS:
        return False
    return not column or (column.upper() not in _CLAUSE_WORDS
                          and column.upper() not in _NOT_AFTER_DOT)


_LITERAL_FULL = re.compile(_LITERAL_VALUE)


def _value(text: str) -> str | None:
    """A literal or a column as sqlglot writes it back; None for a column spelled like
    a keyword."""
    if _LITERAL_FULL.fullmatch(text) is None:
        return text if _name(text) else None
    return text if text[0] in "'-0123456789" else text.upper()


def _where(text: str) -> str | None:
    """The conditions as sqlglot writes them back, or None when not that simple."""
    if _CONDS.fullmatch(text) is None:
        return None
    out = []
    for part in _AND.split(text):
        m = _COND_ONE.fullmatch(part)
        if m is None or not _name(m.group(1)):
            return None
        if m.group(2) is None:
            out.append(f"{m.group(1)} IS NULL")
            continue
        op, value = "<>" if m.group(2) == "!=" else m.group(2), _value(m.group(3))
        if value is None:
            return None
        out.append(f"{m.group(1)} {op} {value}")
    return " AND ".join(out)


def simple_dml(stmt: Stmt, text: str) -> bool:
    """Fill ``stmt`` (an UPDATE or DELETE) as sqlglot's tree would, when ``text`` is of
    the simple shape; False (``stmt`` untouched) otherwise."""
    if stmt.kind == "UPDATE":
        m = _UPDATE.fullmatch(text)
        if m is None or not _name(m.group(1)) or _ASSIGNS.fullmatch(m.group(2)) is None:
            return False
        sets = []
        for part in _COMMA.split(m.group(2)):
            a = _ASSIGN_ONE.fullmatch(part)
            value = _value(a.group(2)) if a is not None else None
            if a is None or not _name(a.group(1)) or value is None:
                return False
            sets.append((a.group(1), value))
        if m.group(3) is not None and not _name(m.group(3)):
            return False
        table, where_text, joined = m.group(1), m.group(4), m.group(3) is not None
    elif stmt.kind == "DELETE":
        m = _DELETE.fullmatch(text)
        if m is None or not _name(m.group(1)):
            return False
        sets, table, where_text, joined = [], m.group(1), m.group(2), False
    else:
        return False
    where = None
    if where_text is not None:
        where = _where(where_text)
        if where is None:
            return False
    stmt.parsed = True
    stmt.table = table.lower()
    stmt.has_where = where is not None
    stmt.where = where
    stmt.sets = sets
    stmt.joined = joined
    return True


_RENAME_CONSTRAINT = re.compile(
    rf"(?i:ALTER){_WS}+(?i:TABLE){_WS}+({_NAME}){_WS}+(?i:RENAME){_WS}+(?i:CONSTRAINT)"
    rf"{_WS}+({_NAME}){_WS}+(?i:TO){_WS}+({_NAME})")
_DROP_INDEX = re.compile(rf"(?i:DROP){_WS}+(?i:INDEX)(?:{_WS}+(?i:CONCURRENTLY))?"
                         rf"(?:{_WS}+(?i:IF){_WS}+(?i:EXISTS))?{_WS}+({_NAME})")

_CREATE_INDEX = re.compile(
    rf"(?i:CREATE)({_WS}+(?i:UNIQUE))?{_WS}+(?i:INDEX)(?:{_WS}+(?i:CONCURRENTLY))?"
    rf"(?:{_WS}+(?i:IF){_WS}+(?i:NOT){_WS}+(?i:EXISTS))?{_WS}+({_NAME}){_WS}+(?i:ON)"
    rf"{_WS}+({_NAME})(?:{_WS}+(?i:USING){_WS}+({_NAME}))?{_WS}*\(([^()]*)\)")
#: Keywords sqlglot reads as a column's name in an index's column list (the tests try
#: each there).
_KEYWORD_COLUMNS = frozenset({"NAME", "DATE", "TIME", "TIMESTAMP", "TYPE", "TEXT"})
#: One indexed column: its name, an operator class, an order.
_INDEX_ITEM = re.compile(rf"{_WS}*({_NAME})(?:{_WS}+(?!(?i:ASC|DESC)\b)({_NAME}))?"
                         rf"(?:{_WS}+(?i:ASC|DESC))?{_WS}*")


def simple_statement(stmt: Stmt, text: str) -> bool:
    """Fill ``stmt`` as sqlglot's tree would when ``text`` is of a simple shape: a
    :func:`simple_dml` UPDATE or DELETE, a plain ``CREATE INDEX`` on columns,
    ``DROP INDEX [CONCURRENTLY] [IF EXISTS] ix``, or
    ``ALTER TABLE t RENAME CONSTRAINT a TO b`` (which sqlglot reads as a generic command,
    so nothing comes from a tree); False (``stmt`` untouched) otherwise."""
    if stmt.kind in ("UPDATE", "DELETE"):
        return simple_dml(stmt, text)
    if stmt.kind == "ALTER TABLE":
        m = _RENAME_CONSTRAINT.fullmatch(text)
        return m is not None and all(_name(name) for name in m.groups())
    if stmt.kind == "CREATE INDEX":
        return _create_index(stmt, text)
    if stmt.kind == "DROP INDEX":
        m = _DROP_INDEX.fullmatch(text)
        if m is None or not _name(m.group(1)):
            return False
        stmt.parsed = True
        stmt.index_name = m.group(1).lower()
        return True
    return False


def _create_index(stmt: Stmt, text: str) -> bool:
    """``CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] ix ON t [USING m] (a [opclass]
    [ASC|DESC], ...)`` with plain names."""
    m = _CREATE_INDEX.fullmatch(text)
    if m is None or not all(_name(n) for n in m.group(2, 3, 4) if n is not None):
        return False
    for item in m.group(5).split(","):
        column = _INDEX_ITEM.fullmatch(item)
        if column is None or not (_name(column.group(1))
                                  or column.group(1).upper() in _KEYWORD_COLUMNS):
            return False
        if column.group(2) is not None and not _name(column.group(2)):
            return False
    stmt.parsed = True
    stmt.index_name, stmt.table = m.group(2).lower(), m.group(3).lower()
    stmt.unique = m.group(1) is not None
    return True


_LITERAL = re.compile(r"'([^'\\\n]*)'|(?<![A-Za-z0-9_])([0-9]+)(?![A-Za-z0-9_])")


def simple_literals(sql: str) -> list[tuple[int, int, Any]] | None:
    """The string and number literals of conditions of the simple shape (what
    :func:`simple_dml` writes back as a WHERE clause, or a literal SET value), as sqlglot's
    tokenizer reads them: (start, end, value); None for anything else."""
    if _CONDS.fullmatch(sql) is None and _VALUE_FULL.fullmatch(sql) is None:
        return None
    if any(m.group(0).upper() not in _OPERATOR_WORDS and not _name(m.group(0))
           for m in _COLUMNS.finditer(_STRINGS.sub("''", sql))):
        return None
    out: list[tuple[int, int, Any]] = []
    for m in _LITERAL.finditer(sql):
        if m.group(1) is not None:
            out.append((m.start(), m.end(), m.group(1)))
        else:
            out.append((m.start(), m.end(), int(m.group(2))))
    return out


_VALUE_FULL = re.compile(_VALUE)
_STRINGS = re.compile(r"'[^'\\\n]*'")
_COLUMNS = re.compile(rf"(?<![A-Za-z0-9_.]){_COLUMN}")
_OPERATOR_WORDS = frozenset({"AND", "IS", "NULL", "TRUE", "FALSE"})
