"""What the rule files of the ``script`` family share.

Script quality (SL6xx): how the revision file itself is written.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sluice.rules._sql import Stmt


#: Statements that change data or statistics, not the schema.
_DATA_KINDS = frozenset({"UPDATE", "INSERT", "DELETE", "SELECT", "SET"})


def changes_only_data(detail: Any, dialect: str | None = None) -> bool:
    """upgrade() only changes data: UPDATE/INSERT/DELETE, bulk_insert, VALIDATE CONSTRAINT,
    ANALYZE, a plain VACUUM. Unknown SQL (built at run time) is not. ``detail``: the
    ``upgrade_detail`` of a ``script.downgrade`` fact. SL601 and ``sluice check``'s
    no-downgrade check both judge by it."""
    if not isinstance(detail, (list, tuple)) or not detail:
        return False
    for kind, sql, construct in detail:
        if kind == "bulk_insert" or (kind == "execute" and construct in (
                "update", "insert", "delete", "select")):
            continue
        if kind != "execute" or not sql:
            return False
        from sluice.rules._sql import statements  # lazy: a revision without SQL never loads it

        stmts = statements(sql, dialect)
        if not stmts or not all(_data_statement(s) for s in stmts):
            return False
    return True


def _data_statement(stmt: Stmt) -> bool:
    if stmt.kind in _DATA_KINDS:
        return True
    if stmt.kind == "ALTER TABLE":
        return bool(stmt.actions) and all(a.kind == "validate_constraint" for a in stmt.actions)
    if stmt.kind == "VACUUM":
        return re.search(r"\bFULL\b", stmt.norm) is None
    return re.match(r"ANALYZE\b", stmt.norm) is not None
