"""A comparable picture of a database schema, read with SQLAlchemy's inspector.

Tables (and their comments), columns (type, nullable, server default normalised like the
drift check does, or the identity / AUTO_INCREMENT that numbers the rows, computed
expression, comment), primary keys, indexes (SQLite's expression-based ones read from
``sqlite_master``, which SQLAlchemy cannot reflect; each with its WHERE predicate, column
order and dialect options), unique, check and foreign-key constraints; views (and
PostgreSQL's materialized views) with their definitions; PostgreSQL's enum types with
their values and its sequences no column owns; functions, procedures and triggers
(:mod:`.routines`). SQLite's generated columns and index predicates are read from the
statements in ``sqlite_master`` (:mod:`.sqlite_ddl`). Two snapshots compare equal when the
schema is the same; :func:`diff_snapshots` says what differs.

A snapshot maps each object's name (``schema.name`` outside the default schema) to what
it holds; any other object says what it is under ``"kind"`` (a table has none). PostgreSQL
keeps tables, views and types in one namespace per schema, so their names never clash; a
function's name has its arguments (``touch()``), a PostgreSQL trigger's its table
(``touch on accounts``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sluice.check.routines import drop_statement, routines_and_triggers
from sluice.check.sqlexpr import Expression
from sluice.check.sqlite_ddl import generated_columns, index_parts
from sluice.policy.defaults import normalize_default

Snapshot = dict[str, dict[str, Any]]


def _type_text(type_: Any, dialect: Any) -> str:
    try:
        return str(type_.compile(dialect=dialect)).upper()
    except Exception:
        return repr(type_)


def _sql(text: Any) -> str:
    return re.sub(r"\s+", " ", str(text or "")).strip()


def _multi(insp: Any, method: str, schema: str | None,
           names: list[str] | None = None) -> dict[Any, Any]:
    try:
        return dict(getattr(insp, method)(schema=schema, filter_names=names))
    except NotImplementedError:
        return {}


SnapshotCache = dict[str, tuple[Any, dict[str, Any]]]

#: SQLAlchemy's warning for an index :func:`take_snapshot` reads from ``sqlite_master``.
EXPRESSION_INDEX_WARNING = re.compile(r"^Skipped unsupported reflection of expression-based "
                                      r"index")


def _sqlite_master(conn: Any, schema: str | None) -> list[tuple[str, str, str, str | None]]:
    """(table, type, name, statement) of every table and index of a SQLite database (or
    attached ``schema``), read with one query; [] on other databases."""
    if conn.dialect.name != "sqlite":
        return []
    master = f'"{schema}".sqlite_master' if schema else "sqlite_master"
    rows = conn.execute(sa.text(
        f"SELECT tbl_name, type, name, sql FROM {master} "  # noqa: S608 - quoted schema
        "WHERE type IN ('table', 'index') ORDER BY tbl_name, type, name")).fetchall()
    return [(str(t), str(k), str(n), s) for t, k, n, s in rows]


def _sqlite_fingerprints(rows: list[tuple[str, str, str, str | None]]
                         ) -> dict[str, tuple[str, ...]]:
    """SQLite keeps every table's complete definition as text in ``sqlite_master``: the
    DDL of a table and of its indexes is a fingerprint that changes whenever its schema
    does."""
    out: dict[str, tuple[str, ...]] = {}
    for tbl, type_, name, sql in rows:
        out[tbl] = (*out.get(tbl, ()), f"{type_}:{name}:{sql}")
    return out


def take_snapshot(conn: Any, *, schemas: list[str | None], skip: set[str],
                  cache: SnapshotCache | None = None) -> Snapshot:
    """The schema seen through ``conn``; tables named in ``skip`` (e.g. the version
    table) are left out.

    ``cache`` (a dict kept by the caller across snapshots) lets SQLite re-read only the
    tables whose definition changed since the previous snapshot.
    """
    insp = sa.inspect(conn)
    dialect = conn.dialect
    out: Snapshot = {}
    for schema in schemas:
        _other_objects(conn, insp, schema, skip, out)
        master = _sqlite_master(conn, schema)
        prints = _sqlite_fingerprints(master) if cache is not None and master else None
        names: list[str] | None = None
        if prints is not None and cache is not None:
            names = []
            for tname, fp in prints.items():
                full = f"{schema}.{tname}" if schema else tname
                if tname in skip:
                    continue
                hit = cache.get(full)
                if hit is not None and hit[0] == fp:
                    out[full] = hit[1]
                else:
                    names.append(tname)
            if not names:
                continue
        columns = _multi(insp, "get_multi_columns", schema, names)
        if not columns:
            continue
        comments = _multi(insp, "get_multi_table_comment", schema, names)
        expression_indexes, wheres = _sqlite_indexes(master)
        generated = {t: generated_columns(sql) for t, kind, _, sql in master
                     if kind == "table" and sql}
        pks = _multi(insp, "get_multi_pk_constraint", schema, names)
        indexes = _multi(insp, "get_multi_indexes", schema, names)
        uniques = _multi(insp, "get_multi_unique_constraints", schema, names)
        checks = _multi(insp, "get_multi_check_constraints", schema, names)
        fks = _multi(insp, "get_multi_foreign_keys", schema, names)
        for key, cols in columns.items():
            name = key[1]
            if name in skip:
                continue
            full = f"{schema}.{name}" if schema else name
            pk = pks.get(key) or {}
            table: dict[str, Any] = {
                "columns": {
                    c["name"]: (
                        _type_text(c["type"], dialect),
                        "NULL" if c.get("nullable", True) else "NOT NULL",
                        _default(c, dialect.name),
                        _computed(c, generated.get(name) if master else None,
                                  dialect.name),
                        c.get("comment") or None,
                    )
                    for c in cols
                },
                "comment": (comments.get(key) or {}).get("text") or None,
                "primary key": tuple(pk.get("constrained_columns") or ()),
                "indexes": {
                    **expression_indexes.get(name, {}),
                    **{i["name"]: (tuple(str(x) for x in (i.get("column_names") or ())
                                         if x is not None)
                                   + tuple(_sql(e) for e in (i.get("expressions") or ())
                                           if e is not None),
                                   bool(i.get("unique")),
                                   _index_options(i, wheres.get(i["name"]) if master
                                                  else None, dialect.name))
                       for i in indexes.get(key, []) if i.get("name")},
                },
                "unique constraints": {
                    u.get("name") or "(" + ", ".join(u["column_names"]) + ")":
                        tuple(u["column_names"])
                    for u in uniques.get(key, [])
                },
                "check constraints": {
                    c.get("name") or _sql(c.get("sqltext")): _sql(c.get("sqltext"))
                    for c in checks.get(key, [])
                },
                "foreign keys": {
                    f.get("name") or "(" + ", ".join(f["constrained_columns"]) + ")": (
                        tuple(f["constrained_columns"]),
                        f"{f['referred_schema']}.{f['referred_table']}"
                        if f.get("referred_schema") else f["referred_table"],
                        tuple(f["referred_columns"]),
                        tuple(sorted((k, str(v)) for k, v in (f.get("options") or {}).items())),
                    )
                    for f in fks.get(key, [])
                },
            }
            out[full] = table
            if prints is not None and cache is not None:
                cache[full] = (prints.get(name), table)
    return out


def _sqlite_indexes(rows: list[tuple[str, str, str, str | None]]
                    ) -> tuple[dict[str, dict[str, Any]], dict[str, str | None]]:
    """SQLite's indexes read from their statements in ``sqlite_master``: the
    expression-based ones (``ON users (lower(email))``) per table, which SQLAlchemy skips
    when it reflects (with a warning), so a downgrade that leaves one behind would pass
    unseen; and every index's WHERE predicate by index name (None: not partial)."""
    out: dict[str, dict[str, Any]] = {}
    wheres: dict[str, str | None] = {}
    for table, kind, name, sql in rows:
        if kind != "index" or not sql:
            continue
        parsed = index_parts(sql)
        # what SQLAlchemy reflects (an index on plain columns) replaces this entry
        parts, where, unique = parsed if parsed is not None else (_sql(sql), None, False)
        wheres[name] = where
        out.setdefault(table, {})[name] = ((_sql(parts),), unique,
                                           (Expression(_sql(where), before="where ",
                                                       dialect="sqlite"),)
                                           if where else ())
    return out, wheres


def _default(column: dict[str, Any], dialect: str) -> str | None:
    """A column's server default (normalised like the drift check does), or how the
    database numbers its rows: PostgreSQL's identity (``identity by default, start 1,
    increment 1``), MySQL's ``auto_increment``. A downgrade that takes those away or
    changes them gives back a column whose inserts fail."""
    identity = column.get("identity")
    if identity:
        return (f"identity {'always' if identity.get('always') else 'by default'}, "
                f"start {identity.get('start')}, increment {identity.get('increment')}")
    if dialect in ("mysql", "mariadb") and column.get("autoincrement") is True:
        return "auto_increment"
    if column.get("default") is not None:
        return normalize_default(column["default"])
    return None


def _computed(column: dict[str, Any], generated: dict[str, tuple[str, bool]] | None,
              dialect: str) -> str | None:
    """A generated column's expression (and STORED when it is), None for a plain column;
    on SQLite from the table's statement (``generated``: see :mod:`.sqlite_ddl`)."""
    text: Any
    if generated is not None:
        found = generated.get(column["name"])
        if found is None:
            return None
        text, stored = found
    else:
        computed = column.get("computed") or {}
        text, stored = computed.get("sqltext"), bool(computed.get("persisted"))
    return Expression(_sql(text), after=" STORED" if stored else "",
                      dialect=dialect) if _sql(text) else None


def _option_text(value: Any) -> str:
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}={v}" for k, v in sorted(value.items())) + ")"
    if isinstance(value, list | tuple):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return _sql(value)


def _index_options(index: dict[str, Any], where: str | None, dialect: str
                   ) -> tuple[str, ...]:
    """What an index is besides its columns: the order of its columns, its dialect's
    options (PostgreSQL's method, INCLUDE columns, operator classes, storage; MySQL's
    FULLTEXT or prefix lengths) and, last, its WHERE predicate. ``where`` (SQLite's, read
    from the statement) stands for the one SQLAlchemy reflects."""
    out = [f"{col} {' '.join(flags)}"
           for col, flags in sorted((index.get("column_sorting") or {}).items()) if flags]
    for key, value in sorted((index.get("dialect_options") or {}).items()):
        short = key.split("_", 1)[-1]
        if short == "where":
            where = where if where is not None else _sql(value) or None
        elif value not in (None, "", False, [], {}, ()):
            out.append(f"{short} {_option_text(value)}")
    if where:
        out.append(Expression(_sql(where), before="where ", dialect=dialect))
    return tuple(out)


def _other_objects(conn: Any, insp: Any, schema: str | None, skip: set[str],
                   out: Snapshot) -> None:
    """The views (with their definitions) and, on PostgreSQL, the materialized views and
    the enum types (with their values) of ``schema``, into ``out``."""
    kinds = [("view", "get_view_names")]
    if conn.dialect.name == "postgresql":
        kinds.append(("materialized view", "get_materialized_view_names"))
    for kind, method in kinds:
        try:
            names = getattr(insp, method)(schema=schema)
        except NotImplementedError:
            continue
        for name in names:
            if name in skip:
                continue
            try:
                definition = _sql(insp.get_view_definition(name, schema=schema))
            except NotImplementedError:
                definition = ""
            out[f"{schema}.{name}" if schema else name] = {"kind": kind,
                                                           "definition": definition}
    out.update(routines_and_triggers(conn, schema, skip))
    if conn.dialect.name == "postgresql":
        for name in _pg_sequences(conn, schema or conn.dialect.default_schema_name):
            if name not in skip:
                out[f"{schema}.{name}" if schema else name] = {"kind": "sequence",
                                                               "definition": ""}
        for enum in insp.get_enums(schema=schema or conn.dialect.default_schema_name):
            out[f"{schema}.{enum['name']}" if schema else enum["name"]] = {
                "kind": "enum type", "values": tuple(enum.get("labels") or ())}


def _pg_sequences(conn: Any, schema: str) -> list[str]:
    """The sequences of ``schema`` that no column owns (``CREATE SEQUENCE``, ``sa.Sequence``):
    a serial or identity column's own sequence goes with its table, and its column says
    how it numbers rows."""
    return [str(r[0]) for r in conn.execute(sa.text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'S' AND n.nspname = :schema AND NOT EXISTS ("
        "SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
        "AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass "
        "AND d.deptype IN ('a', 'i')) ORDER BY c.relname"), {"schema": schema})]


@dataclass
class Difference:
    """One difference between an expected and an actual snapshot."""

    #: "extra" (only in actual), "missing" (only in expected) or "changed".
    change: str
    #: e.g. ("column", "users", "nickname")
    kind: str
    table: str
    name: str | None = None
    expected: Any = None
    actual: Any = None

    @property
    def target(self) -> str:
        if self.kind in _OBJECTS:
            return f"{self.kind} {self.table}"
        if self.kind == "comment":
            return f"comment of table {self.table}"
        if self.kind == "column":
            return f"column {self.table}.{self.name}"
        if self.kind == "primary key":
            return f"primary key of {self.table}"
        return f"{_SINGULAR.get(self.kind, self.kind)} {self.name} on {self.table}"


_COLUMN_PARTS = ("type", "nullable", "default", "computed", "comment")
#: What a snapshot holds besides tables, and tables themselves: objects of a schema.
_OBJECTS = ("table", "view", "materialized view", "enum type", "sequence", "function",
            "procedure", "trigger")
_SINGULAR = {"indexes": "index", "unique constraints": "unique constraint",
             "check constraints": "check constraint", "foreign keys": "foreign key"}


def _describe_value(kind: str, value: Any) -> str:
    if kind == "column" and isinstance(value, tuple):
        type_, null, default, computed, comment = value
        parts = [type_, null]
        if default is not None:
            numbering = default.startswith("identity ") or default == "auto_increment"
            parts.append(default if numbering else f"default {default}")
        if computed:
            parts.append(f"computed {computed}")
        if comment:
            parts.append(f"comment {comment!r}")
        return " ".join(parts)
    if kind == "enum type" and isinstance(value, tuple):
        return "values (" + ", ".join(repr(v) for v in value) + ")"
    if kind in ("view", "materialized view", "comment", "function", "procedure", "trigger"):
        return repr(value) if value is not None else "none"
    if kind == "indexes" and isinstance(value, tuple):
        cols, unique, options = value
        return f"{'unique ' if unique else ''}({', '.join(cols)})" + "".join(
            " " + o for o in options)
    if isinstance(value, tuple):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


def diff_snapshots(expected: Snapshot, actual: Snapshot) -> list[Difference]:
    """What ``actual`` has that ``expected`` does not, lacks, or has differently."""
    out: list[Difference] = []
    for table in sorted(set(expected) | set(actual)):
        e, a = expected.get(table), actual.get(table)
        e_kind = e.get("kind", "table") if e is not None else None
        a_kind = a.get("kind", "table") if a is not None else None
        if e_kind != a_kind:
            if e_kind is not None:
                out.append(Difference("missing", e_kind, table))
            if a_kind is not None:
                out.append(Difference("extra", a_kind, table))
            continue
        assert e is not None and a is not None
        if e_kind != "table":
            field_ = "values" if e_kind == "enum type" else "definition"
            if e[field_] != a[field_]:
                out.append(Difference("changed", str(e_kind), table, None, e[field_],
                                      a[field_]))
            continue
        if e.get("comment") != a.get("comment"):
            out.append(Difference("changed", "comment", table, None, e.get("comment"),
                                  a.get("comment")))
        if e["primary key"] != a["primary key"]:
            out.append(Difference("changed", "primary key", table, None,
                                  e["primary key"], a["primary key"]))
        for section in ("columns", "indexes", "unique constraints", "check constraints",
                        "foreign keys"):
            kind = "column" if section == "columns" else section
            es, as_ = e[section], a[section]
            for name in sorted(set(es) | set(as_), key=str):
                if name not in as_:
                    out.append(Difference("missing", kind, table, name, es[name], None))
                elif name not in es:
                    out.append(Difference("extra", kind, table, name, None, as_[name]))
                elif es[name] != as_[name]:
                    out.append(Difference("changed", kind, table, name, es[name], as_[name]))
    return out


def _part(label: str, value: Any) -> str:
    if value is None:
        return "none"
    return repr(value) if label == "comment" else str(value)


def describe_difference(d: Difference, *, expected_label: str, actual_label: str) -> str:
    """A line such as ``column users.nickname: exists after the downgrade, not before the
    upgrade``."""
    if d.change == "extra":
        shown = f" ({_describe_value(d.kind, d.actual)})" if d.kind not in _OBJECTS else ""
        return f"{d.target}{shown}: exists {actual_label}, not {expected_label}"
    if d.change == "missing":
        shown = f" ({_describe_value(d.kind, d.expected)})" if d.kind not in _OBJECTS else ""
        return f"{d.target}{shown}: existed {expected_label}, missing {actual_label}"
    if d.kind == "column":
        parts = []
        for label, ev, av in zip(_COLUMN_PARTS, d.expected, d.actual, strict=True):
            if ev != av:
                parts.append(f"{label} {_part(label, ev)} {expected_label}, "
                             f"{_part(label, av)} {actual_label}")
        return f"{d.target}: " + "; ".join(parts)
    return (f"{d.target}: {_describe_value(d.kind, d.expected)} {expected_label}, "
            f"{_describe_value(d.kind, d.actual)} {actual_label}")


def undo_hint(d: Difference) -> str | None:
    """The operation that removes something a downgrade left behind, if it is simple."""
    schema, _, table = d.table.rpartition(".")
    extra = f", schema={schema!r}" if schema else ""
    if d.change != "extra":
        return None
    if d.kind == "table":
        return f"op.drop_table({table!r}{extra})"
    if d.kind in ("view", "materialized view"):
        return f"op.execute({f'DROP {d.kind.upper()} {d.table}'!r})"
    if d.kind == "enum type":
        return f"sa.Enum(name={table!r}{extra}).drop(op.get_bind(), checkfirst=True)"
    if d.kind == "sequence":
        return f"op.execute({f'DROP SEQUENCE {d.table}'!r})"
    if d.kind in ("function", "procedure", "trigger"):
        return f"op.execute({drop_statement(d.kind, d.table)!r})"
    if d.kind == "column":
        return f"op.drop_column({table!r}, {d.name!r}{extra})"
    if d.kind == "indexes":
        return f"op.drop_index({d.name!r}, table_name={table!r}{extra})"
    if d.kind == "unique constraints" and d.name and not d.name.startswith("("):
        return f"op.drop_constraint({d.name!r}, {table!r}, type_='unique'{extra})"
    if d.kind == "foreign keys" and d.name and not d.name.startswith("("):
        return f"op.drop_constraint({d.name!r}, {table!r}, type_='foreignkey'{extra})"
    if d.kind == "check constraints" and d.name:
        return f"op.drop_constraint({d.name!r}, {table!r}, type_='check'{extra})"
    return None
