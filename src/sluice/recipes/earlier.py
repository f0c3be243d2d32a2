"""What the calls of a revision file before a candidate call did, beyond what
:func:`sluice.lint.fixplan.plan_source` reads from its top-level ``op`` calls.

Depended-on columns: a recipe that rebuilds a column (``Recipe.rebuilds_column``) stops at
run time on a column something depends on, so it is not applied to a column that, where
the call runs, has

- an index or a constraint made earlier in the same function inside a block (the
  ``autocommit_block`` a first ``sluice fix`` wrote: a second run must decline what the
  first declined);
- one made by SQL (``op.execute("CREATE INDEX ... ON t (c)")``, the ``ALTER TABLE t ADD
  CONSTRAINT ...`` of a recipe's step);
- in a downgrade, one the revision's upgrade made: it still stands when the downgrade
  starts.

Every identifier such a call names counts (a superset): declining leaves the op as
written, which runs.

Swapped tables: a constraint dropped by SQL in the revision's transaction
(``op.execute("ALTER TABLE t DROP CONSTRAINT IF EXISTS fk")``, a statement of the
function's own) and made again after it is a swap, as after ``op.drop_constraint``: the
two commit together as written.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from sluice.lint.fixplan import Candidate, ColumnKey, Plan, TableKey, table_key
from sluice.lint.fixplan import _dependents as call_dependents  # noqa: PLC2701 - one reading

_NAME = r'(?:"[^"]+"|[A-Za-z_][\w$]*)'
_REF = rf"({_NAME}(?:\s*\.\s*{_NAME})?)"
#: ``ALTER TABLE t ADD ...`` up to the end of its statement.
_ALTER_ADD = re.compile(rf"\bALTER\s+TABLE\s+(?:ONLY\s+)?{_REF}\s+ADD\b([^;]*)", re.I)
#: ``CREATE [UNIQUE] INDEX ... ON t ...`` up to the end of its statement.
_CREATE_INDEX = re.compile(
    rf"\bCREATE\s+(?:UNIQUE\s+)?INDEX\b[^;]*?\bON\s+(?:ONLY\s+)?{_REF}([^;]*)", re.I)
#: ``REFERENCES t (columns)``: the other side of a foreign key.
_REFERENCES = re.compile(rf"\bREFERENCES\s+{_REF}\s*\(([^)]*)\)", re.I)
#: ``ALTER TABLE t ... DROP CONSTRAINT``.
_DROP_CONSTRAINT = re.compile(
    rf"\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?{_REF}[^;]*?\bDROP\s+CONSTRAINT\b",
    re.I)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _key(ref: str) -> TableKey:
    parts = [p.strip().strip('"') for p in ref.split(".")]
    return table_key(parts[-1], parts[0] if len(parts) == 2 else None)


def sql_dependents(sql: str) -> set[ColumnKey]:
    """The columns the indexes and constraints ``sql`` makes may depend on."""
    found: set[ColumnKey] = set()
    for pattern in (_ALTER_ADD, _CREATE_INDEX, _REFERENCES):
        for match in pattern.finditer(sql):
            key = _key(match.group(1))
            found |= {(*key, w.lower()) for w in _WORD.findall(match.group(2))}
    return found


def _texts(node: ast.AST) -> Iterable[str]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            yield sub.value


def _calls(node: ast.AST, aliases: set[str]) -> Iterable[ast.Call]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) \
                and isinstance(sub.func.value, ast.Name) and sub.func.value.id in aliases:
            yield sub


def _made(call: ast.Call) -> set[ColumnKey]:
    found = call_dependents(call)
    for text in _texts(call):
        found |= sql_dependents(text)
    return found


def _dropped(stmt: ast.stmt, aliases: set[str]) -> set[TableKey]:
    """Tables a top-level ``op.execute`` statement drops a constraint of."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return set()
    call = stmt.value
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "execute"
            and isinstance(call.func.value, ast.Name) and call.func.value.id in aliases):
        return set()
    return {_key(m.group(1)) for text in _texts(call) for m in _DROP_CONSTRAINT.finditer(text)}


class Earlier:
    """Per function of a plan, where indexes and constraints are made (and on what), and
    where SQL drops a constraint of a table."""

    def __init__(self, plan: Plan) -> None:
        self.made: dict[str, list[tuple[int, set[ColumnKey]]]] = {}
        self.drops: dict[str, list[tuple[int, set[TableKey]]]] = {}
        for fn in plan.tree.body:
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.made[fn.name] = [(c.lineno, found) for c in _calls(fn, plan.aliases)
                                      for found in [_made(c)] if found]
                self.drops[fn.name] = [(s.lineno, found) for s in fn.body
                                       for found in [_dropped(s, plan.aliases)] if found]

    def depended(self, member: Candidate) -> set[ColumnKey]:
        """The columns something depends on where ``member`` runs (see the module)."""
        found = {k for line, keys in self.made.get(member.phase, ()) if line < member.start
                 for k in keys}
        if member.phase.startswith("downgrade"):
            upgrade = "upgrade" + member.phase[len("downgrade"):]
            found |= {k for _, keys in self.made.get(upgrade, ()) for k in keys}
        return found

    def swapped(self, member: Candidate) -> set[TableKey]:
        """The tables SQL before ``member`` drops a constraint of (see the module)."""
        return {k for line, keys in self.drops.get(member.phase, ()) if line < member.start
                for k in keys}
