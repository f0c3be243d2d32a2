"""Operations from calls: ``op.<name>(...)`` (or ``batch_op.<name>(...)``) becomes an
:class:`~sluice.lint.model.Op` with its table, column, name, SQL and arguments resolved
from the ``ast`` (literals, constants, ``sa.Column(...)``, ``sa.text(...)``)."""

from __future__ import annotations

import ast

from sluice.lint.model import Op
from sluice.lint.static.newop import make_op
from sluice.lint.static.plugins import PLUGIN_OPERATIONS, plugin_statements
from sluice.lint.static.scope import Scope
from sluice.lint.static.values import (
    COLUMN_PARTS,
    UNKNOWN,
    column_name_first,
    created_by_sql,
    dropped_by_sql,
    dynamic_how,
    func_name,
    literal_value,
    sql_target,
    table_construct_name,
    table_construct_schema,
    type_text,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["OpEmitter"]

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


class OpEmitter:
    """Turns calls into operations and facts (``ops``), tracking the tables each phase
    creates (``created``); the walker (:class:`~sluice.lint.static.walker.Walker`) finds
    the calls."""

    ops: list[Op]
    #: Per phase, the tables made so far, as ``(schema, name)`` (schema None: the default
    #: one).
    created: dict[str, set[tuple[str | None, str]]]
    #: Per phase, those of ``created`` that are ``TEMPORARY`` (until dropped).
    temporary: dict[str, set[tuple[str | None, str]]]
    #: ``id()`` of the values inside ``sa.Column("name", ...)`` of an ``add_column`` /
    #: ``create_table`` that the rules read from the source alone, or not at all: the type
    #: and the Python-side ``default=`` / ``onupdate=`` (an imported name used only there
    #: does not make the revision render, see :mod:`sluice.lint.static.facts`).
    column_values: set[int]
    #: The revision's text (None when not known).
    source: str | None

    def _is_op(self, node: ast.expr, scope: Scope) -> bool:
        if isinstance(node, ast.Name):
            return node.id in scope.op_names
        # ``alembic.op.add_column``
        return (isinstance(node, ast.Attribute) and node.attr == "op"
                and isinstance(node.value, ast.Name) and node.value.id == "alembic")

    def _fact(self, kind: str, node: ast.AST, scope: Scope, *, at: int | None = None,
              **args: Any) -> None:
        line = at if at is not None else getattr(node, "lineno", None)
        for existing in self.ops:
            if existing.kind == kind and existing.line == line and existing.phase == scope.phase:
                return
        if scope.offline_dead:
            args["offline_dead"] = True
        self.ops.append(make_op(kind, line, scope.phase, dict(args)))

    def _emit_op(self, kind: str, call: ast.Call, scope: Scope, *,
                 batch: tuple[str | None, str | None] | None, via: str | None = None) -> None:
        if batch is None and kind in PLUGIN_OPERATIONS and self._plugin_op(kind, call, scope):
            return
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
        for kw in call.keywords:
            if kw.arg:
                params[kw.arg] = kw.value

        op = make_op(kind, call.lineno, scope.phase)
        op.in_autocommit = scope.autocommit > 0
        absent = _absent_names(kind, call, params, batch)
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
                args["construct_schema"] = table_construct_schema(node, scope.exprs, scope.consts)
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
                literal = literal_value(node, scope.consts)
                args["rows"] = len(literal) if isinstance(literal, (list, tuple)) else None
                continue
            value = self._arg_value(key, node, scope, kind)
            if value is not UNKNOWN:
                args[key] = value
        if kind == "create_table":
            self._table_columns(extra, scope, args)
        elif extra:
            values = [self._resolve_any(n, scope) for n in extra]
            args["_args"] = [v for v in values if v is not UNKNOWN]
        if via:
            args["via"] = via
        if absent:
            args["absent"] = absent
        if scope.offline_dead:
            args["offline_dead"] = True
        op.args = args
        self._track_created(kind, op, scope.phase)
        self.ops.append(op)

    def _plugin_op(self, kind: str, call: ast.Call, scope: Scope) -> bool:
        """A modelled plugin operation (:mod:`sluice.lint.static.plugins`) as the
        statements it runs; False when its arguments are not all spelled out."""
        found = plugin_statements(kind, call, scope.consts, self.source)
        if found is None:
            return False
        model, statements = found
        for sql in statements:
            args: dict[str, Any] = {"via": f"{model.module}.{model.name}",
                                    "dialect": model.dialect}
            if scope.offline_dead:
                args["offline_dead"] = True
            op = make_op("execute", call.lineno, scope.phase, args)
            op.sql = sql
            op.in_autocommit = scope.autocommit > 0
            self._track_created("execute", op, scope.phase)
            self.ops.append(op)
        # the plugin's classes used in the call are read here: no render needs them
        self.column_values.add(id(call))
        return True

    def _track_created(self, kind: str, op: Op, phase: str) -> None:
        """Mark ``op`` on a table created earlier in its phase; note the tables it creates.
        A table is the same only in the same schema (``schema=`` of the op, or the SQL's
        qualifier; none: the default one); a ``TEMPORARY`` table stands for its name until
        it is dropped."""
        args, ref = op.args, (op.schema, op.table)
        created, temporary = self.created[phase], self.temporary[phase]
        gone: set[tuple[str | None, str]] = set()
        if kind == "execute" and op.sql:
            target = sql_target(op.sql)
            if target and op.table is None:
                op.table = target[1]
            op.table_is_new = op.table_is_new or (target is not None and target in created)
            made = created_by_sql(op.sql)
            created.update(made_ref for made_ref, _ in made)
            temporary.update(made_ref for made_ref, temp in made if temp)
            gone = temporary.intersection(dropped_by_sql(op.sql)) if temporary else gone
        elif op.table and ref in created:
            op.table_is_new = True
            gone = {(op.schema, op.table)} & temporary if kind == "drop_table" else gone
        created.difference_update(gone)
        temporary.difference_update(gone)
        if kind == "create_table" and op.table:
            created.add((op.schema, op.table))
        if kind == "rename_table" and ref in created and isinstance(
                args.get("new_table_name"), str):
            created.add((op.schema, args["new_table_name"]))

    def _arg_value(self, key: str, node: ast.expr, scope: Scope, kind: str) -> Any:
        if key == "type_" and kind == "drop_constraint":  # "foreignkey", as Alembic sees it
            value = self._resolve_any(node, scope)
            return value if value is None or isinstance(value, str) else UNKNOWN
        if key in _TYPE_KEYS:
            if isinstance(node, ast.Constant) and node.value is None:
                return None
            return type_text(node)
        if key in _DEFAULT_KEYS:
            return self._default_text(node, scope)
        if key in ("columns", "local_cols", "remote_cols"):
            value = self._resolve_any(node, scope)
            if value is UNKNOWN and isinstance(node, (ast.List, ast.Tuple)):
                return [self._expr_text(e, scope) for e in node.elts]
            return value
        if key == "condition":
            text = self._sql_text(node, scope)
            return text if text is not None else ast.unparse(node)
        return self._resolve_any(node, scope)

    def _resolve_any(self, node: ast.expr, scope: Scope) -> Any:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
            node.func.attr == "f" and node.args and (
                self._is_op(node.func.value, scope)
                or (isinstance(node.func.value, ast.Name) and node.func.value.id in scope.batches)
            )
        ):
            return self._resolve_any(node.args[0], scope)
        if isinstance(node, ast.Call) and func_name(node.func) in ("text", "literal_column"):
            text = self._sql_text(node, scope)
            return text if text is not None else UNKNOWN
        return literal_value(node, scope.consts)

    def _resolve_str(self, node: ast.expr | None, scope: Scope) -> str | None:
        if node is None:
            return None
        value = self._resolve_any(node, scope)
        if isinstance(value, str):
            return value
        if isinstance(node, ast.Name) and node.id in scope.tables:
            return scope.tables[node.id]
        return None

    def _expr_text(self, node: ast.expr, scope: Scope) -> str:
        value = self._resolve_any(node, scope)
        if isinstance(value, str):
            return value
        return self._sql_text(node, scope) or ast.unparse(node)

    def _table_of(self, node: ast.expr, scope: Scope) -> str | None:
        if isinstance(node, ast.Name):
            return scope.tables.get(node.id)
        return table_construct_name(node)

    def _default_text(self, node: ast.expr, scope: Scope) -> Any:
        if isinstance(node, ast.Constant):
            if node.value is None or node.value is False:
                return None if node.value is None else False
            return str(node.value)
        value = literal_value(node, scope.consts)
        if isinstance(value, str):
            return value
        text = self._sql_text(node, scope)
        if text is not None:
            return text
        if isinstance(node, ast.Call):
            name = func_name(node.func)
            if name in ("true", "false", "null"):
                return name
            # sa.func.now() -> now()
            if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Attribute) \
                    and node.func.value.attr == "func":
                inner = ", ".join(self._expr_text(a, scope) for a in node.args)
                return f"{node.func.attr}({inner})"
        return ast.unparse(node)

    def _sql_text(self, node: ast.expr, scope: Scope) -> str | None:
        """Literal SQL of ``"..."``, ``text("...")``, ``text(...).bindparams(...)``."""
        if isinstance(node, ast.Call):
            name = func_name(node.func)
            if name in ("text", "literal_column", "DDL") and node.args:
                return self._sql_text(node.args[0], scope)
            if isinstance(node.func, ast.Attribute) and node.func.attr in (
                "bindparams", "params", "columns", "execution_options"
            ):
                return self._sql_text(node.func.value, scope)
            if not (isinstance(node.func, ast.Attribute) and node.func.attr == "sql"):
                return None  # (NAME.sql("...") of sluice fix's conventional_name: below)
        value = literal_value(node, scope.consts)
        return value if isinstance(value, str) else None

    def _sql_arg(self, node: ast.expr, scope: Scope, op: Op, args: dict[str, Any]) -> None:
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
            name = func_name(inner.func)
            if name in ("text", "DDL") and inner.args:
                inner = inner.args[0]
            elif isinstance(inner.func, ast.Attribute) and inner.func.attr in (
                "bindparams", "params", "columns", "execution_options"
            ):
                inner = inner.func.value
            else:
                break
        if isinstance(inner, ast.Name) and inner.id in scope.exprs:
            inner = scope.exprs[inner.id]
        how = dynamic_how(inner)
        if how is not None:
            self._fact("script.dynamic_sql", node, scope, how=how)
            args["dynamic"] = how
            return
        construct = core_construct(inner, scope)
        if construct is not None:
            args.update(construct)

    def _column_args(self, node: ast.expr, scope: Scope, op: Op, args: dict[str, Any]) -> None:
        if isinstance(node, ast.Name) and node.id in scope.exprs:
            node = scope.exprs[node.id]
        col = self._column(node, scope)
        if col is None:
            return
        name, info = col
        op.column = name
        args.update(info)

    def _column(self, node: ast.expr, scope: Scope) -> tuple[str | None, dict[str, Any]] | None:
        if not (isinstance(node, ast.Call) and func_name(node.func) == "Column"):
            return None
        pos = list(node.args)
        name: str | None = None
        if pos and isinstance(literal_value(pos[0], scope.consts), str):
            name = literal_value(pos[0], scope.consts)
            pos = pos[1:]
        elif len(pos) > 1 and column_name_first(pos[0], pos[1]):
            pos = pos[1:]  # sa.Column(column, sa.UnicodeText): named at run time
        kws = {kw.arg: kw.value for kw in node.keywords if kw.arg}
        info: dict[str, Any] = {}
        type_node = kws.get("type_")
        rest = pos
        if type_node is None and pos and not (
            isinstance(pos[0], ast.Call) and func_name(pos[0].func) in COLUMN_PARTS
        ):
            type_node, rest = pos[0], pos[1:]
        info["type_"] = type_text(type_node) if type_node is not None else None
        if name is not None:
            if type_node is not None and not isinstance(type_node, ast.Starred):
                self.column_values.add(id(type_node))
            for key in ("default", "onupdate"):  # Python-side: never in the DDL
                if key in kws:
                    self.column_values.add(id(kws[key]))
        primary = literal_value(kws["primary_key"]) if "primary_key" in kws else False
        if "nullable" in kws:
            nullable = literal_value(kws["nullable"], scope.consts)
            info["nullable"] = None if nullable is UNKNOWN else nullable
        else:
            info["nullable"] = primary is not True
        info["server_default"] = (
            self._default_text(kws["server_default"], scope) if "server_default" in kws else None
        )
        for key in ("primary_key", "unique", "index", "autoincrement", "comment"):
            if key in kws:
                value = literal_value(kws[key], scope.consts)
                if value is not UNKNOWN:
                    info[key] = value
        if "default" in kws:
            info["default"] = ast.unparse(kws["default"])
        for extra in rest:
            if isinstance(extra, ast.Call):
                fname = func_name(extra.func)
                if fname == "ForeignKey" and extra.args:
                    info["foreign_key"] = self._resolve_str(extra.args[0], scope)
                elif fname in ("Identity", "Computed"):
                    info[fname.lower()] = ast.unparse(extra)
        return name, info

    def _table_columns(self, extra: list[ast.expr], scope: Scope, args: dict[str, Any]) -> None:
        columns: dict[str, Any] = {}
        details: dict[str, dict[str, Any]] = {}
        for node in extra:
            col = self._column(node, scope)
            if col is not None and col[0]:
                columns[col[0]] = col[1].get("type_")
                details[col[0]] = col[1]
        args["columns"] = columns
        args["column_details"] = details


def _absent_names(kind: str, call: ast.Call, params: dict[str, ast.expr],
                  batch: tuple[str | None, str | None] | None) -> tuple[str, ...]:
    """Which of the table, column and name the call does not pass at all (empty when a
    ``*args`` or ``**kwargs`` may pass them): nothing at run time can supply those."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
            kw.arg is None for kw in call.keywords):
        return ()
    out: list[str] = []
    if batch is None and not any(k in params for k in _TABLE_KEYS):
        out.append("table")
    if "column_name" not in params and "column" not in params:
        out.append("column")
    if not any(k in params for k in _NAME_KEYS):
        out.append("name")
    return tuple(out)


def core_construct(node: ast.expr, scope: Scope) -> dict[str, Any] | None:
    """``users.update().where(...).values(...)`` -> construct, where, table, its schema
    (``construct_schema``: ``""`` for none, left out when not known) and the columns
    ``.values(col=...)`` / ``.values({"col": ...})`` set (``set_columns``)."""
    chain: list[str] = []
    cur: ast.expr = node
    sets: list[str] = []
    base_call: ast.Call | None = None
    while isinstance(cur, ast.Call) and isinstance(cur.func, ast.Attribute):
        chain.append(cur.func.attr)
        if cur.func.attr == "values":
            sets.extend(kw.arg for kw in cur.keywords if kw.arg)
            for arg in cur.args:
                if isinstance(arg, ast.Dict):
                    sets.extend(k.value for k in arg.keys
                                if isinstance(k, ast.Constant) and isinstance(k.value, str))
        base_call = cur
        cur = cur.func.value
    if not chain:
        return None
    construct = table = None
    source: ast.expr | None = None
    base = chain[-1]
    if base in ("update", "delete", "insert", "select") and isinstance(cur, ast.Name) and (
            cur.id in scope.tables or (base_call is not None and not base_call.args)):
        construct = base  # users.update(), users.select() (not sa.update(users), below)
        table, source = scope.tables.get(cur.id), cur
    elif isinstance(node, ast.Call):
        # sa.update(users).where(...)
        inner = node
        while isinstance(inner.func, ast.Attribute) and isinstance(inner.func.value, ast.Call):
            inner = inner.func.value
        fname = func_name(inner.func)
        if fname in ("update", "delete", "insert", "select") and inner.args:
            construct = fname
            source = first = inner.args[0]
            table = scope.tables.get(first.id) if isinstance(first, ast.Name) else (
                table_construct_name(first))
    if construct is None:
        return None
    out: dict[str, Any] = {"construct": construct, "where": "where" in chain,
                           "construct_table": table}
    if construct == "update" and sets:
        out["set_columns"] = sets
    schema = table_construct_schema(source, scope.exprs, scope.consts) if table else None
    if schema is not None:
        out["construct_schema"] = schema
    return out
