"""The guards the MariaDB recipes write before ``ADD INDEX IF NOT EXISTS`` and ``ADD COLUMN
IF NOT EXISTS``: the clause makes a rerun after a kill complete, but it also keeps an index
or a column of that name whatever its definition, where the naive op fails on the name. Each
guard is a ``BEGIN NOT ATOMIC`` block that reads ``information_schema`` and, when an index
or a column of the name is there with another definition, stops the revision with
``SIGNAL`` (an error naming it, and what it is), changing nothing. It reads no Python at
run time, so it is written into ``alembic upgrade --sql`` output too.

An index is compared by uniqueness, method (BTREE unless stated), columns in order and
prefix lengths; a column by its type (display widths aside) and nullability, or by
its nullability alone when its type is not one whose ``information_schema`` spelling is
known here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from sluice.core.sql import string_literal
from sluice.recipes.spelling import Spelled
from sluice.recipes.steps import SqlStep

#: Types MariaDB spells with a display width (``int(11)``, ``year(4)``), compared without.
_INTS = ("tinyint", "smallint", "mediumint", "int", "bigint", "year")
#: How ``information_schema.columns.column_type`` spells a type SQLAlchemy compiles
#: otherwise (its first word).
_WORDS = {"integer": "int", "numeric": "decimal", "bool": "tinyint", "boolean": "tinyint",
          "json": "longtext", "real": "double", "dec": "decimal", "fixed": "decimal"}
#: Types whose spelling :func:`column_type` knows; another is compared by nullability.
_KNOWN = {*_INTS, "decimal", "float", "double", "char", "varchar", "binary", "varbinary",
          "tinytext", "text", "mediumtext", "longtext", "tinyblob", "blob", "mediumblob",
          "longblob", "date", "datetime", "timestamp", "time", "enum", "set", "bit"}
#: The existing column's type without a display width (``int(11) unsigned``:
#: ``int unsigned``), as :func:`column_type` spells the wanted one.
_HAVE_TYPE = ("IF(data_type IN ('tinyint', 'smallint', 'mediumint', 'int', 'bigint', 'year') "
              "AND locate('(', column_type) > 0, concat(data_type, substring(column_type, "
              "locate(')', column_type) + 1)), column_type)")


def _where(schema: str | None) -> str:
    return f"table_schema = {string_literal(schema) if schema else 'database()'}"


def index_guard(name: Spelled, table: str, schema: str | None, columns: Sequence[str],
                lengths: Sequence[int | None], unique: bool) -> SqlStep:
    """Before ``ADD [UNIQUE] INDEX IF NOT EXISTS name``: an index ``name`` on ``table``
    that is not this one (uniqueness, method, columns, prefix lengths) stops the revision."""
    parts = [c + (f"({n})" if n else "") for c, n in zip(columns, lengths, strict=True)]
    want = ("UNIQUE " if unique else "") + "(" + ", ".join(parts) + ")"
    rows = name.text(f"FROM information_schema.statistics WHERE {_where(schema)} "
                     f"AND table_name = {string_literal(table)} AND index_name = ")
    return name.step(
        "BEGIN NOT ATOMIC DECLARE have TEXT; DECLARE msg TEXT;",
        name.text("SELECT concat(IF(min(non_unique) = 0, 'UNIQUE ', ''), "
                  "IF(max(index_type) <> 'BTREE', concat(max(index_type), ' '), ''), '(', "
                  "group_concat(column_name, IF(sub_part IS NULL, '', concat('(', sub_part, "
                  "')')) ORDER BY seq_in_index SEPARATOR ', '), ')')"),
        f"INTO have {rows}{name.literal};",
        f"IF have IS NOT NULL AND have <> {name.text(string_literal(want))} THEN",
        f"SET msg = concat('sluice recipe: ', {name.literal}, "
        f"{name.text(string_literal(' on ' + table + ' is not the index this revision creates '))}, "
        f"{name.text(string_literal(want + ': it is '))}, have, "
        "'; drop or rename it first');",
        "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = msg; END IF; END",
    )


def column_type(column: sa.Column[Any], dialect: Any) -> str | None:
    """``column``'s type as ``information_schema.columns.column_type`` spells it
    (display widths aside), or None when that spelling is not known here."""
    try:
        text = str(column.type.compile(dialect=dialect)).lower()
    except Exception:  # noqa: BLE001 - compared by nullability alone
        return None
    text = re.sub(r"\s+(character set|charset|collate)\s+\S+", "", text)
    text = re.sub(r"^national\s+", "", text).replace(", ", ",").strip()
    word = re.match(r"[a-z]+", text)
    if word is None:
        return None
    first = _WORDS.get(word.group(), word.group())
    rest = text[word.end():]
    if first in _INTS:
        rest = re.sub(r"^\(\d+\)", "", rest)
    if first == "decimal" and not rest.startswith("("):
        rest = "(10,0)" + rest
    return first + rest if first in _KNOWN else None


def column_guard(table: str, schema: str | None, column: sa.Column[Any],
                 dialect: Any) -> SqlStep:
    """Before ``ADD COLUMN IF NOT EXISTS``: a column of the name on ``table`` of another
    type or nullability stops the revision."""
    null = "NULL" if column.nullable else "NOT NULL"
    wanted = column_type(column, dialect)
    shown = f"{wanted or str(column.type.compile(dialect=dialect)).lower()} {null}"
    kind = _HAVE_TYPE if wanted else "column_type"
    compare = (f"have <> {string_literal(shown)}" if wanted
               else f"nul <> {string_literal(null)}")
    return SqlStep(
        "BEGIN NOT ATOMIC DECLARE have TEXT; DECLARE nul TEXT; DECLARE msg TEXT;",
        f"SELECT max(concat({kind}, ' ', IF(is_nullable = 'YES', 'NULL', 'NOT NULL'))),",
        "max(IF(is_nullable = 'YES', 'NULL', 'NOT NULL')) INTO have, nul",
        f"FROM information_schema.columns WHERE {_where(schema)}",
        f"AND table_name = {string_literal(table)} "
        f"AND column_name = {string_literal(str(column.name))};",
        f"IF have IS NOT NULL AND {compare} THEN",
        f"SET msg = concat({string_literal('sluice recipe: column ' + str(column.name))}, "
        f"{string_literal(' on ' + table + ' is not the column this revision adds ')}, "
        f"{string_literal('(' + shown + '): it is ')}, have, '; drop or rename it first');",
        "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = msg; END IF; END",
    )
