"""Check constraints that prove a column holds no NULL: ``CHECK (col IS NOT NULL)``,
valid (added without ``NOT VALID``, or validated since). With one, PostgreSQL 12 and later
sets NOT NULL without scanning the table (SL206's own safe alternative), the NOT NULL
cannot fail on existing NULLs (SL102), and dropping the check right after loses nothing
(SL004).

Read within one revision and phase, in order. A check added in an earlier revision is
known only by name: one this revision validates, or drops right after setting NOT NULL
(the last step of the safe sequence), counts when its name contains the column's and
the drop is a check's (``type_="check"``, or no type and a check's name: a unique
constraint or a foreign key named after the column proves nothing). A table is its schema
and its name (:data:`~sluice.rules._util.TableRef`): a check on the table of that name in
another schema proves nothing of this one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from sluice.core.ops import Op
from sluice.rules._util import (
    TableRef,
    op_table,
    run_memo,
    sql_statements,
    statement_table,
    table_ref,
    unit_ops,
)

if TYPE_CHECKING:
    from sluice.rules._sql import Action
    from sluice.rules.registry import RuleContext

__all__ = ["dropped_check_was_redundant", "proven_not_null", "set_not_null_column"]

_GUARDS = re.compile(r"^\(*\s*[\"`]?(\w+)[\"`]?\s+IS\s+NOT\s+NULL\s*\)*$", re.I)
_CHECK = re.compile(r"\bCHECK\s*\((.*)\)", re.I | re.S)
_VALIDATE = re.compile(r"VALIDATE\s+CONSTRAINT\s+[\"`]?([\w$]+)", re.I)
#: ``ALTER TABLE t ADD CONSTRAINT name CHECK (cond) [NOT VALID]`` inside other SQL (the
#: catalog-guarded ``DO`` block of a recipe); groups: schema, table, name, condition,
#: NOT VALID.
_ADD_IN_BLOCK = re.compile(
    r"ALTER\s+TABLE\s+(?:ONLY\s+)?(?:[\"`]?(\w+)[\"`]?\.)?[\"`]?(\w+)[\"`]?\s+"
    r"ADD\s+CONSTRAINT\s+"
    r"[\"`]?(\w+)[\"`]?\s+CHECK\s*\((.*?)\)\s*(NOT\s+VALID)?\s*;", re.I | re.S)
_SET_NOT_NULL = re.compile(r"ALTER\s+(?:COLUMN\s+)?[\"`]?(\w+)[\"`]?\s+SET\s+NOT\s+NULL", re.I)


@dataclass
class _Check:
    """A check constraint of one table, as far as the revision shows it."""

    name: str
    table: TableRef
    #: The column ``CHECK (col IS NOT NULL)`` guards; empty when it guards none, None when
    #: its text is not known here.
    column: str | None
    valid: bool


def _guarded(condition: object) -> str | None:
    m = _GUARDS.match(str(condition or "").strip())
    return m.group(1).lower() if m else None


def _low(value: str | None) -> str:
    return (value or "").strip('"`').lower()


class _Event(NamedTuple):
    """One step of the unit that matters to a NOT NULL check, in order."""

    #: Index of the op in the revision's phase.
    pos: int
    #: ``add`` (a check), ``validate``, ``drop`` (a constraint), ``not_null`` (a column).
    kind: str
    table: TableRef
    #: The constraint's name; for ``not_null``, the column's.
    name: str
    #: ``add``: the column ``CHECK (col IS NOT NULL)`` guards, ``""`` for a check guarding
    #: none, None when its text is not known.
    column: str | None = None
    not_valid: bool = False
    #: ``drop``: the constraint dropped is (or may be) a check: ``type_="check"``, or no
    #: type and a name that reads as a check's (a unique or foreign key is not one).
    check: bool = False


def _events(op: Op, ctx: RuleContext) -> list[_Event]:
    """The check events of ``op``'s revision and phase, read once per lint run."""
    unit = unit_ops(op, ctx)
    memo = run_memo(ctx)
    key = ("notnull_events", id(unit))
    found: tuple[list[Op], list[_Event]] | None = memo.get(key)
    if found is None:  # (the unit kept with its entry: its id stays its own meanwhile)
        found = memo[key] = (unit, list(_read_events(unit, ctx)))
    return found[1]


def _read_events(unit: list[Op], ctx: RuleContext) -> Iterator[_Event]:
    for i, o in enumerate(unit):
        table = op_table(o) or ("", "")
        if o.kind == "create_check_constraint" and o.name:
            condition = o.args.get("condition")
            yield _Event(i, "add", table, _low(o.name),
                         _guarded(condition) or ("" if condition else None),
                         bool(o.args.get("postgresql_not_valid")))
        elif o.kind == "drop_constraint" and o.name:
            type_ = str(o.args.get("type_") or "")
            yield _Event(i, "drop", table, _low(o.name),
                         check=type_ == "check" or (not type_ and _check_name(o.name)))
        elif o.kind == "alter_column" and o.args.get("nullable") is False and o.column:
            yield _Event(i, "not_null", table, _low(o.column))
        if o.kind == "execute" and o.sql and "$$" in o.sql:
            for block in _ADD_IN_BLOCK.finditer(o.sql):  # in a DO block: a guarded add
                yield _Event(i, "add", table_ref(block.group(2), block.group(1)),
                             _low(block.group(3)), _guarded(block.group(4)) or "",
                             bool(block.group(5)))
        for stmt, _ in sql_statements(o, ctx):
            if stmt.kind == "ALTER TABLE":
                yield from _sql_events(i, statement_table(stmt) or ("", ""), stmt.actions)


def _sql_events(i: int, table: TableRef, actions: list[Action]) -> Iterator[_Event]:
    for act in actions:
        if act.kind == "add_constraint" and act.constraint == "check" and act.name:
            m = _CHECK.search(act.text)
            yield _Event(i, "add", table, _low(act.name),
                         (_guarded(m.group(1)) or "") if m else None, act.not_valid)
        elif act.kind == "validate_constraint":
            m = _VALIDATE.search(act.text)
            if m:
                yield _Event(i, "validate", table, _low(m.group(1)))
        elif act.kind == "drop_constraint" and act.name:
            yield _Event(i, "drop", table, _low(act.name), check=_check_name(act.name))
        elif act.kind == "set_not_null":
            column = set_not_null_column(act)
            if column:
                yield _Event(i, "not_null", table, column)


#: A constraint name that reads as a check's: ``ck_...``, ``..._check``, ``..._not_null``,
#: ``..._nn``.
_CHECK_NAME = re.compile(r"(^|_)(ck|chk|check|not_?null|nn)(_|$)", re.I)


def _check_name(name: str) -> bool:
    return bool(_CHECK_NAME.search(_low(name)))


def set_not_null_column(act: Action) -> str | None:
    """The column an ``ALTER COLUMN c SET NOT NULL`` clause names (lower-cased)."""
    m = _SET_NOT_NULL.search(act.text)
    column = act.column or (m.group(1) if m else None)
    return column.lower() if column else None


def _position(op: Op, ctx: RuleContext) -> int:
    return next((i for i, o in enumerate(unit_ops(op, ctx)) if o is op), -1)


def proven_not_null(op: Op, ctx: RuleContext, table: TableRef | None, column: str | None,
                    *, added_here: bool = True) -> bool:
    """A valid ``CHECK (column IS NOT NULL)`` on ``table`` stands when ``op`` runs, or the
    revision drops one named after the column right after it (see the module).
    ``added_here=False``: only a check an earlier revision added counts (one this revision
    adds and validates fails on NULL rows, as the NOT NULL would)."""
    if not table or not column:
        return False
    column = _low(column)
    here = _position(op, ctx)
    checks: dict[str, _Check] = {}
    for e in _events(op, ctx):
        if e.table != table:
            continue
        if e.pos < here:
            if e.kind == "add":  # (one added here proves nothing to SL102, validated or not)
                checks[e.name] = _Check(e.name, e.table, e.column if added_here else "",
                                        not e.not_valid and added_here)
            elif e.kind == "validate":
                checks.setdefault(e.name, _Check(e.name, e.table, None, False)).valid = True
            elif e.kind == "drop":
                checks.pop(e.name, None)
        elif e.pos > here and e.kind == "drop" and e.check and column in e.name \
                and e.name not in checks:
            return True  # the safe sequence's last step: its check was validated earlier
    return any(c.valid and (c.column == column or (c.column is None and column in c.name))
               for c in checks.values())


def dropped_check_was_redundant(op: Op, ctx: RuleContext, table: TableRef | None,
                                name: str | None) -> bool:
    """The check ``name`` on ``table`` that ``op`` drops guarded a column the revision set
    NOT NULL before it (by its text, or by its name holding the column's)."""
    if not table or not name:
        return False
    name = _low(name)
    here = _position(op, ctx)
    events = _events(op, ctx)
    if not any(e.pos == here and e.kind == "drop" and e.name == name and e.check
               for e in events):
        return False  # a unique constraint or a foreign key: not a check
    guarded: str | None = None
    for e in events:
        if e.pos >= here or e.table != table:
            continue
        if e.kind == "add" and e.name == name:
            if e.column == "":
                return False  # a check of something else: dropping it loses that
            guarded = e.column
        elif e.kind == "not_null" and (e.name == guarded or (guarded is None and e.name in name)):
            return True
    return False
