"""Values read from the ``ast`` without running anything: literals (folding constants and
string building), SQLAlchemy type text, table names of ``sa.table(...)`` and of SQL
statements, and how a non-literal SQL string is built."""

from __future__ import annotations

import ast
import copy
import functools
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "COLUMN_PARTS",
    "UNKNOWN",
    "bare_table",
    "call_arg",
    "column_name_first",
    "create_table_sql",
    "created_by_sql",
    "dropped_by_sql",
    "dynamic_how",
    "func_name",
    "literal_value",
    "split_table",
    "sql_target",
    "sql_target_table",
    "table_construct_name",
    "table_construct_schema",
    "type_text",
]

#: Patterns compiled on first use (most files never need them; compiling at import is a
#: noticeable share of a warm ``sluice lint``).
_CREATE_TABLE_SQL = (
    r"\bCREATE\s+(?:(?:GLOBAL\s+|LOCAL\s+)?(TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+"
    r"(?:IF\s+NOT\s+EXISTS\s+)?((?:[\"`\w]+\.)?[\"`\w]+)"
)
_TARGET_TABLE_SQL = (
    r"^\s*(?:ALTER\s+TABLE(?:\s+ONLY)?(?:\s+IF\s+EXISTS)?|UPDATE|DELETE\s+FROM|INSERT\s+INTO|"
    r"TRUNCATE(?:\s+TABLE)?|CREATE\s+(?:UNIQUE\s+)?INDEX(?:\s+CONCURRENTLY)?"
    r"(?:\s+IF\s+NOT\s+EXISTS)?(?:\s+[\"`\w]+)?\s+ON(?:\s+ONLY)?)\s+((?:[\"`\w]+\.)?[\"`\w]+)"
)


@functools.cache
def create_table_sql() -> re.Pattern[str]:
    """``CREATE [TEMP] TABLE [IF NOT EXISTS] name`` (group 1: ``TEMP``, ``TEMPORARY``,
    ``UNLOGGED`` or None; group 2: the name), compiled once."""
    return re.compile(_CREATE_TABLE_SQL, re.I)


@functools.cache
def _target_table_sql() -> re.Pattern[str]:
    return re.compile(_TARGET_TABLE_SQL, re.I)


def bare_table(name: str) -> str:
    return name.split(".")[-1].strip('"`')


def split_table(name: str) -> tuple[str | None, str]:
    """``audit.orders`` -> ``("audit", "orders")``; ``orders`` -> ``(None, "orders")``
    (quotes removed)."""
    schema, _, table = name.rpartition(".")
    return (schema.strip('"`') or None), table.strip('"`')


def sql_target(sql: str) -> tuple[str | None, str] | None:
    """The table a single DDL/DML statement works on, as ``(schema, name)`` (schema None
    when the statement names none); best effort."""
    m = _target_table_sql().match(sql)
    return split_table(m.group(1)) if m else None


def sql_target_table(sql: str) -> str | None:
    """The table a single DDL/DML statement works on (best effort, no schema)."""
    m = _target_table_sql().match(sql)
    return bare_table(m.group(1)) if m else None


def created_by_sql(sql: str) -> list[tuple[tuple[str | None, str], bool]]:
    """The tables ``CREATE TABLE`` statements in ``sql`` make, as ``(schema, name)``, each
    with whether it is ``TEMP``/``TEMPORARY``: the session's own table, which its name
    without a schema stands for until it is dropped."""
    return [(split_table(m.group(2)), (m.group(1) or "").upper() in ("TEMP", "TEMPORARY"))
            for m in create_table_sql().finditer(sql)]


_DROP_TABLE_SQL = r"\bDROP\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+EXISTS\s+)?((?:[\"`\w]+\.)?[\"`\w]+)"


@functools.cache
def _drop_table_sql() -> re.Pattern[str]:
    return re.compile(_DROP_TABLE_SQL, re.I)


def dropped_by_sql(sql: str) -> list[tuple[str | None, str]]:
    """The tables ``DROP TABLE`` statements in ``sql`` drop, as ``(schema, name)``."""
    return [split_table(m.group(1)) for m in _drop_table_sql().finditer(sql)]


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
            import _ast_unparse  # lazy: optional: the ast.unparse backport of old Pythons
        except ImportError:
            return None
        base = _ast_unparse.Unparser

    class _Stripping(base):  # type: ignore[misc]  # the unparser is found at run time
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
    stripped = _StripModules().visit(copy.deepcopy(node))
    text = ast.unparse(stripped)
    if isinstance(stripped, ast.Name):
        text += "()"
    return text


#: What ``sa.Column(...)`` takes positionally besides its name and type.
COLUMN_PARTS = frozenset({"ForeignKey", "Sequence", "Identity", "Computed", "CheckConstraint",
                           "FetchedValue", "DefaultClause", "UniqueConstraint"})
#: SQLAlchemy's type classes (``sqlalchemy.types``), as a bare name spells one.
_TYPE_NAMES = frozenset({
    "ARRAY", "BIGINT", "BINARY", "BLOB", "BOOLEAN", "BigInteger", "Boolean", "CHAR", "CLOB",
    "DATE", "DATETIME", "DECIMAL", "DOUBLE", "DOUBLE_PRECISION", "Date", "DateTime", "Double",
    "Enum", "FLOAT", "Float", "INT", "INTEGER", "Integer", "Interval", "JSON", "LargeBinary",
    "NCHAR", "NUMERIC", "NVARCHAR", "Numeric", "PickleType", "REAL", "SMALLINT", "SmallInteger",
    "String", "TEXT", "TIME", "TIMESTAMP", "Text", "Time", "TupleType", "TypeDecorator", "UUID",
    "Unicode", "UnicodeText", "Uuid", "VARBINARY", "VARCHAR", "BIT", "BYTEA", "CIDR", "CITEXT",
    "INET", "INTERVAL", "JSONB", "MACADDR", "MONEY", "OID", "TSVECTOR", "HSTORE", "TINYINT",
    "MEDIUMINT", "MEDIUMTEXT", "LONGTEXT", "TINYTEXT", "MEDIUMBLOB", "LONGBLOB", "YEAR", "SET",
})


def _is_type(node: ast.expr) -> bool:
    """``node`` spells a column type: a known type name (``UnicodeText``), a class of a
    module (``sa.UnicodeText``, ``postgresql.JSONB``) or a call of either
    (``sa.String(50)``, ``GUID()``); ``ForeignKey(...)`` and the like are not."""
    if isinstance(node, ast.Call):
        node = node.func
        if isinstance(node, ast.Name):
            return node.id not in COLUMN_PARTS and node.id[:1].isupper()
    if isinstance(node, ast.Name):
        return node.id in _TYPE_NAMES
    if isinstance(node, ast.Attribute):
        return node.attr not in COLUMN_PARTS and node.attr[:1].isupper()
    return False


def column_name_first(first: ast.expr, second: ast.expr) -> bool:
    """In ``sa.Column(first, second, ...)`` with ``first`` not a string literal, ``first``
    is the name (a variable, an expression) and not the type: it is no type and a type,
    or what a column takes besides (``sa.ForeignKey(...)``), follows."""
    if isinstance(first, ast.Starred) or _is_type(first):
        return False
    if isinstance(first, ast.Name) and first.id[:1].isupper() and not _is_type(second):
        return False  # sa.Column(GUID, sa.ForeignKey(...)): a type of the project's own
    return _is_type(second) or (isinstance(second, ast.Call)
                                and func_name(second.func) in COLUMN_PARTS)


def func_name(node: ast.expr) -> str | None:
    """Last name of a callee: ``sa.text`` -> ``text``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


class Unknown:
    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = Unknown()


def literal_value(node: ast.expr, consts: dict[str, Any] | None = None) -> Any:
    """The Python value of a literal expression (folding string concatenation), or UNKNOWN."""
    kind = type(node)  # the two most common, first
    if kind is ast.Constant:
        return node.value  # type: ignore[attr-defined]
    if kind is ast.Name:
        return consts.get(node.id, UNKNOWN) if consts else UNKNOWN  # type: ignore[attr-defined]
    consts = consts or {}
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return consts.get(node.id, UNKNOWN)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        values = [literal_value(e, consts) for e in node.elts]
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        return tuple(values) if isinstance(node, ast.Tuple) else list(values)
    if isinstance(node, ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values, strict=True):
            if k is None:
                return UNKNOWN
            kv, vv = literal_value(k, consts), literal_value(v, consts)
            if kv is UNKNOWN or vv is UNKNOWN:
                return UNKNOWN
            out[kv] = vv
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = literal_value(node.operand, consts)
        return -value if isinstance(value, (int, float)) else UNKNOWN
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal_value(node.left, consts), literal_value(node.right, consts)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        return UNKNOWN
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and value.format_spec is None \
                    and value.conversion == -1:
                inner = literal_value(value.value, consts)
                if not isinstance(inner, (str, int)) or isinstance(inner, bool):
                    return UNKNOWN
                parts.append(str(inner))
            else:
                return UNKNOWN
        return "".join(parts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == "conventional_name":
        return _runtime_name(node, consts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "sql" and len(node.args) == 1 and not node.keywords:
            owner = literal_value(node.func.value, consts)
            template = literal_value(node.args[0], consts)
            if isinstance(owner, RuntimeName) and isinstance(template, str):
                return owner.sql(template)
        # "...".format(CONST) and textwrap.dedent("...") with known parts
        if node.func.attr == "dedent" and len(node.args) == 1:
            inner = literal_value(node.args[0], consts)
            import textwrap  # lazy: only for textwrap.dedent(...) in a migration

            return textwrap.dedent(inner) if isinstance(inner, str) else UNKNOWN
        if node.func.attr in ("strip", "lstrip", "rstrip") and not node.args:
            inner = literal_value(node.func.value, consts)
            return getattr(inner, node.func.attr)() if isinstance(inner, str) else UNKNOWN
    return UNKNOWN


def dynamic_how(node: ast.expr) -> str | None:
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


def table_construct_name(node: ast.expr) -> str | None:
    """``sa.table("users", ...)`` / ``sa.Table("users", meta, ...)`` -> ``users``."""
    if isinstance(node, ast.Call) and func_name(node.func) in ("table", "Table") and node.args:
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


def table_construct_schema(node: ast.expr | None, exprs: dict[str, ast.expr],
                           consts: dict[str, Any]) -> str | None:
    """The schema of the table construct ``node`` (:func:`table_construct_name`), read
    through a name's assignment in ``exprs``: ``sa.table("t", schema="s")`` -> ``s``,
    ``""`` when it names none, None when that is not known (a name bound elsewhere, a
    schema computed at run time)."""
    if isinstance(node, ast.Name):
        node = exprs.get(node.id)
    if isinstance(node, ast.Call) and func_name(node.func) in ("table", "Table"):
        if any(kw.arg is None for kw in node.keywords):
            return None  # **kwargs may pass it
        given = next((kw.value for kw in node.keywords if kw.arg == "schema"), None)
        value = None if given is None else literal_value(given, consts)
        return "" if value is None else value if isinstance(value, str) else None
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
            and isinstance(node.slice.value, str):
        return node.slice.value.rpartition(".")[0]  # meta.tables["schema.name"]
    return None


def call_arg(call: ast.Call, index: int, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    if 0 <= index < len(call.args):
        return call.args[index]
    return None


class RuntimeName(str):
    """What ``conventional_name(op, kind, name, table, ...)`` of :mod:`sluice.recipes.naming`
    (written by ``sluice fix``) gives, read statically: the name as written. The naming
    convention that may change it at run time is env.py's, which the static layer does not
    run; what the rules read of the statement (its kind, table, ``NOT VALID``) does not
    depend on it. ``.sql(template)`` fills the template as the real one does."""

    schema: str | None

    def sql(self, template: str) -> str:
        name = str(self)
        quoted = name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else \
            '"' + name.replace('"', '""') + '"'
        qualified = f"{self.schema}.{quoted}" if self.schema else quoted
        from sluice.core.sql import fill_name  # lazy: its import compiles patterns (lint start-up)

        return fill_name(template, name, quoted, qualified)


def _runtime_name(node: ast.Call, consts: dict[str, Any]) -> Any:
    if len(node.args) < 4:
        return UNKNOWN
    name = literal_value(node.args[2], consts)
    schema = next((literal_value(k.value, consts) for k in node.keywords if k.arg == "schema"),
                  None)
    if not isinstance(name, str) or not (schema is None or isinstance(schema, str)):
        return UNKNOWN
    value = RuntimeName(name)
    value.schema = schema
    return value
