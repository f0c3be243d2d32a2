"""Literal SQL from ``op.execute`` split into statements and summarised for rules.

Each statement is parsed with sqlglot in the dialect being linted. sqlglot understands
most DML and ``ALTER TABLE``; what it cannot parse (``VACUUM``, ``LOCK``, ``ADD CONSTRAINT
... USING INDEX``, procedural blocks) it hands back as a generic command, and a statement
it rejects outright is still summarised from its normalised text. So a rule always gets a
:class:`Stmt`, never an exception.

sqlglot is imported when the first statement is parsed (:mod:`sluice.rules._sqltree`), not
with this module: importing the rules stays cheap for commands that never parse SQL.
"""

from __future__ import annotations

import re
from dataclasses import InitVar, dataclass, field, fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sluice.core import memo as _treememo
from sluice.core.sql import split_sql
from sluice.rules._util import TableRef, table_ref


@dataclass
class Action:
    """One clause of an ``ALTER TABLE``."""

    #: add_column, drop_column, alter_type, set_not_null, drop_not_null, set_default,
    #: drop_default, add_constraint, validate_constraint, drop_constraint, rename_column,
    #: rename_table, drop_primary_key, drop_partition, convert_charset, other
    kind: str
    column: str | None = None
    #: add_constraint: foreign_key, check, unique, primary_key (None when unknown).
    constraint: str | None = None
    name: str | None = None
    not_valid: bool = False
    using_index: bool = False
    default: str | None = None
    type_: str | None = None
    not_null: bool = False
    text: str = ""


#: The fields of a :class:`Stmt` that come from sqlglot's tree (or the text fallback that
#: completes it), with their values before either fills them.
_TREE_DEFAULTS: dict[str, Any] = {
    "table": None, "tables": list, "where": None, "has_where": False, "has_limit": False,
    "concurrently": False, "actions": list, "parsed": False, "index_name": None,
    "unique": False, "insert_select": False, "sets": list, "joined": False,
    "keyed_batch": False,
}
#: ``Stmt(..., defer=_EAGER)`` (the default): every field is set at once.
_EAGER = object()


@dataclass
class Stmt:
    """One SQL statement, summarised.

    :func:`statements` fills ``kind``, ``text``, ``norm`` and ``algorithm`` at once and the
    rest (what sqlglot's tree says) the first time one of them is read: most statements
    of a history are of kinds no rule looks into, so they are never parsed.
    """

    #: Leading keywords, normalised: UPDATE, DELETE, INSERT, SELECT, CREATE INDEX,
    #: DROP INDEX, DROP TABLE, DROP SCHEMA, DROP DATABASE, TRUNCATE, ALTER TABLE,
    #: CREATE TABLE, VACUUM, CLUSTER, LOCK, REINDEX, ALTER TYPE, RENAME TABLE, ... or OTHER.
    kind: str
    text: str
    #: Upper-cased, comments and string literals blanked, whitespace collapsed.
    norm: str
    algorithm: str | None = None
    #: The dialect to summarise in, when the tree fields are filled on first read.
    defer: InitVar[object] = _EAGER
    table: str | None = field(init=False)
    tables: list[str] = field(init=False)
    where: str | None = field(init=False)
    has_where: bool = field(init=False)
    has_limit: bool = field(init=False)
    concurrently: bool = field(init=False)
    actions: list[Action] = field(init=False)
    #: sqlglot produced a structured tree (not a fallback command); False for the kinds
    #: that are not parsed (:data:`_NO_TREE_KINDS`).
    parsed: bool = field(init=False)
    index_name: str | None = field(init=False)
    unique: bool = field(init=False)
    #: INSERT ... SELECT (copies rows from another table).
    insert_select: bool = field(init=False)
    #: UPDATE: (column, SQL of the new value) in SET order.
    sets: list[tuple[str, str]] = field(init=False)
    #: UPDATE ... FROM, DELETE ... USING, or a WITH clause: values come from other tables.
    joined: bool = field(init=False)
    #: UPDATE/DELETE joined (``t.id = cte.id``) to a CTE or subquery that selects one
    #: batch of rows (a LIMIT, or a key equality): one batch of a loop.
    keyed_batch: bool = field(init=False)

    def __post_init__(self, defer: object) -> None:
        if defer is _EAGER:
            self._defaults()
        else:
            self.__dict__["_pending"] = defer

    def _defaults(self) -> None:
        for name, value in _TREE_DEFAULTS.items():
            self.__dict__[name] = value() if value is list else value

    if not TYPE_CHECKING:  # (mypy would take any attribute name as valid)

        def __getattr__(self, name: str) -> Any:
            # Called only for a field not set: the tree fields of a deferred statement.
            if name not in _TREE_DEFAULTS or "_pending" not in self.__dict__:
                raise AttributeError(name)
            pending = self.__dict__.pop("_pending")
            self._defaults()
            try:
                _fill(self, pending if isinstance(pending, str) else None)
            except BaseException:  # deferred again: the next read tries (and raises) again
                for field_name in _TREE_DEFAULTS:
                    self.__dict__.pop(field_name, None)
                self.__dict__["_pending"] = pending
                raise
            return self.__dict__[name]


_KINDS: list[tuple[str, str]] = [
    (r"CREATE (?:UNIQUE )?INDEX", "CREATE INDEX"),
    (r"DROP INDEX", "DROP INDEX"),
    (r"DROP (?:TEMPORARY )?TABLE", "DROP TABLE"),
    (r"DROP (?:SCHEMA|DATABASE)", "DROP SCHEMA"),
    (r"DROP TYPE", "DROP TYPE"),
    (r"DROP (?:MATERIALIZED )?VIEW", "DROP VIEW"),
    (r"TRUNCATE", "TRUNCATE"),
    (r"ALTER TABLE", "ALTER TABLE"),
    (r"ALTER TYPE", "ALTER TYPE"),
    (r"ALTER SYSTEM", "ALTER SYSTEM"),
    (r"CREATE (?:(?:GLOBAL |LOCAL )?(?:TEMP|TEMPORARY|UNLOGGED) )?TABLE", "CREATE TABLE"),
    (r"CREATE (?:DATABASE|TABLESPACE)", "CREATE DATABASE"),
    (r"DROP TABLESPACE", "DROP DATABASE"),
    (r"RENAME TABLE", "RENAME TABLE"),
    (r"VACUUM", "VACUUM"),
    (r"CLUSTER", "CLUSTER"),
    (r"LOCK (?:TABLES?\b)?", "LOCK"),
    (r"REINDEX", "REINDEX"),
    (r"REFRESH MATERIALIZED VIEW", "REFRESH"),
    (r"UPDATE", "UPDATE"),
    (r"DELETE", "DELETE"),
    (r"INSERT", "INSERT"),
    (r"REPLACE", "INSERT"),
    (r"SELECT", "SELECT"),
    (r"WITH", "WITH"),
    (r"OPTIMIZE TABLE", "OPTIMIZE"),
    (r"SET", "SET"),
]


def _normalise(sql: str) -> str:
    """Upper-case, comments removed, string literals blanked, whitespace collapsed."""
    s = re.sub(r"--[^\n]*", " ", sql)
    s = re.sub(r"/\*.*?\*/", " ", s, flags=re.S)
    s = re.sub(r"\$([A-Za-z_]*)\$.*?\$\1\$", "''", s, flags=re.S)
    s = re.sub(r"'(?:[^']|'')*'", "''", s)
    return re.sub(r"\s+", " ", s).strip().upper()


def _ident(name: str | None) -> str | None:
    if not name:
        return None
    return name.split(".")[-1].strip('"`[]').lower() or None


_IDENT = r"((?:[\"`\w]+\.)?[\"`\w]+)"


#: SQL that is one statement whatever the dialect: no ``;``, no comment or quote before
#: its first word, no line holding only a batch separator (``GO``, ``/``).
_ONE_STATEMENT = re.compile(r"[ \t\r\n]*[A-Za-z][^;]*")
_BATCH_LINE = re.compile(r"^\s*(?:GO|/)\s*$", re.I | re.M)


#: Kinds of statement whose sqlglot tree adds nothing to the summary: sqlglot reads them
#: as a ``SET``, a query or a generic command, which :mod:`sluice.rules._sqltree` does not
#: look into, so they are not parsed (``parsed`` stays False; the rules read nothing
#: else of them from a tree). tests/test_sql_fast.py parses samples of each to keep it so.
_NO_TREE_KINDS = frozenset({"SET", "SELECT", "LOCK", "VACUUM", "CLUSTER", "REINDEX",
                            "REFRESH", "ALTER TYPE", "ALTER SYSTEM", "OPTIMIZE"})


@lru_cache(maxsize=4096)
def _parse_cached(sql: str, dialect: str | None) -> tuple[Stmt, ...]:
    if _ONE_STATEMENT.fullmatch(sql) and not _BATCH_LINE.search(sql):
        pieces = [sql.strip()]  # what split_sql returns, without loading its tokenizer
    else:
        pieces = split_sql(sql, dialect)
    return tuple(_summarise(piece, dialect) for piece in pieces)


def statements(sql: str | None, dialect: str | None = None) -> list[Stmt]:
    """The statements of ``sql`` summarised (empty when there is no literal SQL)."""
    if not sql:
        return []
    return list(_parse_cached(sql, dialect))


@lru_cache(maxsize=1)
def _kind_pattern() -> re.Pattern[str]:
    """The patterns of :data:`_KINDS` as one, the first that matches winning (group ``i``
    is ``_KINDS[i - 1]``); compiled on first use."""
    return re.compile("|".join(f"({pattern})\\b" for pattern, _ in _KINDS))


def _summarise(text: str, dialect: str | None) -> Stmt:
    norm = _normalise(text)
    found = _kind_pattern().match(norm)
    kind = _KINDS[found.lastindex - 1][1] if found and found.lastindex else "OTHER"
    m = re.search(r"\bALGORITHM\s*=?\s*(\w+)", norm)
    stmt = Stmt(kind=kind, text=text, norm=norm, algorithm=m.group(1) if m else None,
                defer=dialect or _NO_DIALECT)
    if kind == "WITH":  # what the statement does (its kind) comes from the tree
        _fill_now(stmt)
    return stmt


#: ``defer`` of a statement summarised without a dialect.
_NO_DIALECT = object()


def _fill_now(stmt: Stmt) -> None:
    """Fill the tree fields of a deferred statement now."""
    getattr(stmt, "parsed")  # noqa: B009 - reading a deferred field fills them all


def _fill(stmt: Stmt, dialect: str | None) -> None:
    """The tree fields of ``stmt`` (set to their defaults), from sqlglot's tree or the
    simple-statement shortcut, completed from the text."""
    stmt.concurrently = bool(re.search(r"\bCONCURRENTLY\b", stmt.norm))
    from sluice.rules._sqlfast import simple_statement  # lazy: only with SQL (lint start-up)

    if stmt.kind in _NO_TREE_KINDS or simple_statement(stmt, stmt.text):
        _from_text(stmt)
        _no_real_where(stmt)
        return
    # (a WITH statement's kind comes from the tree too: not kept)
    kept = _treememo.entries() if stmt.kind != "WITH" else None
    key = (stmt.text, dialect or "")
    found = kept.get(key) if kept is not None else None
    if found is not None and _decode(stmt, found):
        return
    from sluice.rules._sqltree import fill_from_tree  # lazy: start-up (imports sqlglot)

    fill_from_tree(stmt, stmt.text, dialect)
    _from_text(stmt)
    _no_real_where(stmt)
    if kept is not None:
        kept[key] = encode(stmt)
        _treememo.added.add(key)


_ACTION_FIELDS = tuple(f.name for f in fields(Action))


def encode(stmt: Stmt) -> tuple[Any, ...]:
    """The tree fields of ``stmt`` as plain values (``marshal`` writes them)."""
    out: list[Any] = []
    for name in _TREE_DEFAULTS:
        value = stmt.__dict__[name]
        if name == "actions":
            value = [tuple(getattr(a, f) for f in _ACTION_FIELDS) for a in value]
        elif name == "sets":
            value = [tuple(pair) for pair in value]
        out.append(value)
    return tuple(out)


def _decode(stmt: Stmt, kept: tuple[Any, ...]) -> bool:
    """Set the tree fields of ``stmt`` from :func:`encode`'s values; False (nothing set
    that a fresh fill would not set again) when they do not have its shape."""
    if not isinstance(kept, tuple) or len(kept) != len(_TREE_DEFAULTS):
        return False
    try:
        values = dict(zip(_TREE_DEFAULTS, kept, strict=True))
        values["actions"] = [Action(**dict(zip(_ACTION_FIELDS, a, strict=True)))
                             for a in values["actions"]]
        values["sets"] = [(str(c), str(v)) for c, v in values["sets"]]
        values["tables"] = [str(t) for t in values["tables"]]
    except (TypeError, ValueError):
        return False
    stmt.__dict__.update(values)
    return True


# ----------------------------------------------------------------------- text fallback


def _top_level_clauses(body: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _text_action(clause: str) -> Action:
    c = clause
    m = re.match(r"ADD (?:COLUMN )?(?:IF NOT EXISTS )?(?!CONSTRAINT|PRIMARY|UNIQUE|FOREIGN|"
                 r"CHECK|INDEX|KEY)" + _IDENT + r"\s+(.*)", c)
    if m:
        rest = m.group(2)
        d = re.search(r"\bDEFAULT\s+(.+?)(?:\s+(?:NOT NULL|NULL|CONSTRAINT|PRIMARY|UNIQUE|"
                      r"REFERENCES|CHECK|GENERATED)\b|$)", rest)
        return Action("add_column", column=_ident(m.group(1)), text=clause,
                      type_=rest.split(" ")[0], default=d.group(1) if d else None,
                      not_null=bool(re.search(r"\bNOT NULL\b|\bPRIMARY KEY\b", rest)))
    if re.match(r"ADD\b", c):
        act = Action("add_constraint", text=clause)
        m = re.match(r"ADD CONSTRAINT " + _IDENT, c)
        act.name = _ident(m.group(1)) if m else None
        if re.search(r"\bFOREIGN KEY\b|\bREFERENCES\b", c):
            act.constraint = "foreign_key"
        elif re.search(r"\bCHECK\b", c):
            act.constraint = "check"
        elif re.search(r"\bPRIMARY KEY\b", c):
            act.constraint = "primary_key"
        elif re.search(r"\bUNIQUE\b", c):
            act.constraint = "unique"
        act.not_valid = bool(re.search(r"\bNOT VALID\b", c))
        act.using_index = bool(re.search(r"\bUSING INDEX\b", c))
        return act
    if re.match(r"DROP PRIMARY KEY\b", c):
        return Action("drop_primary_key", text=clause)
    m = re.match(r"DROP PARTITION " + _IDENT, c)
    if m:
        return Action("drop_partition", name=_ident(m.group(1)), text=clause)
    m = re.match(r"DROP (?:COLUMN )?(?:IF EXISTS )?(?!CONSTRAINT|INDEX|KEY|FOREIGN|CHECK|"
                 r"PARTITION)" + _IDENT, c)
    if m:
        return Action("drop_column", column=_ident(m.group(1)), text=clause)
    m = re.match(r"DROP (?:CONSTRAINT|FOREIGN KEY|INDEX|KEY|CHECK) (?:IF EXISTS )?" + _IDENT, c)
    if m:
        return Action("drop_constraint", name=_ident(m.group(1)), text=clause)
    m = re.match(r"ALTER (?:COLUMN )?" + _IDENT + r" (.*)", c)
    if m:
        col, rest = _ident(m.group(1)), m.group(2)
        if re.match(r"(?:SET DATA )?TYPE\b", rest):
            return Action("alter_type", column=col, type_=rest.split(" ")[-1], text=clause)
        if rest.startswith("SET NOT NULL"):
            return Action("set_not_null", column=col, text=clause)
        if rest.startswith("DROP NOT NULL"):
            return Action("drop_not_null", column=col, text=clause)
        if rest.startswith("DROP DEFAULT"):
            return Action("drop_default", column=col, text=clause)
        if rest.startswith("SET DEFAULT"):
            return Action("set_default", column=col, default=rest[12:], text=clause)
        return Action("other", column=col, text=clause)
    m = re.match(r"(?:MODIFY|CHANGE) (?:COLUMN )?" + _IDENT, c)
    if m:
        return Action("alter_type", column=_ident(m.group(1)), text=clause)
    m = re.match(r"RENAME (?:COLUMN )?(?!TO\b|AS\b)" + _IDENT + r" TO " + _IDENT, c)
    if m:
        return Action("rename_column", column=_ident(m.group(1)), name=_ident(m.group(2)),
                      text=clause)
    m = re.match(r"RENAME (?:TO|AS) " + _IDENT, c)
    if m:
        return Action("rename_table", name=_ident(m.group(1)), text=clause)
    if re.match(r"VALIDATE CONSTRAINT\b", c):
        return Action("validate_constraint", text=clause)
    if re.match(r"CONVERT TO CHARACTER SET\b|(?:DEFAULT )?CHARACTER SET\b", c):
        return Action("convert_charset", text=clause)
    return Action("other", text=clause)


#: The leading words of a statement up to the table it works on (normalised text).
_TABLE_FIRST = (
    r"(?:ALTER TABLE(?: ONLY)?(?: IF EXISTS)?|UPDATE(?: ONLY)?|DELETE FROM(?: ONLY)?|"
    r"INSERT (?:IGNORE )?INTO|TRUNCATE(?: TABLE)?(?: ONLY)?|"
    r"CREATE (?:(?:GLOBAL |LOCAL )?(?:TEMP|TEMPORARY|UNLOGGED) )?TABLE(?: IF NOT EXISTS)?|"
    r"DROP TABLE(?: IF EXISTS)?|VACUUM(?: \(.*?\))?(?: FULL| FREEZE| VERBOSE| ANALYZE)*|"
    r"CLUSTER(?: VERBOSE)?|LOCK(?: TABLES?)?(?: ONLY)?|REINDEX(?: \(.*?\))? (?:TABLE|INDEX)"
    r"(?: CONCURRENTLY)?|RENAME TABLE|OPTIMIZE TABLE) " + _IDENT
)


def _table_ref(stmt: Stmt) -> str | None:
    """The table ``stmt`` works on as its text names it (``"AUDIT".ORDERS``), read from
    the normalised text; None when the text does not say."""
    m = re.match(_TABLE_FIRST, stmt.norm)
    if m is None and stmt.kind in ("CREATE INDEX", "DROP INDEX"):
        m = re.search(r" ON (?:ONLY )?" + _IDENT, stmt.norm)
    return m.group(1) if m else None


def table_schema(stmt: Stmt) -> str | None:
    """The schema ``stmt`` names its table in (``audit`` of ``ALTER TABLE audit.t``), lower
    case; None when it names none (the default one)."""
    ref = _table_ref(stmt)
    if ref is None or "." not in ref:
        return None
    return ref.split(".")[0].strip('"`[]').lower() or None


def creates_temporary(stmt: Stmt) -> bool:
    """A ``CREATE TEMP|TEMPORARY TABLE``: the session's own table, never a permanent one."""
    return re.match(r"CREATE (?:GLOBAL |LOCAL )?TEMP(?:ORARY)? TABLE\b", stmt.norm) is not None


def on_temporary_table(stmt: Stmt, dialect: str | None) -> bool:
    """Whether ``stmt`` names a temporary table as such (``DROP TEMPORARY TABLE``, schema
    ``pg_temp``, or ``temp`` on SQLite): it loses nothing of a permanent table."""
    if "TEMP" not in stmt.norm or stmt.norm.startswith("DROP TEMPORARY TABLE"):
        return "TEMP" in stmt.norm
    schema = table_schema(stmt)
    return schema is not None and (schema == "pg_temp" or schema.startswith("pg_temp_")
                                   or (schema == "temp" and dialect == "sqlite"))


def stmt_table_ref(stmt: Stmt) -> TableRef | None:
    """The :data:`~sluice.rules._util.TableRef` of the table ``stmt`` works on (schema
    ``""``: it names none); None when not known."""
    return table_ref(stmt.table, table_schema(stmt)) if stmt.table else None


def created_ref(stmt: Stmt) -> TableRef | None:
    """:func:`stmt_table_ref` of the table a ``CREATE TABLE`` makes; None for another
    statement. A ``TEMPORARY`` table is the session's own, but while it exists its name
    without a schema is that table, not the permanent one (PostgreSQL, MySQL and SQLite
    look in the session's temporary tables first): until it is dropped, what the
    revision does to that name it does to its own new table."""
    return stmt_table_ref(stmt) if stmt.kind == "CREATE TABLE" else None


def _from_text(stmt: Stmt) -> None:
    """Fill what sqlglot did not (commands, parse failures) from the normalised text."""
    norm = stmt.norm
    if stmt.table is None:
        stmt.table = _ident(_table_ref(stmt))
    if stmt.kind == "DROP INDEX" and stmt.index_name is None:
        m = re.match(r"DROP INDEX (?:CONCURRENTLY )?(?:IF EXISTS )?" + _IDENT, norm)
        stmt.index_name = _ident(m.group(1)) if m else None
    if stmt.table and not stmt.tables:
        stmt.tables = [stmt.table]
    if stmt.kind in ("UPDATE", "DELETE") and not stmt.parsed:
        stmt.has_where = bool(re.search(r"\bWHERE\b", norm))
        stmt.has_limit = bool(re.search(r"\bLIMIT\b", norm))
        m = re.search(r"\bWHERE\b(.*)", norm)
        stmt.where = m.group(1).strip() if m else None
    if stmt.kind == "INSERT" and not stmt.parsed:
        stmt.insert_select = bool(re.search(r"\bSELECT\b", norm))
    if stmt.kind == "CREATE INDEX":
        stmt.unique = stmt.unique or norm.startswith("CREATE UNIQUE")
        if stmt.index_name is None:
            m = re.match(r"CREATE (?:UNIQUE )?INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?"
                         + _IDENT + " ON", norm)
            stmt.index_name = _ident(m.group(1)) if m else None
    if stmt.kind == "ALTER TABLE":
        m = re.match(r"ALTER TABLE(?: ONLY)?(?: IF EXISTS)? " + _IDENT + r" (.*)", norm)
        clauses = _top_level_clauses(m.group(2)) if m else []
        text_actions = [_text_action(c) for c in clauses]
        if not stmt.actions or len(text_actions) != len(stmt.actions):
            stmt.actions = [a for a in text_actions if not re.match(r"(ALGORITHM|LOCK)\b",
                                                                    a.text)]
        else:
            # sqlglot's structure, refined with what it drops (NOT VALID, USING INDEX).
            for act, txt in zip(stmt.actions, text_actions, strict=True):
                if act.kind == "drop_column" and txt.kind in ("drop_constraint",
                                                              "drop_partition"):
                    act.kind, act.column = txt.kind, None  # DROP CHECK ck, DROP PARTITION p
                act.name = act.name or txt.name
                act.not_valid = act.not_valid or txt.not_valid
                act.using_index = act.using_index or txt.using_index
                if act.kind == "other":
                    act.kind = txt.kind
                if act.kind == "add_column" and txt.kind == "add_column" and txt.default:
                    # keep the function name as written (sqlglot may rename it)
                    act.default = txt.default
        for act in stmt.actions:
            if act.kind == "add_constraint" and act.constraint is None:
                act.constraint = _text_action(act.text.upper()).constraint


_TAUTOLOGY = re.compile(r"^\(?\s*(?:TRUE|1|(\d+|'[^']*')\s*=\s*\1)\s*\)?$", re.I)


def _no_real_where(stmt: Stmt) -> None:
    """``WHERE 1 = 1`` / ``WHERE true`` filters nothing: treat it as no WHERE."""
    if stmt.has_where and stmt.where is not None and _TAUTOLOGY.match(stmt.where.strip()):
        stmt.has_where = False


def mentions(stmt: Stmt, word: str) -> bool:
    return bool(re.search(r"\b" + re.escape(word.upper()) + r"\b", stmt.norm))
