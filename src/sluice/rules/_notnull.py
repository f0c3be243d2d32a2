"""Check constraints that prove a column holds no NULL: ``CHECK (col IS NOT NULL)``,
valid (added without ``NOT VALID``, or validated since). With one, PostgreSQL 12 and later
sets NOT NULL without scanning the table (SL206's own safe alternative), the NOT NULL
cannot fail on existing NULLs (SL102), and dropping the check right after loses nothing
(SL004).

Read within one revision and phase, in order. A check added in an earlier revision is
known only by name: one this revision validates, or drops right after setting NOT NULL
(the last step of the safe sequence), counts when its name contains the column's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sluice.core.ops import Op
from sluice.rules._util import sql_statements, unit_ops

if TYPE_CHECKING:
    from sluice.rules._sql import Action
    from sluice.rules.registry import RuleContext

__all__ = ["dropped_check_was_redundant", "proven_not_null", "set_not_null_column"]

_GUARDS = re.compile(r"^\(*\s*[\"`]?(\w+)[\"`]?\s+IS\s+NOT\s+NULL\s*\)*$", re.I)
_CHECK = re.compile(r"\bCHECK\s*\((.*)\)", re.I | re.S)
_VALIDATE = re.compile(r"VALIDATE\s+CONSTRAINT\s+[\"`]?([\w$]+)", re.I)
#: ``ALTER TABLE t ADD CONSTRAINT name CHECK (cond) [NOT VALID]`` inside other SQL (the
#: catalog-guarded ``DO`` block of a recipe); groups: table, name, condition, NOT VALID.
_ADD_IN_BLOCK = re.compile(
    r"ALTER\s+TABLE\s+(?:ONLY\s+)?(?:[\"`\w]+\.)?[\"`]?(\w+)[\"`]?\s+ADD\s+CONSTRAINT\s+"
    r"[\"`]?(\w+)[\"`]?\s+CHECK\s*\((.*?)\)\s*(NOT\s+VALID)?\s*;", re.I | re.S)
_SET_NOT_NULL = re.compile(r"ALTER\s+(?:COLUMN\s+)?[\"`]?(\w+)[\"`]?\s+SET\s+NOT\s+NULL", re.I)


@dataclass
class _Check:
    """A check constraint of one table, as far as the revision shows it."""

    name: str
    table: str
    #: The column ``CHECK (col IS NOT NULL)`` guards; empty when it guards none, None when
    #: its text is not known here.
    column: str | None
    valid: bool


def _guarded(condition: object) -> str | None:
    m = _GUARDS.match(str(condition or "").strip())
    return m.group(1).lower() if m else None


def _low(value: str | None) -> str:
    return (value or "").strip('"`').lower()


def _events(op: Op, ctx: RuleContext) -> list[tuple[int, str, str, str | None, bool]]:
    """(position, event, table, name, not_valid) of the unit's check events, in order:
    ``add`` (name, then after a ``|`` the guarded column: empty for a check guarding
    none, ``?`` when its text is not known), ``validate``, ``drop``,
    ``not_null`` (name: the column)."""
    out: list[tuple[int, str, str, str | None, bool]] = []
    for i, o in enumerate(unit_ops(op, ctx)):
        table = _low(o.table)
        if o.kind == "create_check_constraint" and o.name:
            condition = o.args.get("condition")
            column = _guarded(condition) or ("" if condition else "?")
            out.append((i, "add", table, f"{_low(o.name)}|{column}",
                        bool(o.args.get("postgresql_not_valid"))))
        elif o.kind == "drop_constraint" and o.name:
            out.append((i, "drop", table, _low(o.name), False))
        elif o.kind == "alter_column" and o.args.get("nullable") is False and o.column:
            out.append((i, "not_null", table, _low(o.column), False))
        if o.kind == "execute" and o.sql and "$$" in o.sql:
            for block in _ADD_IN_BLOCK.finditer(o.sql):  # in a DO block: a guarded add
                out.append((i, "add", _low(block.group(1)),
                            f"{_low(block.group(2))}|{_guarded(block.group(3)) or ''}",
                            bool(block.group(4))))
        for stmt, _ in sql_statements(o, ctx):
            if stmt.kind != "ALTER TABLE":
                continue
            table = _low(stmt.table)
            for act in stmt.actions:
                if act.kind == "add_constraint" and act.constraint == "check" and act.name:
                    m = _CHECK.search(act.text)
                    column = (_guarded(m.group(1)) or "") if m else "?"
                    out.append((i, "add", table, f"{_low(act.name)}|{column}",
                                act.not_valid))
                elif act.kind == "validate_constraint":
                    m = _VALIDATE.search(act.text)
                    if m:
                        out.append((i, "validate", table, _low(m.group(1)), False))
                elif act.kind == "drop_constraint" and act.name:
                    out.append((i, "drop", table, _low(act.name), False))
                elif act.kind == "set_not_null":
                    set_column = set_not_null_column(act)
                    if set_column:
                        out.append((i, "not_null", table, _low(set_column), False))
    return out


def set_not_null_column(act: Action) -> str | None:
    """The column an ``ALTER COLUMN c SET NOT NULL`` clause names (lower-cased)."""
    m = _SET_NOT_NULL.search(act.text)
    column = act.column or (m.group(1) if m else None)
    return column.lower() if column else None


def _position(op: Op, ctx: RuleContext) -> int:
    return next((i for i, o in enumerate(unit_ops(op, ctx)) if o is op), -1)


def proven_not_null(op: Op, ctx: RuleContext, table: str | None, column: str | None, *,
                    added_here: bool = True) -> bool:
    """A valid ``CHECK (column IS NOT NULL)`` on ``table`` stands when ``op`` runs, or the
    revision drops one named after the column right after it (see the module).
    ``added_here=False``: only a check an earlier revision added counts (one this revision
    adds and validates fails on NULL rows, as the NOT NULL would)."""
    if not table or not column:
        return False
    table, column = _low(table), _low(column)
    here = _position(op, ctx)
    checks: dict[str, _Check] = {}
    for i, event, tbl, name, not_valid in _events(op, ctx):
        if tbl != table or name is None:
            continue
        if i < here:
            if event == "add":
                cname, _, guarded = name.partition("|")
                checks[cname] = _Check(cname, tbl, None if guarded == "?" else guarded,
                                       not not_valid and added_here)
                if not added_here:
                    checks[cname].column = ""  # (it proves nothing yet, validated or not)
            elif event == "validate":
                found = checks.setdefault(name, _Check(name, tbl, None, False))
                found.valid = True
            elif event == "drop":
                checks.pop(name, None)
        elif i > here and event == "drop" and column in name and name not in checks:
            return True  # the safe sequence's last step: its check was validated earlier
    return any(c.valid and (c.column == column or (c.column is None and column in c.name))
               for c in checks.values())


def dropped_check_was_redundant(op: Op, ctx: RuleContext, table: str | None,
                                name: str | None) -> bool:
    """The check ``name`` on ``table`` that ``op`` drops guarded a column the revision set
    NOT NULL before it (by its text, or by its name holding the column's)."""
    if not table or not name:
        return False
    table, name = _low(table), _low(name)
    here = _position(op, ctx)
    guarded: str | None = None
    for i, event, tbl, ename, _ in _events(op, ctx):
        if i >= here or tbl != table or ename is None:
            continue
        if event == "add" and ename.partition("|")[0] == name:
            guarded = ename.partition("|")[2]
            if guarded == "":
                return False  # a check of something else: dropping it loses that
            guarded = None if guarded == "?" else guarded
        elif event == "not_null" and (ename == guarded or (guarded is None and ename in name)):
            return True
    return False
