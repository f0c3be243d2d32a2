"""One op list from the static and the rendered layer, and one finding per rule and line.

Operations the render layer saw on the same line as a static operation enrich it (SQL
built at run time, values from imported constants); operations only the render layer saw
(issued by helpers in imported code) are added; static operations inside a
``if ... dialect ... == "x"`` branch that rendering shows was not taken are dropped. A
static operation that never runs offline (the body of a loop over the rows of a read,
``offline_dead``) is not dropped for being missing from the render: it is dropped only
when rendering ran nothing at all in the branch arm holding it.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable
from dataclasses import fields, replace

from sluice.lint.model import Finding, Op
from sluice.lint.static import sql_target_table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["copy_finding", "dedup_findings", "dialect_branch_arms", "dialect_branch_lines",
           "dialect_sensitive", "merge_ops"]


_DIALECT_LITERAL = r"""['"](postgresql|postgres|mysql|mariadb|sqlite)['"]"""
_DIALECT_SENSITIVE = (
    r"dialect|get_bind|get_context|\.engine\b|\bbind\b|connection|context\.config|"
    r"get_x_argument|environ"
)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled on first use (most files never need these)."""
    return re.compile(pattern)

#: Substrings one of which every match of _DIALECT_SENSITIVE / _DIALECT_LITERAL contains
#: (``in`` is much faster than a regex alternation over the whole file).
_SENSITIVE_HINTS = ("dialect", "get_bind", "get_context", ".engine", "bind", "connection",
                    "context.config", "get_x_argument", "environ")
_DIALECT_HINTS = ("postgres", "mysql", "mariadb", "sqlite")


def dialect_sensitive(source: str) -> bool:
    """``_DIALECT_SENSITIVE.search(source)``, skipping the regex when it cannot match."""
    return any(h in source for h in _SENSITIVE_HINTS) and bool(
        _compiled(_DIALECT_SENSITIVE).search(source))


def dialect_branch_arms(source: str, tree: ast.Module | None = None) -> list[tuple[int, int]]:
    """First and last line of each arm (body, ``else``) of the ``if`` statements whose test
    names a dialect (``tree``: ``source`` parsed)."""
    if not any(h in source for h in _DIALECT_HINTS) or not _compiled(_DIALECT_LITERAL).search(
            source):
        return []
    if tree is None:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return []
    arms: list[tuple[int, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _compiled(_DIALECT_LITERAL).search(ast.unparse(node.test)):
            for arm in (node.body, node.orelse):
                if arm:
                    arms.append((arm[0].lineno, max(s.end_lineno or s.lineno for s in arm)))
    return arms


def dialect_branch_lines(source: str, tree: ast.Module | None = None) -> set[int]:
    """Lines inside ``if`` branches whose test names a dialect (``tree``: ``source`` parsed)."""
    lines: set[int] = set()
    for first, last in dialect_branch_arms(source, tree):
        lines.update(range(first, last + 1))
    return lines


def _arm_ran(line: int | None, arms: list[tuple[int, int]], ran: set[int]) -> bool:
    """Whether rendering ran anything (``ran``: the lines it recorded) in the innermost
    dialect-branch arm holding ``line``; True when no arm is known to hold it."""
    holding = [(first, last) for first, last in arms if line is not None and first <= line <= last]
    if not holding:
        return True
    first, last = min(holding, key=lambda a: a[1] - a[0])
    return any(first <= r <= last for r in ran)


def _unresolved(value: Any) -> bool:
    return value is None or value == "?"


def _enrich(s: Op, r: Op) -> Op:
    """The static op, with what rendering knew and the source did not say."""
    out = Op.__new__(Op)  # dataclasses.replace(s, args=...) without re-running __init__
    out.__dict__.update(s.__dict__)
    out.args = dict(s.args)
    if out.sql is None and r.sql:
        out.sql = r.sql
        if out.table is None:
            out.table = sql_target_table(r.sql.split(";\n", 1)[0])
    for attr in ("table", "column", "schema", "name"):
        if getattr(out, attr) is None and getattr(r, attr) is not None:
            setattr(out, attr, getattr(r, attr))
    for key, value in r.args.items():
        if key not in out.args and value is not None:
            out.args[key] = value
    return out


def merge_ops(static_ops: list[Op], render_ops: list[Op], phases: Iterable[str],
              branch_lines: set[int], arms: list[tuple[int, int]] | None = None) -> list[Op]:
    """One op list from both layers (see the module docstring); ``arms``: the dialect
    branch arms of :func:`dialect_branch_arms` (None: each line of ``branch_lines`` is an
    arm of its own, so an ``offline_dead`` op there is kept)."""
    rendered_phases = set(phases)
    ran = {r.line for r in render_ops if r.line is not None}
    pending: dict[tuple[str, int | None, str], list[Op]] = {}
    for r in render_ops:
        pending.setdefault((r.phase, r.line, r.kind), []).append(r)
    out: list[Op] = []
    for s in static_ops:
        if s.phase not in rendered_phases:
            out.append(s)
            continue
        cands = pending.get((s.phase, s.line, s.kind))
        if cands:
            out.append(_enrich(s, cands.pop(0)))
            continue
        if s.line in branch_lines and not s.kind.startswith("script."):
            if not s.args.get("offline_dead"):
                continue  # in a dialect branch rendering did not take
            # offline its loop ran no time: missing from the render says nothing, unless
            # rendering ran nothing at all in the branch arm holding it
            if arms is not None and not _arm_ran(s.line, arms, ran):
                continue
        out.append(s)
    leftovers = [r for r in render_ops if any(r is c for c in
                                               pending.get((r.phase, r.line, r.kind), []))]
    for r in leftovers:
        if r.kind == "execute" and r.sql and r.table is None:
            r.table = sql_target_table(r.sql.split(";\n", 1)[0])
        idx = None
        for i, o in enumerate(out):
            if o.phase == r.phase and not o.kind.startswith("script.") \
                    and (o.line or 0) <= (r.line or 0):
                idx = i
        if idx is None:
            idx = next((i - 1 for i, o in enumerate(out) if o.phase == r.phase), len(out) - 1)
        out.insert(idx + 1, r)
    # tables created earlier in the same phase, in the same schema (render-only ops need
    # it computed)
    created: dict[str, set[tuple[str | None, str]]] = {"upgrade": set(), "downgrade": set()}
    for o in out:
        bucket = created.setdefault(o.phase, set())
        if o.source == "render" and o.table and (o.schema, o.table) in bucket:
            o.table_is_new = True
        if o.kind == "create_table" and o.table:
            bucket.add((o.schema, o.table))
    return out


def dedup_findings(findings: list[Finding], dialects: list[str]) -> list[Finding]:
    """One finding per rule, file, line and target, across dialects and layers."""
    groups: dict[tuple[str, str | None, int | None], list[tuple[Finding, set[str]]]] = {}
    order: list[tuple[str, str | None, int | None]] = []
    for f in findings:
        key = (f.rule, f.path, f.line)
        if key not in groups:
            groups[key] = []
            order.append(key)
        target = f.op.target if f.op is not None else None
        for i, (existing, seen) in enumerate(groups[key]):
            etarget = existing.op.target if existing.op is not None else None
            if etarget == target or _unresolved(target) or _unresolved(etarget):
                seen.update([f.dialect] if f.dialect else dialects)
                if _unresolved(etarget) and not _unresolved(target):
                    groups[key][i] = (f, seen)
                break
        else:
            groups[key].append((f, {f.dialect} if f.dialect else set(dialects)))
    out: list[Finding] = []
    for key in order:
        for f, seen in groups[key]:
            dialect = next(iter(seen)) if len(seen) == 1 and len(dialects) > 1 else None
            out.append(f if f.dialect == dialect else copy_finding(f, dialect=dialect))
    return out


def copy_finding(finding: Finding, **changes: Any) -> Finding:
    """``dataclasses.replace(finding, **changes)`` without running ``__init__`` again
    (a lint copies thousands of findings: one per dialect merge, one per path shown
    relative); the long way for anything but a plain :class:`Finding`."""
    if type(finding) is not Finding or not _PLAIN_FINDING:
        return replace(finding, **changes)
    new = object.__new__(Finding)
    values = new.__dict__
    values.update(finding.__dict__)
    for key, value in changes.items():
        if key not in values:
            raise TypeError(f"Finding has no field {key!r}")
        values[key] = value
    return new


#: ``Finding`` keeps its fields in ``__dict__``, all set by ``__init__``, and checks
#: nothing when made, so a copy of its ``__dict__`` is what ``replace`` makes.
_PLAIN_FINDING = (not hasattr(Finding, "__slots__") and not hasattr(Finding, "__post_init__")
                  and all(f.init for f in fields(Finding)))
