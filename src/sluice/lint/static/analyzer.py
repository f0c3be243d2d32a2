"""The static layer: a revision file's operations from its ``ast``, never importing it.

:func:`analyze_file` parses a revision script and returns every Alembic operation its
``upgrade()`` and ``downgrade()`` would call, with exact source lines, as :class:`Op`
objects following the conventions in :mod:`sluice.lint.model`. It works for every
syntactically valid file, whatever the file imports: nothing in it is executed.

What it understands:

- ``op.<name>(...)`` anywhere in ``upgrade()``/``downgrade()`` (also ``upgrade_<x>()``
  entry points of multi-database templates), and in module-level helper functions they
  call; an op in a helper is attributed to the phase of each caller. ``op`` may be the
  imported module, an alias of it, or a parameter (``def upgrade(op, tables, tester)``).
- ``with op.batch_alter_table("t") as batch_op:`` (``in_batch=True``, ``table`` set) and
  ``with op.get_context().autocommit_block():`` (``in_autocommit=True``).
- Tables created earlier in the same revision and phase (``table_is_new=True``).
- Literal SQL in ``op.execute("...")``, ``op.execute(sa.text("..."))`` and on a bind
  from ``op.get_bind()``; SQL built at run time is reported as ``script.dynamic_sql``.
- Script facts: ``script.import``, ``script.create_engine``, ``script.swallow_exception``,
  ``script.get_bind_read`` and one ``script.downgrade`` per revision.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sluice.core.history import RevisionHeader, header_from_lines, header_from_tree
from sluice.lint.model import Op

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


# --------------------------------------------------------------------------- constants

#: Methods of ``op`` that are not operations.
_NOT_OPS = {
    "get_bind", "get_context", "batch_alter_table", "f", "inline_literal",
    "implementation_for", "register_operation", "invoke", "run_async", "migration_context",
    "impl", "schema_obj",
}

#: Positional parameter names of Alembic operations (top level, then inside a batch).
_SIGNATURES: dict[str, tuple[str, ...]] = {
    "add_column": ("table_name", "column"),
    "alter_column": ("table_name", "column_name"),
    "bulk_insert": ("table", "rows", "multiinsert"),
    "create_check_constraint": ("constraint_name", "table_name", "condition"),
    "create_exclude_constraint": ("constraint_name", "table_name"),
    "create_foreign_key": (
        "constraint_name", "source_table", "referent_table", "local_cols", "remote_cols",
    ),
    "create_index": ("index_name", "table_name", "columns"),
    "create_primary_key": ("constraint_name", "table_name", "columns"),
    "create_table": ("table_name",),
    "create_table_comment": ("table_name", "comment"),
    "create_unique_constraint": ("constraint_name", "table_name", "columns"),
    "drop_column": ("table_name", "column_name"),
    "drop_constraint": ("constraint_name", "table_name", "type_"),
    "drop_index": ("index_name", "table_name"),
    "drop_table": ("table_name",),
    "drop_table_comment": ("table_name",),
    "execute": ("sqltext",),
    "rename_table": ("old_table_name", "new_table_name"),
}
_BATCH_SIGNATURES: dict[str, tuple[str, ...]] = {
    "add_column": ("column",),
    "alter_column": ("column_name",),
    "create_check_constraint": ("constraint_name", "condition"),
    "create_exclude_constraint": ("constraint_name",),
    "create_foreign_key": ("constraint_name", "referent_table", "local_cols", "remote_cols"),
    "create_index": ("index_name", "columns"),
    "create_primary_key": ("constraint_name", "columns"),
    "create_table_comment": ("comment",),
    "create_unique_constraint": ("constraint_name", "columns"),
    "drop_column": ("column_name",),
    "drop_constraint": ("constraint_name", "type_"),
    "drop_index": ("index_name",),
    "drop_table_comment": (),
    "execute": ("sqltext",),
}
_TABLE_KEYS = ("table_name", "source_table", "old_table_name", "table")
_NAME_KEYS = ("constraint_name", "index_name")
_TYPE_KEYS = {"type_", "existing_type"}
_DEFAULT_KEYS = {"server_default", "existing_server_default"}

_READ_METHODS = {
    "fetchall", "fetchone", "fetchmany", "first", "one", "one_or_none", "scalar",
    "scalar_one", "scalar_one_or_none", "scalars", "all", "mappings", "keys", "partitions",
    "columns", "tuples", "unique",
}
_READ_ATTRS = {"rowcount", "inserted_primary_key", "lastrowid", "returns_rows"}
_SESSION_READS = {"query", "get", "scalar", "scalars", "execute", "merge", "refresh"}
_ENGINE_FACTORIES = {"create_engine", "create_async_engine", "engine_from_config",
                     "async_engine_from_config", "create_mock_engine"}
_TRUSTED_TOP = {"alembic", "sqlalchemy", "__future__"}
_STDLIB: frozenset[str] = frozenset(getattr(sys, "stdlib_module_names", ())) | {
    "typing_extensions",
}

_CREATE_TABLE_SQL = re.compile(
    r"\bCREATE\s+(?:(?:GLOBAL\s+|LOCAL\s+)?(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+"
    r"(?:IF\s+NOT\s+EXISTS\s+)?((?:[\"`\w]+\.)?[\"`\w]+)",
    re.I,
)
_TARGET_TABLE_SQL = re.compile(
    r"^\s*(?:ALTER\s+TABLE(?:\s+ONLY)?(?:\s+IF\s+EXISTS)?|UPDATE|DELETE\s+FROM|INSERT\s+INTO|"
    r"TRUNCATE(?:\s+TABLE)?|CREATE\s+(?:UNIQUE\s+)?INDEX(?:\s+CONCURRENTLY)?"
    r"(?:\s+IF\s+NOT\s+EXISTS)?(?:\s+[\"`\w]+)?\s+ON(?:\s+ONLY)?)\s+((?:[\"`\w]+\.)?[\"`\w]+)",
    re.I,
)


def _bare(name: str) -> str:
    return name.split(".")[-1].strip('"`')


def sql_target_table(sql: str) -> str | None:
    """The table a single DDL/DML statement works on (best effort, no schema)."""
    m = _TARGET_TABLE_SQL.match(sql)
    return _bare(m.group(1)) if m else None


# --------------------------------------------------------------------------- values


class _StripModules(ast.NodeTransformer):
    """``sa.String(length=50)`` -> ``String(length=50)``: drop module prefixes."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        root: ast.expr = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name):
            return ast.copy_location(ast.Name(id=node.attr, ctx=ast.Load()), node)
        return self.generic_visit(node)


def _stripping_unparser() -> Any:
    """An ``ast.unparse`` that writes ``a.b.C`` as ``C`` (what :class:`_StripModules` then
    ``ast.unparse`` produce) without copying the tree; None where Python lacks one."""
    base: Any = getattr(ast, "_Unparser", None)
    if base is None:
        try:
            from _ast_unparse import Unparser as base  # type: ignore[import-not-found,no-redef]
        except ImportError:
            return None

    class _Stripping(base):  # type: ignore[misc,valid-type]
        def visit_Attribute(self, node: ast.Attribute) -> None:
            root: ast.expr = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name):
                self.write(node.attr)
            else:
                super().visit_Attribute(node)

    try:
        if _Stripping().visit(ast.parse("a.b(c.d, e().f)", mode="eval").body) != "b(d, e().f)":
            return None
    except Exception:
        return None
    return _Stripping


_UNPARSER = _stripping_unparser()
_PLAIN_STR = re.compile(r"[\w .,:;()\[\]{}<>=+*/%#@!?&|^~$-]*\Z", re.A)


def _bare_name(node: ast.expr) -> str | None:
    """``C`` for ``C`` and ``a.b.C``; None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        root = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name):
            return node.attr
    return None


def _plain_constant(node: ast.expr) -> str | None:
    """Source text of an int, bool, None or plain string constant (its ``repr``)."""
    if not isinstance(node, ast.Constant) or node.kind is not None:
        return None
    value = node.value
    if value is None or isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, str) and _PLAIN_STR.match(value):
        return repr(value)
    return None


def type_text(node: ast.expr) -> str:
    """SQLAlchemy type text without module prefix; a bare class gets ``()``."""
    name = _bare_name(node)
    if name is not None:
        return name + "()"
    if isinstance(node, ast.Call):
        # the usual ``sa.String(50)`` / ``sa.Numeric(10, scale=2)``: no need to unparse
        func = _bare_name(node.func)
        if func is not None:
            parts: list[str] = []
            for arg in node.args:
                text = _plain_constant(arg)
                if text is None:
                    break
                parts.append(text)
            else:
                for kw in node.keywords:
                    text = _plain_constant(kw.value) if kw.arg is not None else None
                    if text is None:
                        break
                    parts.append(f"{kw.arg}={text}")
                else:
                    return f"{func}({', '.join(parts)})"
    if _UNPARSER is not None:
        return str(_UNPARSER().visit(node))
    import copy

    stripped = _StripModules().visit(copy.deepcopy(node))
    text = ast.unparse(stripped)
    if isinstance(stripped, ast.Name):
        text += "()"
    return text


def _func_name(node: ast.expr) -> str | None:
    """Last name of a callee: ``sa.text`` -> ``text``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


# --------------------------------------------------------------------------- analysis


@dataclass
class _Scope:
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

    def child(self, **changes: Any) -> _Scope:
        new = _Scope(
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
        )
        for k, v in changes.items():
            setattr(new, k, v)
        return new


class _Analyzer:
    def __init__(self, tree: ast.Module, path: str, source: str | None = None) -> None:
        self.tree = tree
        self.path = path
        self.source = source
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.module_consts: dict[str, Any] = {}
        self.module_tables: dict[str, str] = {}
        self.op_aliases: set[str] = {"op"}
        self.ops: list[Op] = []
        self.created: dict[str, set[str]] = {"upgrade": set(), "downgrade": set()}
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
            scope = _Scope(
                phase=phase,
                op_names=set(self.op_aliases) | self._op_params(fn),
                consts=dict(self.module_consts),
                tables=dict(self.module_tables),
                stack=(name,),
            )
            self._walk_body(fn.body, scope)
        self._module_facts()
        self._downgrade_fact()
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

    @staticmethod
    def _op_params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
        names = {a.arg for a in fn.args.args + fn.args.kwonlyargs + fn.args.posonlyargs}
        return {n for n in names if n == "op" or n.endswith("_op") and n != "batch_op"}

    def _module_assign(self, stmt: ast.Assign | ast.AnnAssign) -> None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        value = stmt.value
        if value is None:
            return
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            name = target.id
            literal = _literal(value)
            if literal is not _UNKNOWN:
                self.module_consts[name] = literal
            table = _table_construct_name(value)
            if table:
                self.module_tables[name] = table

    # ---------------------------------------------------------------- walking

    def _walk_body(self, body: list[ast.stmt], scope: _Scope) -> None:
        for stmt in body:
            self._walk_stmt(stmt, scope)

    def _walk_stmt(self, stmt: ast.stmt, scope: _Scope) -> None:
        if type(stmt) is ast.Expr:
            self._visit_expr(stmt.value, scope)
            return
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            scope.local_funcs[stmt.name] = stmt  # walked where it is called
            return
        if isinstance(stmt, ast.ClassDef):
            return
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            self._walk_with(stmt, scope)
            return
        if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            self._walk_try(stmt, scope)
            return
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            value = stmt.value
            if value is not None:
                self._visit_expr(value, scope)
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    self._bind_name(target, value, scope)
            return
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            self._visit_expr(stmt.iter, scope)
            if self._is_result_expr(stmt.iter, scope):
                self._fact("script.get_bind_read", stmt.iter, scope, how="iterate")
            values = _literal(stmt.iter, scope.consts)
            if isinstance(stmt.target, ast.Name) and isinstance(values, (list, tuple)) \
                    and 0 < len(values) <= 50:
                # for table in ("a", "b"): op.drop_table(table) -> one op per table
                for value in values:
                    _forget(scope, stmt.target.id)
                    scope.consts[stmt.target.id] = value
                    self._walk_body(stmt.body, scope)
                _forget(scope, stmt.target.id)
            else:
                for sub in ast.walk(stmt.target):
                    if isinstance(sub, ast.Name):
                        _forget(scope, sub.id)
                self._walk_body(stmt.body, scope)
            self._walk_body(stmt.orelse, scope)
            return
        if isinstance(stmt, (ast.If, ast.While)):
            self._visit_expr(stmt.test, scope)
            self._walk_body(stmt.body, scope)
            self._walk_body(stmt.orelse, scope)
            return
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.expr):
                self._visit_expr(child, scope)
            elif isinstance(child, ast.stmt):
                self._walk_stmt(child, scope)
            elif isinstance(child, ast.AST):  # match cases, etc.
                for sub in ast.iter_child_nodes(child):
                    if isinstance(sub, ast.stmt):
                        self._walk_stmt(sub, scope)
                    elif isinstance(sub, ast.expr):
                        self._visit_expr(sub, scope)

    def _walk_with(self, stmt: ast.With | ast.AsyncWith, scope: _Scope) -> None:
        inner = scope
        for item in stmt.items:
            expr = item.context_expr
            var = item.optional_vars
            if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
                attr = expr.func.attr
                owner = expr.func.value
                if attr == "batch_alter_table" and self._is_op(owner, inner):
                    table = self._resolve_str(_arg(expr, 0, "table_name"), inner)
                    schema = self._resolve_str(_arg(expr, -1, "schema"), inner)
                    if isinstance(var, ast.Name):
                        batches = {**inner.batches, var.id: (table, schema)}
                        inner = _shared_child(inner, batches=batches)
                    continue
                if attr == "autocommit_block":
                    inner = _shared_child(inner, autocommit=inner.autocommit + 1)
                    continue
            if isinstance(expr, ast.Call) and _func_name(expr.func) == "suppress":
                caught = [_func_name(a) for a in expr.args]
                if any(c in ("Exception", "BaseException") for c in caught):
                    self._fact("script.swallow_exception", expr, inner, catches="suppress")
            self._visit_expr(expr, inner)
            if var is not None:
                self._bind_name(var, expr, inner)
        self._walk_body(stmt.body, inner)

    def _walk_try(self, stmt: Any, scope: _Scope) -> None:
        self._walk_body(stmt.body, scope)
        for handler in stmt.handlers:
            catches = _catches_everything(handler.type)
            if catches and not _reraises(handler.body):
                self._fact("script.swallow_exception", handler, scope, catches=catches)
            self._walk_body(handler.body, scope)
        self._walk_body(stmt.orelse, scope)
        self._walk_body(stmt.finalbody, scope)

    def _bind_name(self, target: ast.expr, value: ast.expr, scope: _Scope) -> None:
        if not isinstance(target, ast.Name):
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    _forget(scope, sub.id)
            return
        name = target.id
        _forget(scope, name)
        scope.exprs[name] = value
        literal = _literal(value, scope.consts)
        if literal is not _UNKNOWN:
            scope.consts[name] = literal
        if self._is_bind_expr(value, scope):
            scope.binds.add(name)
        elif self._is_result_expr(value, scope):
            scope.results.add(name)
        elif isinstance(value, ast.Call) and _func_name(value.func) in ("Session", "sessionmaker"):
            scope.sessions.add(name)
        elif isinstance(value, ast.Name) and value.id in scope.op_names:
            scope.op_names.add(name)
        table = _table_construct_name(value)
        if table:
            scope.tables[name] = table

    # ---------------------------------------------------------------- expressions

    def _visit_expr(self, node: ast.expr, scope: _Scope) -> None:
        """Find operations in ``node``, outer calls before inner ones."""
        if isinstance(node, ast.Call):
            self._visit_call(node, scope)
            # the children in ast.iter_child_nodes() order: func, args, keywords
            self._visit_expr(node.func, scope)
            for arg in node.args:
                if type(arg) not in _LEAVES:
                    self._visit_expr(arg, scope)
            for kw in node.keywords:
                if type(kw.value) not in _LEAVES:
                    self._visit_expr(kw.value, scope)
            return
        if isinstance(node, ast.Attribute):
            value = node.value
            if node.attr in _READ_ATTRS and self._is_result_expr(value, scope):
                self._fact("script.get_bind_read", node, scope, how=node.attr)
            if type(value) not in _LEAVES:
                self._visit_expr(value, scope)
            return
        if type(node) in _LEAVES or isinstance(node, ast.Lambda):
            return  # nothing inside (a lambda runs elsewhere)
        # the children in ast.iter_child_nodes() order, without its generators
        for name in node._fields:
            field_value = getattr(node, name, None)
            if isinstance(field_value, ast.expr):  # one frame per level, as deep as before
                self._visit_expr(field_value, scope)
            elif isinstance(field_value, list):
                for child in field_value:
                    if isinstance(child, ast.expr):
                        self._visit_expr(child, scope)
                    else:
                        self._visit_child(child, scope)
            elif isinstance(field_value, ast.AST):
                self._visit_child(field_value, scope)

    def _visit_child(self, child: Any, scope: _Scope) -> None:
        if isinstance(child, ast.comprehension):
            self._visit_expr(child.iter, scope)
            if self._is_result_expr(child.iter, scope):
                self._fact("script.get_bind_read", child.iter, scope, how="iterate")
            for cond in child.ifs:
                self._visit_expr(cond, scope)
        elif isinstance(child, ast.keyword):
            self._visit_expr(child.value, scope)

    def _visit_call(self, call: ast.Call, scope: _Scope) -> None:
        func = call.func
        if isinstance(func, ast.Attribute):
            owner, attr = func.value, func.attr
            if self._is_op(owner, scope):
                if attr not in _NOT_OPS:
                    self._emit_op(attr, call, scope, batch=None)
                return
            if isinstance(owner, ast.Name) and owner.id in scope.batches:
                if attr not in _NOT_OPS:
                    self._emit_op(attr, call, scope, batch=scope.batches[owner.id])
                return
            if attr == "execute" and self._is_bind_expr(owner, scope):
                self._emit_op("execute", call, scope, batch=None, via="bind")
                return
            if attr in _READ_METHODS and self._is_result_expr(owner, scope):
                self._fact("script.get_bind_read", call, scope, how=attr)
                return
            if self._is_session_read(call, scope):
                self._fact("script.get_bind_read", call, scope, how=f"session.{attr}")
                return
        name = _func_name(func)
        if name in _ENGINE_FACTORIES:
            return  # reported by the module-wide pass
        if name == "inspect" and call.args and self._is_bind_expr(call.args[0], scope):
            self._fact("script.get_bind_read", call, scope, how="inspect")
            return
        if name == "reflect" and any(self._is_bind_expr(a, scope) for a in call.args) or any(
            kw.arg in ("bind", "autoload_with") and self._is_bind_expr(kw.value, scope)
            and name in ("reflect", "Table")
            for kw in call.keywords
        ):
            self._fact("script.get_bind_read", call, scope, how="reflect")
            return
        if isinstance(func, ast.Name) and func.id in scope.local_funcs:
            self._enter_helper(scope.local_funcs[func.id], call, scope, closure=True)
        elif isinstance(func, ast.Name) and func.id in self.functions:
            self._enter_helper(self.functions[func.id], call, scope, closure=False)

    def _enter_helper(
        self,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        call: ast.Call,
        scope: _Scope,
        *,
        closure: bool,
    ) -> None:
        name = fn.name
        if name in scope.stack or name in ("upgrade", "downgrade") or len(scope.stack) > 20:
            return
        inner = scope.child(stack=scope.stack + (name,))
        if closure:
            inner.exprs = dict(scope.exprs)
            inner.binds = set(scope.binds)
            inner.sessions = set(scope.sessions)
            inner.results = set(scope.results)
            inner.op_names |= self._op_params(fn)
        else:
            inner.consts = dict(self.module_consts)
            inner.tables = dict(self.module_tables)
            inner.batches = {}
            inner.local_funcs = {}
            inner.op_names = set(self.op_aliases) | self._op_params(fn)
        for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs:
            if a.arg not in inner.op_names:
                _forget(inner, a.arg)
                inner.batches.pop(a.arg, None)
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        bound: list[tuple[str, ast.expr]] = list(zip(params, call.args, strict=False))
        bound += [(kw.arg, kw.value) for kw in call.keywords if kw.arg]
        for pname, value in bound:
            _forget(inner, pname)
            inner.op_names.discard(pname)
            if self._is_op(value, scope):
                inner.op_names.add(pname)
            elif isinstance(value, ast.Name) and value.id in scope.batches:
                inner.batches[pname] = scope.batches[value.id]
            elif self._is_bind_expr(value, scope):
                inner.binds.add(pname)
            else:
                literal = _literal(value, scope.consts)
                if literal is not _UNKNOWN:
                    inner.consts[pname] = literal
                table = _table_construct_name(value) or (
                    scope.tables.get(value.id) if isinstance(value, ast.Name) else None
                )
                if table:
                    inner.tables[pname] = table
        self._walk_body(fn.body, inner)

    # ---------------------------------------------------------------- predicates

    def _is_op(self, node: ast.expr, scope: _Scope) -> bool:
        if isinstance(node, ast.Name):
            return node.id in scope.op_names
        # ``alembic.op.add_column``
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "op"
            and isinstance(node.value, ast.Name)
            and node.value.id == "alembic"
        )

    def _is_bind_expr(self, node: ast.expr, scope: _Scope) -> bool:
        if isinstance(node, ast.Name):
            return node.id in scope.binds
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "get_bind":
                return True  # op.get_bind(), context.get_bind()
            if node.func.attr in ("connect", "begin") and self._is_bind_expr(
                node.func.value, scope
            ):
                return True
        if isinstance(node, ast.Attribute) and node.attr in ("bind", "connection"):
            value = node.value
            return isinstance(value, ast.Call) and _func_name(value.func) == "get_context"
        return False

    def _is_result_expr(self, node: ast.expr, scope: _Scope) -> bool:
        if isinstance(node, ast.Name):
            return node.id in scope.results
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("execute", "exec_driver_sql"):
                owner = node.func.value
                return self._is_bind_expr(owner, scope) or (
                    isinstance(owner, ast.Name) and owner.id in scope.sessions
                )
            if node.func.attr in ("scalars", "mappings", "partitions", "tuples", "unique"):
                return self._is_result_expr(node.func.value, scope)
        return False

    def _is_session_read(self, call: ast.Call, scope: _Scope) -> bool:
        func = call.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr in _SESSION_READS
            and func.attr != "execute"
            and isinstance(func.value, ast.Name)
            and func.value.id in scope.sessions
        )

    # ---------------------------------------------------------------- emitting

    def _fact(self, kind: str, node: ast.AST, scope: _Scope, **args: Any) -> None:
        line = getattr(node, "lineno", None)
        for existing in self.ops:
            if existing.kind == kind and existing.line == line and existing.phase == scope.phase:
                return
        self.ops.append(Op(kind, args=dict(args), line=line, phase=scope.phase))  # type: ignore[arg-type]

    def _emit_op(
        self,
        kind: str,
        call: ast.Call,
        scope: _Scope,
        *,
        batch: tuple[str | None, str | None] | None,
        via: str | None = None,
    ) -> None:
        sig = (_BATCH_SIGNATURES if batch is not None else _SIGNATURES).get(kind, ())
        params: dict[str, ast.expr] = {}
        extra: list[ast.expr] = []
        for i, node in enumerate(call.args):
            if isinstance(node, ast.Starred):
                continue
            if i < len(sig):
                params[sig[i]] = node
            else:
                extra.append(node)
        kwnodes = {kw.arg: kw.value for kw in call.keywords if kw.arg}
        params.update(kwnodes)

        op = Op(kind, line=call.lineno, phase=scope.phase)  # type: ignore[arg-type]
        op.in_autocommit = scope.autocommit > 0
        if batch is not None:
            op.in_batch = True
            op.table, op.schema = batch
        args: dict[str, Any] = {}
        for key, node in params.items():
            if key in _TABLE_KEYS and key != "table":
                if op.table is None:
                    op.table = self._resolve_str(node, scope)
                continue
            if key == "table" and kind == "bulk_insert":
                op.table = self._table_of(node, scope)
                continue
            if key in _NAME_KEYS:
                op.name = self._resolve_str(node, scope)
                if isinstance(node, ast.Constant) and node.value is None:
                    args["unnamed"] = True
                continue
            if key == "column_name":
                op.column = self._resolve_str(node, scope)
                continue
            if key == "schema":
                op.schema = self._resolve_str(node, scope) or op.schema
                continue
            if key == "column" and kind == "add_column":
                self._column_args(node, scope, op, args)
                continue
            if key == "sqltext":
                self._sql_arg(node, scope, op, args)
                continue
            if key == "rows":
                literal = _literal(node, scope.consts)
                args["rows"] = len(literal) if isinstance(literal, (list, tuple)) else None
                continue
            value = self._arg_value(key, node, scope)
            if value is not _UNKNOWN:
                args[key] = value
        if kind == "create_table":
            self._table_columns(extra, scope, args)
        elif extra:
            values = [self._resolve_any(n, scope) for n in extra]
            args["_args"] = [v for v in values if v is not _UNKNOWN]
        if via:
            args["via"] = via
        op.args = args

        created = self.created[scope.phase]
        if kind == "execute" and op.sql:
            target = sql_target_table(op.sql)
            if target and op.table is None:
                op.table = target
            if target and target in created:
                op.table_is_new = True
            for m in _CREATE_TABLE_SQL.finditer(op.sql):
                created.add(_bare(m.group(1)))
        elif op.table and op.table in created:
            op.table_is_new = True
        if kind == "create_table" and op.table:
            created.add(op.table)
        if kind == "rename_table" and op.table in created and isinstance(
            args.get("new_table_name"), str
        ):
            created.add(args["new_table_name"])
        self.ops.append(op)

    def _arg_value(self, key: str, node: ast.expr, scope: _Scope) -> Any:
        if key in _TYPE_KEYS:
            if isinstance(node, ast.Constant) and node.value is None:
                return None
            return type_text(node)
        if key in _DEFAULT_KEYS:
            return self._default_text(node, scope)
        if key in ("columns", "local_cols", "remote_cols"):
            value = self._resolve_any(node, scope)
            if value is _UNKNOWN and isinstance(node, (ast.List, ast.Tuple)):
                return [self._expr_text(e, scope) for e in node.elts]
            return value
        if key == "condition":
            text = self._sql_text(node, scope)
            return text if text is not None else ast.unparse(node)
        return self._resolve_any(node, scope)

    def _resolve_any(self, node: ast.expr, scope: _Scope) -> Any:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
            node.func.attr == "f" and node.args and (
                self._is_op(node.func.value, scope)
                or (isinstance(node.func.value, ast.Name) and node.func.value.id in scope.batches)
            )
        ):
            return self._resolve_any(node.args[0], scope)
        if isinstance(node, ast.Call) and _func_name(node.func) in ("text", "literal_column"):
            text = self._sql_text(node, scope)
            return text if text is not None else _UNKNOWN
        return _literal(node, scope.consts)

    def _resolve_str(self, node: ast.expr | None, scope: _Scope) -> str | None:
        if node is None:
            return None
        value = self._resolve_any(node, scope)
        if isinstance(value, str):
            return value
        if isinstance(node, ast.Name) and node.id in scope.tables:
            return scope.tables[node.id]
        return None

    def _expr_text(self, node: ast.expr, scope: _Scope) -> str:
        value = self._resolve_any(node, scope)
        if isinstance(value, str):
            return value
        return self._sql_text(node, scope) or ast.unparse(node)

    def _table_of(self, node: ast.expr, scope: _Scope) -> str | None:
        if isinstance(node, ast.Name):
            return scope.tables.get(node.id)
        return _table_construct_name(node)

    def _default_text(self, node: ast.expr, scope: _Scope) -> Any:
        if isinstance(node, ast.Constant):
            if node.value is None or node.value is False:
                return None if node.value is None else False
            return str(node.value)
        value = _literal(node, scope.consts)
        if isinstance(value, str):
            return value
        text = self._sql_text(node, scope)
        if text is not None:
            return text
        if isinstance(node, ast.Call):
            name = _func_name(node.func)
            if name in ("true", "false", "null"):
                return name
            # sa.func.now() -> now()
            if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Attribute) \
                    and node.func.value.attr == "func":
                inner = ", ".join(self._expr_text(a, scope) for a in node.args)
                return f"{node.func.attr}({inner})"
        return ast.unparse(node)

    def _sql_text(self, node: ast.expr, scope: _Scope) -> str | None:
        """Literal SQL of ``"..."``, ``text("...")``, ``text(...).bindparams(...)``."""
        if isinstance(node, ast.Call):
            name = _func_name(node.func)
            if name in ("text", "literal_column", "DDL") and node.args:
                return self._sql_text(node.args[0], scope)
            if isinstance(node.func, ast.Attribute) and node.func.attr in (
                "bindparams", "columns", "execution_options"
            ):
                return self._sql_text(node.func.value, scope)
            return None
        value = _literal(node, scope.consts)
        return value if isinstance(value, str) else None

    def _sql_arg(self, node: ast.expr, scope: _Scope, op: Op, args: dict[str, Any]) -> None:
        target = node
        if isinstance(target, ast.Name) and target.id in scope.exprs and target.id not in (
            scope.consts
        ):
            target = scope.exprs[target.id]
        sql = self._sql_text(target, scope)
        if sql is not None:
            op.sql = sql
            return
        inner = target
        while isinstance(inner, ast.Call):
            name = _func_name(inner.func)
            if name in ("text", "DDL") and inner.args:
                inner = inner.args[0]
            elif isinstance(inner.func, ast.Attribute) and inner.func.attr in (
                "bindparams", "columns", "execution_options"
            ):
                inner = inner.func.value
            else:
                break
        if isinstance(inner, ast.Name) and inner.id in scope.exprs:
            inner = scope.exprs[inner.id]
        how = _dynamic_how(inner)
        if how is not None:
            self._fact("script.dynamic_sql", node, scope, how=how)
            args["dynamic"] = how
            return
        construct = _core_construct(inner, scope)
        if construct is not None:
            args.update(construct)

    def _column_args(self, node: ast.expr, scope: _Scope, op: Op, args: dict[str, Any]) -> None:
        if isinstance(node, ast.Name) and node.id in scope.exprs:
            node = scope.exprs[node.id]
        col = self._column(node, scope)
        if col is None:
            return
        name, info = col
        op.column = name
        args.update(info)

    def _column(self, node: ast.expr, scope: _Scope) -> tuple[str | None, dict[str, Any]] | None:
        if not (isinstance(node, ast.Call) and _func_name(node.func) == "Column"):
            return None
        pos = list(node.args)
        name: str | None = None
        if pos and isinstance(_literal(pos[0], scope.consts), str):
            name = _literal(pos[0], scope.consts)
            pos = pos[1:]
        kws = {kw.arg: kw.value for kw in node.keywords if kw.arg}
        info: dict[str, Any] = {}
        type_node = kws.get("type_")
        rest = pos
        if type_node is None and pos and not (
            isinstance(pos[0], ast.Call) and _func_name(pos[0].func) in (
                "ForeignKey", "Sequence", "Identity", "Computed", "CheckConstraint"
            )
        ):
            type_node, rest = pos[0], pos[1:]
        info["type_"] = type_text(type_node) if type_node is not None else None
        primary = _literal(kws["primary_key"]) if "primary_key" in kws else False
        if "nullable" in kws:
            nullable = _literal(kws["nullable"], scope.consts)
            info["nullable"] = None if nullable is _UNKNOWN else nullable
        else:
            info["nullable"] = primary is not True
        info["server_default"] = (
            self._default_text(kws["server_default"], scope) if "server_default" in kws else None
        )
        for key in ("primary_key", "unique", "index", "autoincrement", "comment"):
            if key in kws:
                value = _literal(kws[key], scope.consts)
                if value is not _UNKNOWN:
                    info[key] = value
        if "default" in kws:
            info["default"] = ast.unparse(kws["default"])
        for extra in rest:
            if isinstance(extra, ast.Call):
                fname = _func_name(extra.func)
                if fname == "ForeignKey" and extra.args:
                    info["foreign_key"] = self._resolve_str(extra.args[0], scope)
                elif fname in ("Identity", "Computed"):
                    info[fname.lower()] = ast.unparse(extra)
        return name, info

    def _table_columns(self, extra: list[ast.expr], scope: _Scope, args: dict[str, Any]) -> None:
        columns: dict[str, Any] = {}
        details: dict[str, dict[str, Any]] = {}
        for node in extra:
            col = self._column(node, scope)
            if col is not None and col[0]:
                columns[col[0]] = col[1].get("type_")
                details[col[0]] = col[1]
        args["columns"] = columns
        args["column_details"] = details

    # ---------------------------------------------------------------- facts

    def _module_facts(self) -> None:
        """Imports and engine creation anywhere in the file (phase by enclosing function)."""
        nodes: Iterable[tuple[ast.AST, str]]
        source = self.source
        if source is not None and source.isascii() and (
                "engine" not in source or not _ENGINE_NAMES.search(source)):
            # no engine factory is named anywhere: only statements can hold what is sought
            nodes = _imports_with_phase(self.tree)
        else:
            nodes = _walk_with_phase(self.tree)
        for node, phase in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self._import_fact(alias.name, node, phase, names=[])
            elif isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                self._import_fact(module, node, phase, names=[a.name for a in node.names])
            elif isinstance(node, ast.Call) and _func_name(node.func) in _ENGINE_FACTORIES:
                self.ops.append(Op("script.create_engine", args={"call": _func_name(node.func)},
                                   line=node.lineno, phase=phase))  # type: ignore[arg-type]

    def _import_fact(self, module: str, node: ast.stmt, phase: str, names: list[str]) -> None:
        top = module.split(".")[0]
        if module.startswith(".") or (top not in _STDLIB and top not in _TRUSTED_TOP):
            self.ops.append(Op("script.import", name=module, args={"names": names},
                               line=node.lineno, phase=phase))  # type: ignore[arg-type]

    def _downgrade_fact(self) -> None:
        fn = self.functions.get("downgrade")
        ups = [o for o in self.ops if o.phase == "upgrade" and not o.kind.startswith("script.")]
        # what upgrade() does, for telling a data-only upgrade from a schema change:
        # (kind, literal SQL, Core construct) per operation
        args: dict[str, Any] = {
            "upgrade_ops": len(ups),
            "upgrade_detail": [(o.kind, o.sql, o.args.get("construct")) for o in ups],
        }
        if fn is None:
            up = self.functions.get("upgrade")
            line = up.lineno if up is not None else 1
            self.ops.append(Op("script.downgrade", args={"kind": "missing", **args}, line=line,
                               phase="downgrade"))
            return
        has_ops = any(o.phase == "downgrade" and not o.kind.startswith("script.")
                      for o in self.ops)
        body = [s for s in fn.body if not _is_docstring(s)]
        if has_ops:
            kind = "ops"
        elif any(isinstance(s, ast.Raise) for s in body):
            kind = "raises"
        elif all(_is_noop(s) for s in body):
            kind = "pass"
        else:
            kind = "empty"
        self.ops.append(Op("script.downgrade", args={"kind": kind, **args}, line=fn.lineno,
                           phase="downgrade"))


# --------------------------------------------------------------------------- helpers


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown>"


_UNKNOWN: Any = _Unknown()


def _literal(node: ast.expr, consts: dict[str, Any] | None = None) -> Any:
    """The Python value of a literal expression (folding string concatenation), or _UNKNOWN."""
    consts = consts or {}
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return consts.get(node.id, _UNKNOWN)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        values = [_literal(e, consts) for e in node.elts]
        if any(v is _UNKNOWN for v in values):
            return _UNKNOWN
        return tuple(values) if isinstance(node, ast.Tuple) else list(values)
    if isinstance(node, ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values, strict=True):
            if k is None:
                return _UNKNOWN
            kv, vv = _literal(k, consts), _literal(v, consts)
            if kv is _UNKNOWN or vv is _UNKNOWN:
                return _UNKNOWN
            out[kv] = vv
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _literal(node.operand, consts)
        return -value if isinstance(value, (int, float)) else _UNKNOWN
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left, consts), _literal(node.right, consts)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        return _UNKNOWN
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and value.format_spec is None \
                    and value.conversion == -1:
                inner = _literal(value.value, consts)
                if not isinstance(inner, (str, int)) or isinstance(inner, bool):
                    return _UNKNOWN
                parts.append(str(inner))
            else:
                return _UNKNOWN
        return "".join(parts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        # "...".format(CONST) and textwrap.dedent("...") with known parts
        if node.func.attr == "dedent" and len(node.args) == 1:
            import textwrap

            inner = _literal(node.args[0], consts)
            return textwrap.dedent(inner) if isinstance(inner, str) else _UNKNOWN
        if node.func.attr in ("strip", "lstrip", "rstrip") and not node.args:
            inner = _literal(node.func.value, consts)
            return getattr(inner, node.func.attr)() if isinstance(inner, str) else _UNKNOWN
    return _UNKNOWN


def _dynamic_how(node: ast.expr) -> str | None:
    """How a non-literal SQL string is built: fstring, percent, format or concat."""
    if isinstance(node, ast.JoinedStr):
        return "fstring"
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Mod) and _stringish(node.left):
            return "percent"
        if isinstance(node.op, ast.Add) and (_stringish(node.left) or _stringish(node.right)):
            return "concat"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "format" and _stringish(node.func.value):
            return "format"
        if node.func.attr == "join" and _stringish(node.func.value):
            return "concat"
    return None


def _stringish(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _stringish(node.left) or _stringish(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("format", "join") and _stringish(node.func.value)
    return False


def _core_construct(node: ast.expr, scope: _Scope) -> dict[str, Any] | None:
    """``users.update().where(...).values(...)`` -> construct, where, table."""
    chain: list[str] = []
    cur: ast.expr = node
    while isinstance(cur, ast.Call) and isinstance(cur.func, ast.Attribute):
        chain.append(cur.func.attr)
        cur = cur.func.value
    if not chain:
        return None
    construct = None
    table = None
    base = chain[-1]
    if base in ("update", "delete", "insert") and isinstance(cur, ast.Name):
        construct = base
        table = scope.tables.get(cur.id)
    elif isinstance(node, ast.Call):
        # sa.update(users).where(...)
        inner = node
        while isinstance(inner.func, ast.Attribute) and isinstance(inner.func.value, ast.Call):
            inner = inner.func.value
        fname = _func_name(inner.func)
        if fname in ("update", "delete", "insert", "select") and inner.args:
            construct = fname
            first = inner.args[0]
            table = scope.tables.get(first.id) if isinstance(first, ast.Name) else None
    if construct is None:
        return None
    return {"construct": construct, "where": "where" in chain, "construct_table": table}


def _table_construct_name(node: ast.expr) -> str | None:
    """``sa.table("users", ...)`` / ``sa.Table("users", meta, ...)`` -> ``users``."""
    if isinstance(node, ast.Call) and _func_name(node.func) in ("table", "Table") and node.args:
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    # meta.tables["users"] (reflected metadata)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
            and node.value.attr == "tables":
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value.split(".")[-1]
    return None


def _arg(call: ast.Call, index: int, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    if 0 <= index < len(call.args):
        return call.args[index]
    return None


def _catches_everything(node: ast.expr | None) -> str | None:
    if node is None:
        return "bare"
    names = node.elts if isinstance(node, ast.Tuple) else [node]
    for n in names:
        name = _func_name(n)
        if name in ("Exception", "BaseException"):
            return name
    return None


def _reraises(body: list[ast.stmt]) -> bool:
    for stmt in body:
        for node in _walk_no_defs(stmt):
            if isinstance(node, ast.Raise):
                return True
            if isinstance(node, ast.Call) and _func_name(node.func) in ("exit", "abort"):
                return True
    return False


def _walk_no_defs(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield from _walk_no_defs(child)


#: Expressions with no expression inside.
_LEAVES = frozenset({ast.Constant, ast.Name})
_ENGINE_NAMES = re.compile("|".join(sorted(_ENGINE_FACTORIES)))
_BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)


def _imports_with_phase(tree: ast.Module) -> list[tuple[ast.AST, str]]:
    """The import statements :func:`_walk_with_phase` would yield, in the same order,
    visiting statements only."""
    out: list[tuple[ast.AST, str]] = []

    def visit(node: ast.AST, phase: str) -> None:
        for name in node._fields:
            value = getattr(node, name, None)
            if not isinstance(value, list) or not value or not isinstance(value[0], _BLOCKS):
                continue
            for child in value:
                kind = type(child)
                if kind is ast.Import or kind is ast.ImportFrom:
                    out.append((child, phase))
                elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
                    visit(child, "downgrade" if child.name.startswith("downgrade") else phase)
                elif kind is not ast.Expr and kind is not ast.Assign and kind is not ast.Return:
                    visit(child, phase)

    visit(tree, "upgrade")
    return out


def _walk_with_phase(tree: ast.Module) -> Iterator[tuple[ast.AST, str]]:
    def visit(node: ast.AST, phase: str) -> Iterator[tuple[ast.AST, str]]:
        yield node, phase
        for child in ast.iter_child_nodes(node):
            child_phase = phase
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                    child.name.startswith("downgrade"):
                child_phase = "downgrade"
            yield from visit(child, child_phase)

    yield from visit(tree, "upgrade")


def _forget(scope: _Scope, name: str) -> None:
    scope.consts.pop(name, None)
    scope.exprs.pop(name, None)
    scope.binds.discard(name)
    scope.sessions.discard(name)
    scope.results.discard(name)
    scope.tables.pop(name, None)


def _shared_child(scope: _Scope, **changes: Any) -> _Scope:
    """A scope sharing every binding with ``scope`` except ``changes``."""
    new = _Scope(**{f: getattr(scope, f) for f in scope.__dataclass_fields__})
    for k, v in changes.items():
        setattr(new, k, v)
    return new


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _is_noop(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)


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
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return StaticResult(path=str(p), error=f"{p}:1: syntax error: not UTF-8 ({exc.reason})")
    return analyze_source(source, str(p))
