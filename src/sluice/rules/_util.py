"""Small helpers shared by rule modules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from sluice.core import memo
from sluice.core.ops import Op

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sluice.rules._sql import Stmt
    from sluice.rules.registry import RuleContext


def steps(*lines: str) -> str:
    """Numbered steps, one per line."""
    return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))


# --------------------------------------------------------------------------- context helpers


class _Units:
    """Per-run index of ``ctx.ops``: ops by (file, revision, phase) and what came before."""

    def __init__(self, ops: list[Op], dialect: str | None) -> None:
        self.size = len(ops)
        #: Results rules computed once per run (keyed by the rule's own key).
        self.memo: dict[tuple[Any, ...], Any] = {}
        self.units: dict[tuple[str | None, str | None, str], list[Op]] = {}
        for o in ops:
            self.units.setdefault((o.path, o.revision, o.phase), []).append(o)
        self.created_before: dict[int, frozenset[TableRef]] = {}
        for unit in self.units.values():
            created: set[TableRef] = set()
            temporary: set[TableRef] = set()
            for o in unit:
                self.created_before[id(o)] = frozenset(created)
                made, temp = _created_by(o, dialect)
                created.update(made)
                temporary.update(temp)
                gone = _temporary_dropped(o, temporary, dialect)
                created.difference_update(gone)
                temporary.difference_update(gone)
                if o.kind == "rename_table" and table_ref(o.table or "", o.schema) in created:
                    new = o.args.get("new_table_name")
                    if isinstance(new, str):
                        created.add(table_ref(new, o.schema))


def _units(ctx: RuleContext) -> _Units:
    cached = getattr(ctx, "_sluice_units", None)
    if not isinstance(cached, _Units) or cached.size != len(ctx.ops):
        cached = _Units(ctx.ops, ctx.dialect)
        setattr(ctx, "_sluice_units", cached)  # noqa: B010 - private cache on the run context
    return cached


def run_memo(ctx: RuleContext) -> dict[tuple[Any, ...], Any]:
    """A dict that lives as long as ``ctx.ops`` stays the same (one ``run_rules`` call):
    for results several rules, or several ops, would otherwise compute again."""
    return _units(ctx).memo


def unit_ops(op: Op, ctx: RuleContext) -> list[Op]:
    """The ops of the same revision file and phase as ``op``, in order."""
    return _units(ctx).units.get((op.path, op.revision, op.phase), [])


def _sql() -> Any:
    """:mod:`sluice.rules._sql`, imported when a rule first reads SQL."""
    from sluice.rules import _sql  # lazy: a revision without SQL never loads it

    return _sql


def _statements(sql: str, dialect: str | None) -> list[Stmt]:
    found: list[Stmt] = _sql().statements(sql, dialect)
    return found


#: A table as lint and the recipes tell tables apart: ``(schema, name)``, lower case,
#: ``""`` for the default schema (no ``schema=``, no qualifier: the search path's).
#: ``audit.t`` is not ``t``, nor is ``public.t``: which schema is the default is the
#: database's to say.
TableRef = tuple[str, str]


#: A column of a table: ``(schema, table, column)``, lower case, the table spelt as
#: :data:`TableRef`.
ColumnRef = tuple[str, str, str]


def table_ref(table: str, schema: str | None = None) -> TableRef:
    """The :data:`TableRef` of ``table`` in ``schema`` (None or ``""``: none given)."""
    return ((schema or "").lower(), table.lower())


def op_table(op: Op) -> TableRef | None:
    """The :data:`TableRef` of the table ``op`` works on (a foreign key's is its source
    table, in ``source_schema``); None when the source computes its name."""
    if not op.table:
        return None
    schema = op.schema or op.args.get("source_schema")
    return table_ref(op.table, schema if isinstance(schema, str) else None)


def construct_on(op: Op, table: TableRef) -> bool:
    """``op`` runs a SQLAlchemy Core construct (``sa.update(t)``, ``t.update()``) on
    ``table``: the construct's table of that name, in that schema where the source says
    which (``construct_schema``; a ``sa.table`` bound outside the function: by name)."""
    name, schema = op.args.get("construct_table"), op.args.get("construct_schema")
    return isinstance(name, str) and name.lower() == table[1] and (
        not isinstance(schema, str) or schema.lower() == table[0])


def statement_table(stmt: Stmt) -> TableRef | None:
    """The :data:`TableRef` of the table ``stmt`` works on; None when it does not say."""
    ref: TableRef | None = _sql().stmt_table_ref(stmt)
    return ref


def _created_by(o: Op, dialect: str | None) -> tuple[list[TableRef], list[TableRef]]:
    """The tables ``o`` creates, and those of them that are ``TEMPORARY`` (see
    :func:`sluice.rules._sql.created_ref`)."""
    if o.kind == "create_table" and o.table:
        return [table_ref(o.table, o.schema)], []
    if o.kind == "execute" and o.sql and "CREATE" in o.sql.upper():  # no CREATE: no table
        made: list[TableRef] = []
        temp_made: list[TableRef] = []
        for s in _statements(o.sql, dialect):
            found = made_table(s, dialect)
            if found is not None:
                made.append(found[0])
                if found[1]:
                    temp_made.append(found[0])
        return made, temp_made
    return [], []


def made_table(stmt: Stmt, dialect: str | None) -> tuple[TableRef, bool] | None:
    """The table a ``CREATE TABLE`` makes and whether it is temporary; None for another
    statement. A table made in the session's temporary schema (PostgreSQL's ``pg_temp``,
    SQLite's ``temp``) is temporary, and its name without a schema is that table."""
    ref = _sql().created_ref(stmt)
    if ref is None:
        return None
    if ref[0] and temp_schema(ref[0], dialect):
        return table_ref(ref[1]), True
    return ref, bool(_sql().creates_temporary(stmt))


def temp_schema(schema: str, dialect: str | None) -> bool:
    """``schema`` (lower case) is the session's temporary one: PostgreSQL's ``pg_temp``
    (``pg_temp_3``), SQLite's ``temp``."""
    return schema == "pg_temp" or schema.startswith("pg_temp_") or (
        schema == "temp" and dialect == "sqlite")


def _temporary_dropped(o: Op, temporary: set[TableRef],
                       dialect: str | None) -> set[TableRef]:
    """The temporary tables of ``temporary`` that ``o`` drops: from then on their names
    are the permanent tables again."""
    if not temporary:
        return set()
    if o.kind == "drop_table" and o.table:
        return {table_ref(o.table, o.schema)} & temporary
    if o.kind == "execute" and o.sql and "DROP" in o.sql.upper():
        # (``DROP TABLE pg_temp.t`` drops the temporary ``t``)
        return {name for s in _statements(o.sql, dialect) if s.kind == "DROP TABLE"
                for ref in drop_table_refs(s)
                for name in [table_ref(ref[1]) if temp_schema(ref[0], dialect) else ref]
                if name in temporary}
    return set()


def new_tables_before(op: Op, ctx: RuleContext) -> set[TableRef]:
    """Tables created in the same revision and phase before ``op`` (a temporary one until
    it is dropped)."""
    found = _units(ctx).created_before.get(id(op))
    if found is None:  # an op that is not part of ctx.ops
        return set()
    return set(found)


def sql_statements(op: Op, ctx: RuleContext) -> Iterator[tuple[Stmt, bool]]:
    """``(statement, on_new_table)`` for the literal SQL of an ``execute`` op."""
    if op.kind != "execute" or not op.sql:
        return iter(())
    memo = run_memo(ctx)
    key = ("sql_statements", id(op))
    found: tuple[Op, list[tuple[Stmt, bool]]] | None = memo.get(key)
    if found is None:  # (op kept with its entry: its id stays its own while the memo lives)
        found = memo[key] = (op, list(_sql_statements(op.sql, new_tables_before(op, ctx),
                                                      ctx.dialect)))
    return iter(found[1])


def _sql_statements(sql: str, created: set[TableRef],
                    dialect: str | None) -> Iterator[tuple[Stmt, bool]]:
    names = {name for _, name in created}
    for stmt in _statements(sql, dialect):
        # (stmt.table only when a created table is named in it: reading it may parse it)
        yield stmt, (may_name(stmt.text, names) and _sql().stmt_table_ref(stmt) in created
                     or _sql().on_temporary_table(stmt, dialect))
        made = made_table(stmt, dialect) if stmt.kind == "CREATE TABLE" else None
        if made is not None:
            created.add(made[0])
            names.add(made[0][1])


#: A table name whose spelling in SQL is itself, whatever the quoting.
_PLAIN_NAME = re.compile(r"[a-z0-9_]+")


def may_name(text: str, names: set[str]) -> bool:
    """Can ``text`` name one of ``names`` (lower-cased)? False only when none is spelled
    in it: a plain ASCII name (``_PLAIN_NAME``) reaches a statement's table only as
    written, quoted or not, unless an escape spells it (``\\``, PostgreSQL's ``U&``)."""
    if not names:
        return False
    if "\\" in text or "&" in text or not all(_PLAIN_NAME.fullmatch(n) for n in names):
        return True
    lowered = text.lower()
    return any(n in lowered for n in names)


def dropped_tables(op: Op, ctx: RuleContext) -> frozenset[TableRef]:
    """Tables the revision of ``op`` drops in the same phase (``op.drop_table`` or raw
    ``DROP TABLE``): their indexes and constraints go with them."""
    memo = run_memo(ctx)
    key = ("dropped_tables", op.path, op.revision, op.phase)
    found = memo.get(key)
    if found is None:
        refs: set[TableRef] = set()
        for o in unit_ops(op, ctx):
            if o.kind == "drop_table" and o.table:
                refs.add(table_ref(o.table, o.schema))
            elif o.kind == "execute" and o.sql:
                refs.update(ref for stmt in _statements(o.sql, ctx.dialect)
                            if stmt.kind == "DROP TABLE" for ref in drop_table_refs(stmt))
        found = memo[key] = frozenset(refs)
    return found


def drop_table_refs(stmt: Stmt) -> set[TableRef]:
    """The tables a ``DROP TABLE`` names, each in the schema it is written in."""
    names = {t.lower() for t in stmt.tables}
    head = re.match(r"DROP (?:TEMPORARY )?TABLE (?:IF EXISTS )?(.*)", stmt.norm)
    written = {ref for part in (head.group(1).split(",") if head else [])
               for found in [re.match(r'\s*(?:([\w"`]+)\.)?([\w"`]+)', part)] if found
               for ref in [table_ref(found.group(2).strip('"`'),
                                     (found.group(1) or "").strip('"`'))]
               if ref[1] in names}
    return written | {table_ref(n) for n in names - {name for _, name in written}}


def dropped_columns(op: Op, ctx: RuleContext) -> frozenset[ColumnRef]:
    """The columns (:data:`ColumnRef`) the revision of ``op`` drops in the same phase
    (``op.drop_column`` or raw ``ALTER TABLE ... DROP COLUMN``)."""
    memo = run_memo(ctx)
    key = ("dropped_columns", op.path, op.revision, op.phase)
    found = memo.get(key)
    if found is None:
        columns: set[ColumnRef] = set()
        for o in unit_ops(op, ctx):
            if o.kind == "drop_column" and o.table and o.column:
                columns.add((*table_ref(o.table, o.schema), o.column.lower()))
            elif o.kind == "execute" and o.sql:
                for stmt in _statements(o.sql, ctx.dialect):
                    ref = statement_table(stmt) if stmt.kind == "ALTER TABLE" else None
                    if ref is not None:
                        columns.update((*ref, a.column.lower()) for a in stmt.actions
                                       if a.kind == "drop_column" and a.column)
        found = memo[key] = frozenset(columns)
    return found


def index_columns(name: str | None, ctx: RuleContext, schema: str | None = None
                  ) -> list[str] | None:
    """The columns of index ``name`` in ``schema`` (None or ``""``: none given) as a
    ``create_index`` among ``ctx.ops`` declares them, or None when no op says. An index is
    its name in its table's schema: one of that name in another schema is another index."""
    if not name:
        return None
    index = table_ref(name, schema)
    for o in ctx.ops:
        cols = o.args.get("columns")
        if (o.kind == "create_index" and o.name and table_ref(o.name, o.schema) == index
                and isinstance(cols, (list, tuple)) and all(isinstance(c, str) for c in cols)):
            return [c.lower() for c in cols]
    return None


def index_label(name: str | None, table: str | None, columns: Any = None) -> str:
    """``index ix_users_email on users``; ``an unnamed index on users (email)``."""
    cols = ""
    if isinstance(columns, (list, tuple)) and columns:
        cols = f" ({', '.join(str(c) for c in columns)})"
    where = f" on {table}{cols}" if table else ""
    return f"index {name}{where}" if name else f"an unnamed index{where}"


def constraint_label(kind: str, name: str | None, table: str | None) -> str:
    """``foreign key fk_orders_user on orders``; ``an unnamed foreign key on orders``."""
    where = f" on {table}" if table else ""
    return f"{kind} {name}{where}" if name else f"an unnamed {kind}{where}"


#: What a message names when the source computes the name at run time.
RUNTIME_TABLE = "a table named at run time"
RUNTIME_COLUMN = "a column named at run time"


def column_label(table: str | None, column: str | None) -> str:
    """``users.email``, or what is known of it when the source computes a name at run time."""
    if table and column:
        return f"{table}.{column}"
    if table:
        return f"a column of {table} named at run time"
    if column:
        return f"{column} of {RUNTIME_TABLE}"
    return RUNTIME_COLUMN


def pg_version(ctx: RuleContext) -> int:
    return int(ctx.config.lint.target_postgres_version)


def mysql_target(ctx: RuleContext) -> tuple[str, tuple[int, ...]]:
    """``("mysql", (8, 0))`` or ``("mariadb", (10, 11))`` from ``target_mysql_version``."""
    return _mysql_target(str(ctx.config.lint.target_mysql_version or "8.0"))


@lru_cache(maxsize=64)
def _mysql_target(version: str) -> tuple[str, tuple[int, ...]]:
    raw = version.strip().lower()
    flavor = "mariadb" if raw.startswith("mariadb") else "mysql"
    nums = tuple(int(n) for n in re.findall(r"\d+", raw))
    if flavor == "mysql" and nums and nums[0] >= 10:  # "10.11" without the prefix
        flavor = "mariadb"
    nums = nums or (8, 0)
    if len(nums) == 2:  # "8.0": the series at its current patch level
        nums = (*nums, 99)
    return flavor, nums


def mysql_label(ctx: RuleContext) -> str:
    """``MySQL 8.0``, ``MariaDB 10.11``. An assumed server (``lint.target_mysql_version``
    unset) is ``MySQL 8.0``: the lint says so once, in a note after its coverage line."""
    if ctx.config.lint.target_mysql_version is None:
        return "MySQL 8.0"
    raw = str(ctx.config.lint.target_mysql_version).strip()
    flavor, _ = mysql_target(ctx)
    number = re.sub(r"^[A-Za-z]+[-_ ]?", "", raw)
    return ("MariaDB " if flavor == "mariadb" else "MySQL ") + number


def has_default(value: object) -> bool:
    """A server default is set (an empty string ``''`` default counts)."""
    return value is not None and value is not False


#: Alembic operations that are DDL.
DDL_KINDS = frozenset({
    "add_column", "drop_column", "alter_column", "create_table", "drop_table", "rename_table",
    "create_index", "drop_index", "create_unique_constraint", "create_foreign_key",
    "create_check_constraint", "create_primary_key", "drop_constraint",
    "create_table_comment", "drop_table_comment", "create_exclude_constraint",
})
#: Statement kinds (see :class:`sluice.lint.rules._sql.Stmt`) that are DDL.
DDL_SQL = frozenset({
    "CREATE INDEX", "DROP INDEX", "DROP TABLE", "DROP SCHEMA", "TRUNCATE", "ALTER TABLE",
    "CREATE TABLE", "RENAME TABLE", "CREATE DATABASE", "DROP DATABASE", "DROP VIEW",
    "DROP TYPE", "ALTER TYPE",
})


#: A key column: ``id``, ``pk``, ``uuid`` (optionally qualified: ``users.id``). A column
#: that merely ends in ``_id`` is a foreign key: ``user_id = 5`` can match millions of rows.
_KEY = r"(?<![\w.])(?:\w+\.)?(?:id|pk|uuid)\b"
_PARAM = r"(?::\w+|%\(\w+\)s|%s|\?|\$\d+)"
_VALUE = r"(?:-?\d+(?:\.\d+)?|''|" + _PARAM + r")"
# The patterns below are compiled on first use (``re``'s cache), not when the rules load:
# most lints never bound a data fix.
_KEY_EQ = rf"{_KEY}\s*=\s*{_VALUE}(?![\w.])|(?<![\w.]){_VALUE}\s*=\s*{_KEY}"
_KEY_IN = rf"{_KEY}\s+IN\s*\(\s*({_VALUE}(?:\s*,\s*{_VALUE})*)\s*\)"
_KEY_BETWEEN = rf"{_KEY}\s+BETWEEN\s+({_VALUE})\s+AND\s+({_VALUE})"
_KEY_LOW = rf"{_KEY}\s*>=?\s*{_PARAM}"
_KEY_HIGH = rf"{_KEY}\s*<=?\s*{_PARAM}"
#: A literal key list or range up to this many keys is small.
SMALL_KEY_SET = 1000


def bounded(stmt: Stmt) -> bool:
    """An UPDATE/DELETE whose WHERE restricts it to a key equality or a small key range
    (``id = 3``, ``id IN (1, 2)``, ``id BETWEEN 1 AND 500``, ``id >= :lo AND id < :hi`` in a
    batch loop, ``id IN (SELECT id ... LIMIT :n)``), or that has a LIMIT, or that is joined
    (``t.id = b.id``) to a CTE or subquery ``b`` of one batch (a LIMIT, or ``id = :id``).
    ``user_id = 5``, a jsonb ``?`` or a ``%s`` inside a string literal do not bound
    anything; nor does a WHERE with OR at its top."""
    if stmt.has_limit or stmt.keyed_batch:
        return True  # (keyed_batch: joined on its key to a CTE/subquery of one batch)
    if re.search(r"\bIN\s*\(\s*SELECT\b(?:(?!\bOR\b).)*\bLIMIT\b", stmt.where or "",
                 re.I | re.S):
        return True  # key IN (SELECT ... LIMIT n): one batch of a loop
    where = re.sub(r"'(?:[^']|'')*'", "''", stmt.where or "")  # no %s or ? inside strings
    where = re.sub(r'[`"]', "", where)  # "id", `users`.`id`: quoted keys are keys
    if not where or re.search(r"\bOR\b", _top_level(where), re.I):
        return False
    if re.search(_KEY_EQ, where, re.I):
        return True
    m = re.search(_KEY_IN, where, re.I)
    if m and m.group(1).count(",") < SMALL_KEY_SET:
        return True
    m = re.search(_KEY_BETWEEN, where, re.I)
    if m:
        low, high = m.group(1), m.group(2)
        if re.fullmatch(_PARAM, low) and re.fullmatch(_PARAM, high):
            return True
        try:
            return 0 <= float(high) - float(low) < SMALL_KEY_SET
        except ValueError:
            return False
    return bool(re.search(_KEY_LOW, where, re.I) and re.search(_KEY_HIGH, where, re.I))


def select_bounded(select: Any) -> bool:
    """A sqlglot ``Select`` that reads one batch of rows: it has a LIMIT, or its WHERE
    pins a key (``id = :id``) as :func:`bounded` reads one."""
    if select.args.get("limit") is not None:
        return True
    where = select.args.get("where")
    if where is None:
        return False
    text = re.sub(r"'(?:[^']|'')*'", "''", where.this.sql())
    text = re.sub(r'[`"]', "", text)
    if re.search(r"\bOR\b", _top_level(text), re.I):
        return False
    return bool(re.search(_KEY_EQ, text, re.I))


def _top_level(text: str) -> str:
    """``text`` without what is inside parentheses."""
    out, depth = [], 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def every_row_update(stmt: Stmt) -> bool:
    """An UPDATE with no WHERE, or with one that is always true (``WHERE 1 = 1``), and no
    LIMIT: it rewrites every row (SL501)."""
    return stmt.kind == "UPDATE" and not stmt.has_where and not stmt.has_limit


def in_dialect(stmt: Stmt, dialect: str | None) -> tuple[str | None, list[tuple[str, str]]]:
    """The WHERE and SET values of the UPDATE/DELETE ``stmt`` as the linted ``dialect``
    spells them, for a message to quote and a fix to reuse (``stmt.where`` is sqlglot's
    generic spelling, not always valid there). Parses the statement again: call it only
    for a statement that is reported."""
    from sluice.rules._sqlfast import simple_dml  # lazy: only with SQL

    if not stmt.parsed or simple_dml(stmt, stmt.text):
        # (a simple shape is spelled alike in every dialect: its summary, which it fills
        # again with the same values, is what a dialect writes; no sqlglot needed)
        return stmt.where, list(stmt.sets)
    kept = memo.entries()  # (kept between lints, as the literals are: no sqlglot when warm)
    key = (stmt.text, "in_dialect:" + (dialect or ""))
    found = kept.get(key) if kept is not None else None
    if not (isinstance(found, tuple) and len(found) == 1):
        from sluice.rules._sqltree import written_in  # lazy: imports sqlglot; findings only

        parts = written_in(stmt.text, dialect)
        found = (None if parts is None else (parts[0], [list(p) for p in parts[1]]),)
        if kept is not None:
            kept[key] = found
            memo.added.add(key)
    if found[0] is None:
        return stmt.where, list(stmt.sets)
    where, sets = found[0]
    return where, [(str(c), str(v)) for c, v in sets]
