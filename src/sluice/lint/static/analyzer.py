"""The static layer's driver: :func:`analyze_source` / :func:`analyze_file` parse a
revision file and walk it once (:class:`~sluice.lint.static.walker.Walker`), giving a
:class:`StaticResult`."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from sluice.core.history import RevisionHeader, header_from_lines, header_from_tree
from sluice.core.source import decode_source
from sluice.lint.model import Op
from sluice.lint.static.facts import downgrade_fact, module_facts
from sluice.lint.static.scope import Scope
from sluice.lint.static.values import UNKNOWN, literal_value, table_construct_name
from sluice.lint.static.walker import Walker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["StaticResult", "analyze_file", "analyze_source"]


@dataclass
class StaticResult:
    """What the static layer found in one revision file."""

    path: str
    revision: str | None = None
    down_revision: str | tuple[str, ...] | None = None
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    #: Operations of both phases in source order, then the ``script.*`` facts.
    ops: list[Op] = field(default_factory=list)
    #: ``path:line: syntax error: msg`` when the file cannot be parsed (ops is then empty).
    error: str | None = None
    #: The parsed module (the render layer compiles it instead of parsing the file again);
    #: whoever is done with it may drop it.
    tree: ast.Module | None = field(default=None, repr=False, compare=False)
    #: Its place in the history (:mod:`sluice.core.history`), also when it does not parse.
    header: RevisionHeader | None = field(default=None, repr=False, compare=False)

    def phase_ops(self, phase: str) -> list[Op]:
        return [o for o in self.ops if o.phase == phase]


class _Analyzer(Walker):
    """One pass over one parsed revision file."""

    def __init__(self, tree: ast.Module, path: str, source: str | None = None) -> None:
        self.tree = tree
        self.path = path
        self.source = source
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.module_consts: dict[str, Any] = {}
        self.module_tables: dict[str, str] = {}
        self.op_aliases: set[str] = {"op"}
        self.ops: list[Op] = []
        self.created: dict[str, set[tuple[str | None, str]]] = {"upgrade": set(),
                                                                  "downgrade": set()}
        self.temporary: dict[str, set[tuple[str | None, str]]] = {"upgrade": set(),
                                                                  "downgrade": set()}
        self.column_values: set[int] = set()
        self.result = StaticResult(path=path)

    # ---------------------------------------------------------------- module level

    def run(self) -> StaticResult:
        _set_header(self.result, header_from_tree(self.tree, self.path))
        for stmt in self.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[stmt.name] = stmt
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                self._module_assign(stmt)
            elif isinstance(stmt, ast.ImportFrom) and stmt.module == "alembic":
                for alias in stmt.names:
                    if alias.name == "op":
                        self.op_aliases.add(alias.asname or "op")
        roots = [n for n in self.functions if n == "upgrade" or n.startswith("upgrade_")]
        roots += [n for n in self.functions if n == "downgrade" or n.startswith("downgrade_")]
        called_roots: set[str] | None = None
        for name in roots:
            if name not in ("upgrade", "downgrade"):
                if called_roots is None:
                    called_roots = self._called_from_roots()
                if name in called_roots:
                    continue  # walked through its caller
            phase = "upgrade" if name.startswith("upgrade") else "downgrade"
            fn = self.functions[name]
            scope = Scope(
                phase=phase,
                op_names=set(self.op_aliases) | self._op_params(fn),
                consts=dict(self.module_consts),
                tables=dict(self.module_tables),
                stack=(name,),
            )
            self._walk_body(fn.body, scope)
        self.ops.extend(module_facts(self.tree, self.source, self.column_values))
        self.ops.append(downgrade_fact(self.functions, self.ops))
        for o in self.ops:
            o.path = self.path
            o.revision = self.result.revision
            o.source = "static"
        self.result.ops = self.ops
        return self.result

    def _called_from_roots(self) -> set[str]:
        out: set[str] = set()
        for name in ("upgrade", "downgrade"):
            fn = self.functions.get(name)
            if fn is None:
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    out.add(node.func.id)
        return out

    def _module_assign(self, stmt: ast.Assign | ast.AnnAssign) -> None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        value = stmt.value
        if value is None:
            return
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            name = target.id
            literal = literal_value(value)
            if literal is not UNKNOWN:
                self.module_consts[name] = literal
            table = table_construct_name(value)
            if table:
                self.module_tables[name] = table


# --------------------------------------------------------------------------- entry points


def _set_header(result: StaticResult, header: RevisionHeader) -> StaticResult:
    result.header = header
    result.revision = header.revision
    result.down_revision = header.down_revision
    result.branch_labels = header.branch_labels
    result.depends_on = header.depends_on
    return result


def _unparsed(source: str, path: str, line: int | None, error: str) -> StaticResult:
    """A file that does not parse: no operations; its ids from single-line assignments."""
    result = StaticResult(path=path, error=f"{path}:{line if line is not None else 1}: "
                                          f"syntax error: {error}")
    return _set_header(result, header_from_lines(source, path, (line, error)))


def analyze_source(source: str, path: str) -> StaticResult:
    """Analyse the text of a revision file; never imports or runs it."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        return _unparsed(source, path, exc.lineno or 0, exc.msg)
    except ValueError as exc:  # null bytes
        return _unparsed(source, path, 1, str(exc))
    except (RecursionError, MemoryError):
        return _unparsed(source, path, 1, "nested too deeply to parse")
    try:
        result = _Analyzer(tree, path, source).run()
        result.tree = tree
        return result
    except RecursionError:
        return StaticResult(
            path=path, error=f"{path}:1: syntax error: expressions nested too deeply to analyse"
        )


def analyze_file(path: str | Path) -> StaticResult:
    """Read and analyse one revision file (see :func:`analyze_source`)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        return StaticResult(path=str(p), error=f"{p}:0: cannot read: {exc.strerror or exc}")
    source = decode_source(raw)
    if source is None:
        try:  # why: the first byte UTF-8 refuses
            raw.decode("utf-8-sig")
            reason = "not the encoding it declares"
        except UnicodeDecodeError as exc:
            reason = exc.reason
        return StaticResult(path=str(p), error=f"{p}:1: syntax error: not UTF-8 ({reason})")
    return analyze_source(source, str(p))
