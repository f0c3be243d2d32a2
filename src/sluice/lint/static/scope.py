"""What names mean while the static layer walks one function body."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Scope", "fetched_rows", "forget", "shared_child"]


@dataclass
class Scope:
    """What names mean while walking one function body."""

    phase: str
    op_names: set[str]
    #: name -> (table, schema) of ``batch_alter_table`` targets.
    batches: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    #: name -> known literal value (strings, numbers, lists).
    consts: dict[str, Any] = field(default_factory=dict)
    #: name -> expression last assigned (to see through ``sql = f"..."``).
    exprs: dict[str, ast.expr] = field(default_factory=dict)
    #: names bound to a connection (``op.get_bind()``) or an ORM session on it.
    binds: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)
    #: names bound to a result of ``bind.execute(...)``.
    results: set[str] = field(default_factory=set)
    #: names bound to ``sa.table("name", ...)`` / ``sa.Table("name", ...)``.
    tables: dict[str, str] = field(default_factory=dict)
    autocommit: int = 0
    stack: tuple[str, ...] = ()
    #: functions defined inside the function being walked.
    local_funcs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    #: The code being walked may not run when its function is called: a branch, a loop
    #: body, a ``try`` (its exception may be caught), after an early exit.
    conditional: bool = False
    #: The code being walked never runs offline: the body of a loop over the rows of a
    #: read through ``op.get_bind()`` (offline a read returns no rows).
    offline_dead: bool = False

    def child(self, **changes: Any) -> Scope:
        new = Scope(
            phase=self.phase,
            op_names=set(self.op_names),
            batches=dict(self.batches),
            consts=dict(self.consts),
            exprs={},
            binds=set(),
            sessions=set(),
            results=set(),
            tables=dict(self.tables),
            autocommit=self.autocommit,
            stack=self.stack,
            local_funcs=dict(self.local_funcs),
            conditional=self.conditional,
            offline_dead=self.offline_dead,
        )
        for k, v in changes.items():
            setattr(new, k, v)
        return new


def forget(scope: Scope, name: str) -> None:
    """``name`` is bound anew: drop everything known about it."""
    scope.consts.pop(name, None)
    scope.exprs.pop(name, None)
    scope.binds.discard(name)
    scope.sessions.discard(name)
    scope.results.discard(name)
    scope.tables.pop(name, None)


def shared_child(scope: Scope, **changes: Any) -> Scope:
    """A scope sharing every binding with ``scope`` except ``changes``."""
    new = Scope(**{f: getattr(scope, f) for f in scope.__dataclass_fields__})
    for k, v in changes.items():
        setattr(new, k, v)
    return new


def fetched_rows(node: ast.expr, scope: Scope) -> bool:
    """``node`` names rows already fetched (``rows = result.fetchall()``): iterating them
    reads nothing more."""
    value = scope.exprs.get(node.id) if isinstance(node, ast.Name) else None
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            and value.func.attr in ("fetchall", "fetchmany", "all"))
