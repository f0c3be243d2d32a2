"""What the rule files of the ``script`` family share.

Script quality (SL6xx): how the revision file itself is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sluice.rules._util import TableRef, drop_table_refs, made_table, temp_schema

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sluice.rules._sql import Stmt


#: Statements that change data or statistics, not the schema.
_DATA_KINDS = frozenset({"UPDATE", "INSERT", "DELETE", "SELECT", "SET"})


#: SQLite PRAGMAs that set the connection (how it checks), not the schema.
_SESSION_PRAGMA = re.compile(r"PRAGMA (?:\w+\.)?(?:FOREIGN_KEYS|DEFER_FOREIGN_KEYS|"
                             r"LEGACY_ALTER_TABLE|RECURSIVE_TRIGGERS|IGNORE_CHECK_CONSTRAINTS|"
                             r"FOREIGN_KEY_CHECK)\b")
#: ``ALTER TYPE ... ADD VALUE``: an enum value PostgreSQL cannot remove again.
_ADD_ENUM_VALUE = re.compile(r"ALTER TYPE \S+ ADD VALUE\b")


def changes_only_data(detail: Any, dialect: str | None = None) -> bool:
    """upgrade() only changes data: UPDATE/INSERT/DELETE, bulk_insert, VALIDATE CONSTRAINT,
    ANALYZE, a plain VACUUM, a session setting (``SET``, ``PRAGMA foreign_keys=OFF``), a
    temporary table made for it and dropped.
    Unknown SQL (built at run time) is not. ``detail``: the ``upgrade_detail`` of a
    ``script.downgrade`` fact. SL601 and ``sluice check``'s no-downgrade check both judge
    by it."""
    return _only(detail, dialect, _data_statement)


def adds_only_enum_values(detail: Any, dialect: str | None = None) -> bool:
    """upgrade() adds enum values (``ALTER TYPE ... ADD VALUE``) and otherwise only changes
    data: nothing a downgrade could undo on PostgreSQL, which cannot drop an enum value."""
    return _only(detail, dialect, lambda s: _data_statement(s) or _enum_value(s)) and \
        not _only(detail, dialect, _data_statement)


def _enum_value(stmt: Stmt) -> bool:
    return stmt.kind == "ALTER TYPE" and _ADD_ENUM_VALUE.match(stmt.norm) is not None


def _only(detail: Any, dialect: str | None, accept: Callable[[Stmt], bool]) -> bool:
    if not isinstance(detail, (list, tuple)) or not detail:
        return False
    temporary: set[TableRef] = set()
    for kind, sql, construct in detail:
        if kind == "bulk_insert" or (kind == "execute" and construct in (
                "update", "insert", "delete", "select")):
            continue
        if kind != "execute" or not sql:
            return False
        from sluice.rules import _sql  # lazy: a revision without SQL never loads it

        stmts = _sql.statements(sql, dialect)
        if not stmts or not all(accept(s) or _temporary(s, temporary, dialect)
                                for s in stmts):
            return False
    return True


def _temporary(stmt: Stmt, temporary: set[TableRef], dialect: str | None) -> bool:
    """A statement on a temporary table (made for the data change, gone with the session):
    its ``CREATE TEMPORARY TABLE`` (noted in ``temporary``; one made in ``pg_temp`` as its
    name without a schema) and a ``DROP TABLE`` of only such tables. A table is its schema
    and its name: ``audit.t`` is not the temporary ``t`` (MySQL's ``CREATE TEMPORARY TABLE
    audit.t`` is not the unqualified ``t``)."""
    if stmt.kind == "CREATE TABLE":
        made = made_table(stmt, dialect)
        if made is None or not made[1]:
            return False
        temporary.add(made[0])
        return True
    if stmt.kind != "DROP TABLE":
        return False
    if stmt.norm.startswith("DROP TEMPORARY TABLE"):
        return True  # MySQL's: it drops temporary tables only
    refs = drop_table_refs(stmt)
    return bool(refs) and all(ref in temporary or temp_schema(ref[0], dialect)
                              for ref in refs)


def _data_statement(stmt: Stmt) -> bool:
    if stmt.kind in _DATA_KINDS or _SESSION_PRAGMA.match(stmt.norm):
        return True
    if stmt.kind == "ALTER TABLE":
        return bool(stmt.actions) and all(a.kind == "validate_constraint" for a in stmt.actions)
    if stmt.kind == "VACUUM":
        return re.search(r"\bFULL\b", stmt.norm) is None
    return re.match(r"ANALYZE\b", stmt.norm) is not None
