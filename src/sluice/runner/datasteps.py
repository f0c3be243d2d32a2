"""The data steps of a revision (``sluice.data``) and the environment gates around them.

Read from the revision's source (never imported): every call of
:func:`~sluice.data.batched_update`, :func:`~sluice.data.batched_delete` and
:func:`~sluice.data.backfill` that ``upgrade()`` (``downgrade()``) makes, directly or
through a function of the same file, with the table it names (a string, or a module-level
``sa.table("users", ...)`` / ``sa.Table("users", ...)``). A step inside ``with
only_in(...)``/``with skip_in(...)``, or in a function decorated with one, carries that
gate, so a plan can say which steps the target environment skips. The gates are judged by
:meth:`sluice.environments.EnvGate.matches`, the same test the revision runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sluice.config import SluiceConfig
from sluice.environments import EnvGate

__all__ = ["DataStep", "Gate", "data_steps", "gated_lines"]

STEP_FUNCTIONS = ("batched_update", "batched_delete", "backfill")
_GATES = ("only_in", "skip_in")


@dataclass(frozen=True)
class Gate:
    """``only_in(...)``/``skip_in(...)`` as written (literal arguments only)."""

    envs: tuple[str, ...]
    invert: bool
    production: bool = False

    @property
    def label(self) -> str:
        return EnvGate(self.envs, invert=self.invert, production=self.production).label

    def skips(self, env: str, config: SluiceConfig) -> bool:
        gate = EnvGate(self.envs, invert=self.invert, production=self.production)
        return not gate.active(env, config)


@dataclass
class DataStep:
    #: ``batched_update``, ``batched_delete`` or ``backfill``.
    kind: str
    #: None when the table is not a literal the source names.
    table: str | None
    schema: str | None
    line: int
    #: The ``step=`` name when given as a literal.
    step: str | None = None
    #: A ``where`` is passed: the rows touched are at most the table's rows.
    filtered: bool = False
    #: Gates around the call, outermost first.
    gates: list[Gate] = field(default_factory=list)

    def skipped_by(self, env: str, config: SluiceConfig) -> Gate | None:
        """The gate that makes ``env`` skip this step, if any."""
        return next((g for g in self.gates if g.skips(env, config)), None)


def data_steps(path: str | Path, phase: str = "upgrade") -> list[DataStep]:
    """The data steps ``phase``'s function runs, in source order; [] when the file does
    not parse or has no such function."""
    reader = _read(path)
    return reader.steps(phase) if reader is not None else []


def gated_lines(path: str | Path, phase: str = "upgrade") -> dict[int, list[Gate]]:
    """``{line: gates}`` for every call ``phase``'s function makes under ``only_in`` /
    ``skip_in`` (the line a static operation reports is its call's)."""
    reader = _read(path)
    out: dict[int, list[Gate]] = {}
    for call, gates in reader.calls(phase) if reader is not None else ():
        if gates:
            out.setdefault(call.lineno, list(gates))
    return out


def _read(path: str | Path) -> _Reader | None:
    try:
        return _Reader(ast.parse(Path(path).read_bytes(), filename=str(path)))
    except (SyntaxError, ValueError, OSError):
        return None


class _Reader:
    def __init__(self, tree: ast.Module) -> None:
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.tables: dict[str, tuple[str, str | None]] = {}
        #: local name -> what it stands for: a step function, a gate, or the data module
        self.names: dict[str, str] = {}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = node
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self._imports(node)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                table = _table_call(node.value)
                if table is not None:
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            self.tables[target.id] = table

    def _imports(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                local = alias.asname or alias.name
                if module == "sluice.data" and alias.name in STEP_FUNCTIONS:
                    self.names[local] = alias.name
                elif module in ("sluice", "sluice.environments") and alias.name in _GATES:
                    self.names[local] = alias.name
                elif module == "sluice" and alias.name == "data":
                    self.names[local] = "sluice.data"
            return
        for alias in node.names:
            if alias.name in ("sluice", "sluice.data", "sluice.environments"):
                if alias.asname:
                    self.names[alias.asname] = alias.name
                else:  # `import sluice.data` binds `sluice`
                    self.names["sluice"] = "sluice"

    def _meaning(self, func: ast.expr) -> str | None:
        """``batched_update``/``only_in``... for a call of one, else None."""
        if isinstance(func, ast.Name):
            return self.names.get(func.id)
        if isinstance(func, ast.Attribute):
            base = _dotted(func.value)
            if base is None:
                return None
            head, _, rest = base.partition(".")
            resolved = self.names.get(head)
            if resolved is None:
                return None
            full = f"{resolved}.{rest}" if rest else resolved
            if full == "sluice.data" and func.attr in STEP_FUNCTIONS:
                return func.attr
            if full in ("sluice", "sluice.environments") and func.attr in _GATES:
                return func.attr
        return None

    def steps(self, phase: str) -> list[DataStep]:
        out = []
        for call, gates in self.calls(phase):
            meaning = self._meaning(call.func)
            if meaning in STEP_FUNCTIONS:
                out.append(self._step(meaning, call, gates))
        return out

    def calls(self, phase: str) -> Iterator[tuple[ast.Call, list[Gate]]]:
        """Every call ``phase``'s function makes (through functions of the file too), with
        the gates around it."""
        fn = self.functions.get(phase)
        if fn is not None:
            yield from self._walk(fn.body, [], {phase})

    def _gate(self, node: ast.expr) -> Gate | None:
        if not isinstance(node, ast.Call):
            return None
        meaning = self._meaning(node.func)
        if meaning not in _GATES:
            return None
        envs = tuple(a.value for a in node.args
                     if isinstance(a, ast.Constant) and isinstance(a.value, str))
        production = any(k.arg == "production" and isinstance(k.value, ast.Constant)
                         and k.value.value is True for k in node.keywords)
        return Gate(envs, invert=meaning == "skip_in", production=production)

    def _walk(self, body: list[ast.stmt], gates: list[Gate], seen: set[str]
              ) -> Iterator[tuple[ast.Call, list[Gate]]]:
        for stmt in body:
            if isinstance(stmt, (ast.With, ast.AsyncWith)):
                inner = [g for g in (self._gate(i.context_expr) for i in stmt.items) if g]
                yield from self._walk(stmt.body, gates + inner, seen)
                continue
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            for node in _calls_in(stmt):
                yield node, gates
                if isinstance(node.func, ast.Name) and node.func.id in self.functions \
                        and node.func.id not in seen:
                    fn = self.functions[node.func.id]
                    own = [g for g in (self._gate(d) for d in fn.decorator_list) if g]
                    yield from self._walk(fn.body, gates + own, seen | {fn.name})
            for child in _child_bodies(stmt):
                yield from self._walk(child, gates, seen)

    def _step(self, kind: str, node: ast.Call, gates: list[Gate]) -> DataStep:
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        table_arg = node.args[0] if node.args else kw.get("table")
        table, schema = None, None
        if isinstance(table_arg, ast.Constant) and isinstance(table_arg.value, str):
            table = table_arg.value
        elif isinstance(table_arg, ast.Name) and table_arg.id in self.tables:
            table, schema = self.tables[table_arg.id]
        schema_arg = kw.get("schema")
        if isinstance(schema_arg, ast.Constant) and isinstance(schema_arg.value, str):
            schema = schema_arg.value
        where_at = {"batched_update": 2, "batched_delete": 1, "backfill": 3}[kind]
        where = kw.get("where") or (node.args[where_at] if len(node.args) > where_at else None)
        step = kw.get("step")
        return DataStep(
            kind=kind, table=table, schema=schema,
            line=node.lineno, gates=list(gates),
            step=step.value if isinstance(step, ast.Constant)
            and isinstance(step.value, str) else None,
            filtered=where is not None and not (isinstance(where, ast.Constant)
                                                and where.value is None),
        )


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _table_call(call: ast.Call) -> tuple[str, str | None] | None:
    """``sa.table("users", ..., schema="s")`` / ``Table("users", metadata, ...)``."""
    name = _dotted(call.func) or ""
    if name.rsplit(".", 1)[-1] not in ("table", "Table") or not call.args:
        return None
    first = call.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    schema = next((k.value.value for k in call.keywords if k.arg == "schema"
                   and isinstance(k.value, ast.Constant)
                   and isinstance(k.value.value, str)), None)
    return first.value, schema


def _calls_in(stmt: ast.stmt) -> Iterator[ast.Call]:
    """Calls in ``stmt`` itself, not in the bodies of nested blocks."""
    nested = {id(s) for body in _child_bodies(stmt) for s in body}
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if id(child) in nested or isinstance(child, (ast.Lambda, ast.FunctionDef,
                                                         ast.AsyncFunctionDef)):
                continue
            if isinstance(child, ast.Call):
                yield child
            stack.append(child)


def _child_bodies(stmt: ast.stmt) -> list[list[ast.stmt]]:
    out: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(stmt, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            out.append(value)
    for handler in getattr(stmt, "handlers", []) or []:
        out.append(handler.body)
    for case in getattr(stmt, "cases", []) or []:
        out.append(case.body)
    return out
