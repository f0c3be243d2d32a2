"""Walking ``upgrade()`` / ``downgrade()`` and the helpers they call, statement by
statement, with a :class:`~sluice.lint.static.scope.Scope` of what each name means:
``op`` and its aliases, ``batch_alter_table`` targets, binds from ``op.get_bind()``,
results read from them, constants and ``sa.table(...)`` names."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from sluice.lint.static.emit import OpEmitter
from sluice.lint.static.facts import ENGINE_FACTORIES
from sluice.lint.static.scope import Scope, fetched_rows, forget, shared_child
from sluice.lint.static.values import (
    UNKNOWN,
    call_arg,
    func_name,
    literal_value,
    table_construct_name,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Walker"]

#: Methods of ``op`` that are not operations.
_NOT_OPS = {
    "get_bind", "get_context", "batch_alter_table", "f", "inline_literal",
    "implementation_for", "register_operation", "invoke", "run_async", "migration_context",
    "impl", "schema_obj",
}

_READ_METHODS = {
    "fetchall", "fetchone", "fetchmany", "first", "one", "one_or_none", "scalar",
    "scalar_one", "scalar_one_or_none", "scalars", "all", "mappings", "keys", "partitions",
    "columns", "tuples", "unique",
}
_READ_ATTRS = {"rowcount", "inserted_primary_key", "lastrowid", "returns_rows"}
#: Reads that raise when the result has no row (``NoResultFound``).
_NEEDS_A_ROW = frozenset({"one", "scalar_one"})
#: Statements that can hold a ``return``, ``raise``, ``break`` or ``continue``.
_EXITS_INSIDE = frozenset({ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With,
                           ast.AsyncWith, ast.Match, ast.Return, ast.Raise, ast.Break,
                           ast.Continue, *([ast.TryStar] if hasattr(ast, "TryStar") else [])})
_EXIT_NODES = (ast.Return, ast.Raise, ast.Break, ast.Continue)
#: Expressions a part of which may not be evaluated.
_BRANCHING_EXPRS = frozenset({ast.IfExp, ast.BoolOp, ast.ListComp, ast.SetComp, ast.DictComp,
                              ast.GeneratorExp})
_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
#: Builtins that consume a result (``next(iter(conn.execute(...)))``).
_CONSUMERS = {"next", "iter", "list", "tuple", "sorted", "set", "dict", "len", "enumerate"}
_SESSION_READS = {"query", "get", "scalar", "scalars", "execute", "merge", "refresh"}
#: Expressions with no expression inside.
LEAVES = frozenset({ast.Constant, ast.Name})
#: Last names of calls that can read through a bind (:meth:`Walker._visit_named_call`).
_ATTR_CALLS_READ = frozenset({"inspect", "reflect", "Table"})


class Walker(OpEmitter):
    """Finds the operations and script facts of one revision's functions."""

    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
    module_consts: dict[str, Any]
    module_tables: dict[str, str]
    op_aliases: set[str]

    @staticmethod
    def _op_params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
        args = fn.args
        if not args.args and not args.kwonlyargs and not args.posonlyargs:
            return set()  # ``def upgrade():``
        names = {a.arg for a in args.args + args.kwonlyargs + args.posonlyargs}
        return {n for n in names if n == "op" or n.endswith("_op") and n != "batch_op"}

    # ---------------------------------------------------------------- walking

    def _walk_body(self, body: list[ast.stmt], scope: Scope) -> None:
        for stmt in body:
            self._walk_stmt(stmt, scope)
            if not scope.conditional and type(stmt) in _EXITS_INSIDE and _may_exit(stmt):
                scope = shared_child(scope, conditional=True)  # the rest may not run

    def _walk_stmt(self, stmt: ast.stmt, scope: Scope) -> None:
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
            body_scope = branch(scope)
            if self._is_result_expr(stmt.iter, scope):  # offline the body runs no time
                if not fetched_rows(stmt.iter, scope):  # (fetched rows: read where fetched)
                    self._fact("script.get_bind_read", stmt.iter, scope, how="iterate")
                body_scope = shared_child(body_scope, offline_dead=True)
                self.column_values.update(id(s) for s in stmt.body)
            values = literal_value(stmt.iter, scope.consts)
            if isinstance(stmt.target, ast.Name) and isinstance(values, (list, tuple)) \
                    and 0 < len(values) <= 50:
                # for table in ("a", "b"): op.drop_table(table) -> one op per table
                for value in values:
                    forget(scope, stmt.target.id)
                    scope.consts[stmt.target.id] = value
                    self._walk_body(stmt.body, scope)
                forget(scope, stmt.target.id)
            else:
                for sub in ast.walk(stmt.target):
                    if isinstance(sub, ast.Name):
                        forget(scope, sub.id)
                self._walk_body(stmt.body, body_scope)
            self._walk_body(stmt.orelse, branch(scope))
            return
        if isinstance(stmt, (ast.If, ast.While)):
            self._visit_expr(stmt.test, scope)  # evaluated at least once
            self._walk_body(stmt.body, branch(scope))
            self._walk_body(stmt.orelse, branch(scope))
            return
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.expr):
                self._visit_expr(child, scope)
            elif isinstance(child, ast.stmt):
                self._walk_stmt(child, scope)
            elif isinstance(child, ast.AST):  # match cases, etc.
                case_scope = branch(scope)
                for sub in ast.iter_child_nodes(child):
                    if isinstance(sub, ast.stmt):
                        self._walk_stmt(sub, case_scope)
                    elif isinstance(sub, ast.expr):
                        self._visit_expr(sub, case_scope)

    def _walk_with(self, stmt: ast.With | ast.AsyncWith, scope: Scope) -> None:
        inner, suppress = scope, None
        for item in stmt.items:
            expr = item.context_expr
            var = item.optional_vars
            if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
                attr = expr.func.attr
                owner = expr.func.value
                if attr == "batch_alter_table" and self._is_op(owner, inner):
                    table = self._resolve_str(call_arg(expr, 0, "table_name"), inner)
                    schema = self._resolve_str(call_arg(expr, -1, "schema"), inner)
                    if isinstance(var, ast.Name):
                        batches = {**inner.batches, var.id: (table, schema)}
                        inner = shared_child(inner, batches=batches)
                    continue
                if attr == "autocommit_block":
                    inner = shared_child(inner, autocommit=inner.autocommit + 1)
                    continue
            if isinstance(expr, ast.Call) and func_name(expr.func) == "suppress":
                inner = branch(inner)  # an exception raised inside may be swallowed
                caught = [func_name(a) for a in expr.args]
                if any(c in ("Exception", "BaseException") for c in caught):
                    suppress = expr  # (the fact after the body: what it holds)
            self._visit_expr(expr, inner)
            if var is not None:
                self._bind_name(var, expr, inner)
        start = len(self.ops)
        self._walk_body(stmt.body, inner)
        if suppress is not None:
            self._fact("script.swallow_exception", suppress, inner, catches="suppress",
                       db_work=self._db_work(start))

    def _db_work(self, start: int) -> bool:
        """An operation or a read through the bind among the ops found since ``start``."""
        return any(o.kind == "script.get_bind_read" or not o.kind.startswith("script.")
                   for o in self.ops[start:])

    def _walk_try(self, stmt: Any, scope: Scope) -> None:
        inner = branch(scope)  # an exception raised inside may be caught
        start = len(self.ops)
        self._walk_body(stmt.body, inner)
        db_work = self._db_work(start)
        for handler in stmt.handlers:
            catches = catches_everything(handler.type)
            if catches and not reraises(handler.body):
                self._fact("script.swallow_exception", handler, scope, catches=catches,
                           db_work=db_work)
            self._walk_body(handler.body, inner)
        self._walk_body(stmt.orelse, inner)
        self._walk_body(stmt.finalbody, scope)

    def _bind_name(self, target: ast.expr, value: ast.expr, scope: Scope) -> None:
        if not isinstance(target, ast.Name):
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    forget(scope, sub.id)
            return
        name = target.id
        forget(scope, name)
        scope.exprs[name] = value
        literal = literal_value(value, scope.consts)
        if literal is not UNKNOWN:
            scope.consts[name] = literal
        if self._is_bind_expr(value, scope):
            scope.binds.add(name)
        elif self._is_result_expr(value, scope):
            scope.results.add(name)
        elif isinstance(value, ast.Call) and func_name(value.func) in ("Session", "sessionmaker"):
            scope.sessions.add(name)
        elif isinstance(value, ast.Name) and value.id in scope.op_names:
            scope.op_names.add(name)
        table = table_construct_name(value)
        if table:
            scope.tables[name] = table

    # ---------------------------------------------------------------- expressions

    def _visit_expr(self, node: ast.expr, scope: Scope) -> None:
        """Find operations in ``node``, outer calls before inner ones."""
        if isinstance(node, ast.Call):
            self._visit_call(node, scope)
            # the children in ast.iter_child_nodes() order: func, args, keywords
            func = node.func
            if type(func) is not ast.Attribute or type(func.value) is not ast.Name \
                    or func.attr in _READ_ATTRS:  # (``name.attr`` holds nothing else)
                self._visit_expr(func, scope)
            for arg in node.args:
                if type(arg) not in LEAVES:
                    self._visit_expr(arg, scope)
            for kw in node.keywords:
                if type(kw.value) not in LEAVES:
                    self._visit_expr(kw.value, scope)
            return
        if isinstance(node, ast.Attribute):
            value = node.value
            if node.attr in _READ_ATTRS and self._is_result_expr(value, scope):
                self._fact("script.get_bind_read", node, scope, at=node.end_lineno,
                           how=node.attr)
            if type(value) not in LEAVES:
                self._visit_expr(value, scope)
            return
        if type(node) in LEAVES or isinstance(node, ast.Lambda):
            return  # nothing inside (a lambda runs elsewhere)
        if type(node) in _BRANCHING_EXPRS and not scope.conditional:
            scope = branch(scope)  # (``a if c else b``, ``a and b``: a part may not run)
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

    def _visit_child(self, child: Any, scope: Scope) -> None:
        if isinstance(child, ast.comprehension):
            self._visit_expr(child.iter, scope)
            if self._is_result_expr(child.iter, scope):
                self._fact("script.get_bind_read", child.iter, scope, how="iterate")
            for cond in child.ifs:
                self._visit_expr(cond, scope)
        elif isinstance(child, ast.keyword):
            self._visit_expr(child.value, scope)

    def _visit_call(self, call: ast.Call, scope: Scope) -> None:
        func = call.func
        if type(func) is ast.Attribute and type(func.value) is ast.Name:
            # ``name.attr(...)``, most calls (``sa.Column``, ``op.add_column``): what the
            # general path below decides, with each predicate read for a name
            owner_id, attr = func.value.id, func.attr
            if owner_id in scope.op_names:
                if attr not in _NOT_OPS:
                    self._emit_op(attr, call, scope, batch=None)
                return
            if owner_id in scope.batches:
                if attr not in _NOT_OPS:
                    self._emit_op(attr, call, scope, batch=scope.batches[owner_id])
                return
            if attr == "execute" and owner_id in scope.binds:
                self._emit_op("execute", call, scope, batch=None, via="bind")
                return
            if attr in _READ_METHODS and owner_id in scope.results:
                self._read_fact(call, attr, scope)
                return
            if attr in _SESSION_READS and attr != "execute" and owner_id in scope.sessions:
                self._fact("script.get_bind_read", call, scope, how=f"session.{attr}")
                return
            if attr in _ATTR_CALLS_READ:
                self._visit_named_call(call, attr, scope)
            return
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
                self._read_fact(call, attr, scope)
                return
            if self._is_session_read(call, scope):
                self._fact("script.get_bind_read", call, scope, how=f"session.{attr}")
                return
        name = func_name(func)
        if name in ENGINE_FACTORIES:
            return  # reported by the module-wide pass
        if isinstance(func, ast.Name) and name in _CONSUMERS and call.args \
                and self._is_result_expr(call.args[0], scope):
            self._fact("script.get_bind_read", call, scope, how=name)
            return
        if name is not None and self._visit_named_call(call, name, scope):
            return
        if isinstance(func, ast.Name) and func.id in scope.local_funcs:
            self._enter_helper(scope.local_funcs[func.id], call, scope, closure=True)
        elif isinstance(func, ast.Name) and func.id in self.functions:
            self._enter_helper(self.functions[func.id], call, scope, closure=False)

    def _read_fact(self, call: ast.Call, how: str, scope: Scope) -> None:
        """A read of a result (``.one()``, ``.fetchall()`` ...); one that needs a row
        and is reached whenever its function runs (``raises_offline``) stops any offline
        run there: offline a read returns no rows. At the line Python (and the render layer)
        gives the call: that of ``.fetchall`` in a statement over several lines."""
        at = call.func.end_lineno if isinstance(call.func, ast.Attribute) else None
        if how in _NEEDS_A_ROW and not scope.conditional and not scope.offline_dead:
            self._fact("script.get_bind_read", call, scope, at=at, how=how,
                       raises_offline=True)
        else:
            self._fact("script.get_bind_read", call, scope, at=at, how=how)

    def _visit_named_call(self, call: ast.Call, name: str, scope: Scope) -> bool:
        """A read through ``inspect(bind)`` / ``reflect(bind=...)`` / ``Table(...,
        autoload_with=bind)`` (``name``: the callee's last name); True when found."""
        if name == "inspect" and call.args and self._is_bind_expr(call.args[0], scope):
            self._fact("script.get_bind_read", call, scope, how="inspect")
            return True
        if name in ("reflect", "Table") and (
            name == "reflect" and any(self._is_bind_expr(a, scope) for a in call.args)
            or any(kw.arg in ("bind", "autoload_with") and self._is_bind_expr(kw.value, scope)
                   for kw in call.keywords)
        ):
            self._fact("script.get_bind_read", call, scope, how="reflect")
            return True
        return False

    def _enter_helper(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call,
                      scope: Scope, *, closure: bool) -> None:
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
                forget(inner, a.arg)
                inner.batches.pop(a.arg, None)
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        bound: list[tuple[str, ast.expr]] = list(zip(params, call.args, strict=False))
        bound += [(kw.arg, kw.value) for kw in call.keywords if kw.arg]
        for pname, value in bound:
            forget(inner, pname)
            inner.op_names.discard(pname)
            if self._is_op(value, scope):
                inner.op_names.add(pname)
            elif isinstance(value, ast.Name) and value.id in scope.batches:
                inner.batches[pname] = scope.batches[value.id]
            elif self._is_bind_expr(value, scope):
                inner.binds.add(pname)
            else:
                literal = literal_value(value, scope.consts)
                if literal is not UNKNOWN:
                    inner.consts[pname] = literal
                table = table_construct_name(value) or (
                    scope.tables.get(value.id) if isinstance(value, ast.Name) else None
                )
                if table:
                    inner.tables[pname] = table
        self._walk_body(fn.body, inner)

    # ---------------------------------------------------------------- predicates

    def _is_bind_expr(self, node: ast.expr, scope: Scope) -> bool:
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
            return isinstance(value, ast.Call) and func_name(value.func) == "get_context"
        return False

    def _is_result_expr(self, node: ast.expr, scope: Scope) -> bool:
        if isinstance(node, ast.Name):
            return node.id in scope.results
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("execute", "exec_driver_sql"):
                owner = node.func.value
                return self._is_bind_expr(owner, scope) or (
                    isinstance(owner, ast.Name) and owner.id in scope.sessions
                )
            if node.func.attr in ("scalars", "mappings", "partitions", "tuples", "unique",
                                  "fetchall", "fetchmany", "all"):  # (rows: a list)
                return self._is_result_expr(node.func.value, scope)
        return False

    def _is_session_read(self, call: ast.Call, scope: Scope) -> bool:
        func = call.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr in _SESSION_READS
            and func.attr != "execute"
            and isinstance(func.value, ast.Name)
            and func.value.id in scope.sessions
        )


def catches_everything(node: ast.expr | None) -> str | None:
    if node is None:
        return "bare"
    names = node.elts if isinstance(node, ast.Tuple) else [node]
    for n in names:
        name = func_name(n)
        if name in ("Exception", "BaseException"):
            return name
    return None


def reraises(body: list[ast.stmt]) -> bool:
    for stmt in body:
        for node in _walk_no_defs(stmt):
            if isinstance(node, ast.Raise):
                return True
            if isinstance(node, ast.Call) and func_name(node.func) in ("exit", "abort"):
                return True
    return False


def _walk_no_defs(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield from _walk_no_defs(child)


def branch(scope: Scope) -> Scope:
    """``scope`` for code that may not run when the code around it does."""
    return scope if scope.conditional else shared_child(scope, conditional=True)


def _may_exit(stmt: ast.stmt) -> bool:
    """``stmt`` is, or holds, a ``return``, ``raise``, ``break`` or ``continue`` (outside
    functions and classes defined in it)."""
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, _EXIT_NODES):
            return True
        stack.extend(c for c in ast.iter_child_nodes(node)
                     if isinstance(c, (ast.stmt, ast.excepthandler, ast.match_case))
                     and not isinstance(c, _NESTED_SCOPES))
    return False
