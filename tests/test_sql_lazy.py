"""A statement's sqlglot summary is made on first read of a field that needs it, and
then equals the summary made at once; SQL that no rule looks into is never parsed, and
splitting one dialect's SQL loads only that dialect of sqlglot."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import pytest

from sluice.config import SluiceConfig
from sluice.core.ops import Op
from sluice.rules import _sql, _sqltree
from sluice.rules._sql import Stmt, _fill
from sluice.rules._util import new_tables_before, sql_statements
from sluice.rules.registry import RuleContext
from tests.support.cli import run_process

#: Statements of every kind, with the inputs that trip a splitter or a keyword check:
#: quotes, dollar quotes, comments, semicolons and CREATE inside strings, lower case.
SAMPLES = [
    "UPDATE t SET a = 1 WHERE id = 3",
    "update t set a = b.c from b where t.id = b.id",
    "UPDATE t SET a = 'x;y' -- c; d\nWHERE id IN (SELECT id FROM u LIMIT 5)",
    "DELETE FROM t USING u WHERE t.id = u.id",
    "delete from t",
    "INSERT INTO t (a) SELECT a FROM u",
    "insert into t values ('create table x (id int)')",
    "WITH x AS (SELECT 1) UPDATE t SET a = 1",
    "WITH x AS (SELECT 1) SELECT * FROM x",
    "CREATE TABLE t (id int)", "create table if not exists s.t2 (id int)",
    "CREATE TEMP TABLE t3 AS SELECT 1",
    "CREATE UNIQUE INDEX CONCURRENTLY ix ON t (a)", "create index ix on t using gin (a)",
    "DROP INDEX CONCURRENTLY IF EXISTS ix", "DROP TABLE a, b", "TRUNCATE a, b",
    "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT now(), DROP COLUMN d",
    "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id) NOT VALID",
    "ALTER TABLE t RENAME CONSTRAINT a TO b", "ALTER TABLE t ALTER COLUMN c TYPE text",
    "alter table t rename to u", "ALTER TABLE t ALGORITHM=INPLACE, ADD COLUMN c int",
    "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN NEW.a := 'CREATE TABLE x'; END $$ "
    "LANGUAGE plpgsql",
    "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE PROCEDURE f()",
    "COMMENT ON TABLE t IS 'create table y; drop table z'",
    "DO $tag$ BEGIN EXECUTE 'DROP TABLE t'; END $tag$", "GRANT SELECT ON t TO u",
    "VACUUM FULL t", "REINDEX TABLE CONCURRENTLY t", "SET lock_timeout = '1s'",
    "/* create table c */ SELECT 1", "SELECT 'a' || \"b\" FROM `c`",
    "UPDATE t SET a = 'unterminated",
]
DIALECTS = ["postgresql", "mysql", "sqlite", None]


def eager(text: str, dialect: str | None) -> Stmt:
    """The statement summarised at once (what :func:`_sql.statements` gave before it
    deferred the sqlglot part)."""
    norm = _sql._normalise(text)
    stmt = Stmt(kind=next((name for pattern, name in _sql._KINDS
                           if _sql.re.match(pattern + r"\b", norm)), "OTHER"),
                text=text, norm=norm)
    m = _sql.re.search(r"\bALGORITHM\s*=?\s*(\w+)", norm)
    stmt.algorithm = m.group(1) if m else None
    _fill(stmt, dialect)
    return stmt


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("text", SAMPLES)
def test_deferred_summary_equals_eager(text: str, dialect: str | None) -> None:
    _sql._parse_cached.cache_clear()
    (stmt,) = _sql.statements(text, dialect)
    want = eager(text, dialect)
    assert (stmt.kind, stmt.text, stmt.norm) == (want.kind, want.text, want.norm)
    # fields read one by one, in an order no rule uses, give the same values
    for name in reversed([f.name for f in dataclasses.fields(Stmt)]):
        assert getattr(stmt, name) == getattr(want, name), (name, text, dialect)
    assert dataclasses.asdict(stmt) == dataclasses.asdict(want)


def test_other_attribute_lookups_leave_a_deferred_statement_deferred() -> None:
    """copy, hasattr and the like look up names a statement does not have; its fields
    are still filled on first read, and a copy fills its own."""
    import copy  # lazy: only this test copies statements

    _sql._parse_cached.cache_clear()
    (stmt,) = _sql.statements("UPDATE t SET a = now() WHERE id = 1", "postgresql")
    assert not hasattr(stmt, "__deepcopy__") and not hasattr(stmt, "no_such_field")
    twin = copy.deepcopy(stmt)
    assert (stmt.where, stmt.table, stmt.sets) == ("id = 1", "t", [("a", "CURRENT_TIMESTAMP()")])
    assert dataclasses.asdict(twin) == dataclasses.asdict(stmt)


def test_a_failed_fill_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    _sql._parse_cached.cache_clear()
    (stmt,) = _sql.statements("UPDATE t SET a = now() WHERE id = 1", "postgresql")

    def broken(*args: Any) -> None:
        raise RuntimeError("broken")

    monkeypatch.setattr(_sqltree, "fill_from_tree", broken)
    with pytest.raises(RuntimeError):
        stmt.where  # noqa: B018 - the read fills the fields
    monkeypatch.undo()
    assert stmt.where == "id = 1"


KIND_WORDS = ["CREATE", "UNIQUE", "INDEX", "DROP", "TABLE", "TEMPORARY", "GLOBAL", "TEMP",
              "UNLOGGED", "SCHEMA", "DATABASE", "TYPE", "MATERIALIZED", "VIEW", "TRUNCATE",
              "ALTER", "SYSTEM", "TABLESPACE", "RENAME", "VACUUM", "CLUSTER", "LOCK", "TABLES",
              "REINDEX", "REFRESH", "UPDATE", "DELETE", "INSERT", "REPLACE", "SELECT", "WITH",
              "OPTIMIZE", "SET", "LOCAL", "X", "UPDATES", "SETTING", "(", "1"]


@pytest.mark.parametrize("seed", range(5))
def test_a_statement_kind_is_the_first_kind_pattern_that_matches(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kind comes from one pattern of every kind (no pattern tried one by one), and is
    the first of ``_KINDS`` that matches."""
    import random  # lazy: only this test draws random statements

    rng = random.Random(seed)
    texts = SAMPLES + [" ".join(rng.choice(KIND_WORDS) for _ in range(rng.randrange(1, 5)))
                       for _ in range(300)]
    expected = [next((name for pattern, name in _sql._KINDS
                      if _sql.re.match(pattern + r"\b", _sql._normalise(t))), "OTHER")
                for t in texts]

    def refuse(*args: Any) -> None:
        raise AssertionError("a kind pattern tried alone")

    monkeypatch.setattr(_sql.re, "match", refuse)
    # (a WITH statement's kind comes from its tree: left out)
    kinds = [(t, _sql._summarise(t, None).kind) for t, e in zip(texts, expected, strict=True)
             if e != "WITH"]
    assert kinds == [(t, e) for t, e in zip(texts, expected, strict=True) if e != "WITH"]


def test_statements_of_no_interest_are_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(_sqltree, "fill_from_tree", refuse)
    _sql._parse_cached.cache_clear()
    stmts = _sql.statements("CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql;\n"
                            "COMMENT ON TABLE t IS 'x'", "postgresql")
    assert [(s.kind, s.algorithm) for s in stmts] == [("OTHER", None), ("OTHER", None)]
    config = SluiceConfig()
    ops = [Op("execute", line=1, sql="GRANT SELECT ON t TO u"),
           Op("add_column", line=2, table="t")]
    ctx = RuleContext(config=config, dialect="postgresql", ops=ops)
    assert [is_new for _, is_new in sql_statements(ops[0], ctx)] == [False]
    assert new_tables_before(ops[1], ctx) == set()


@pytest.mark.parametrize("sql, parsed", [
    ("INSERT INTO log (a) VALUES (now())", False),
    ("CREATE TRIGGER tr AFTER INSERT ON other FOR EACH ROW EXECUTE PROCEDURE f()", False),
    ("INSERT INTO Users (a) VALUES (1)", True),
    ("INSERT INTO \"users\" (a) VALUES (1)", True),
    ("INSERT INTO log (a) VALUES (U&'\\0075sers')", True),
])
def test_sql_not_naming_a_new_table_is_not_parsed_to_ask(sql: str, parsed: bool,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether a statement works on a table the revision created is asked of its parsed
    table only when the statement spells one of those tables."""
    calls: list[str] = []
    real = _sqltree.fill_from_tree
    monkeypatch.setattr(_sqltree, "fill_from_tree",
                        lambda stmt, text, dialect: (calls.append(text),
                                                     real(stmt, text, dialect))[1])
    _sql._parse_cached.cache_clear()
    ops = [Op("create_table", line=1, table="users"), Op("execute", line=2, sql=sql)]
    ctx = RuleContext(config=SluiceConfig(), dialect="postgresql", ops=ops)
    on_new = [is_new for _, is_new in sql_statements(ops[1], ctx)]
    assert bool(calls) is parsed
    assert on_new == [sql.startswith("INSERT INTO Users") or "\"users\"" in sql]


@pytest.mark.parametrize("sql, created", [
    ("create table t1 (id int)", {("", "t1")}),
    ("CREATE TABLE IF NOT EXISTS s.T2 (id int); create temp table t3 (a int)",
     {("s", "t2"), ("", "t3")}),
    ("CREATE TEMPORARY TABLE t (id int); CREATE GLOBAL TEMPORARY TABLE t5 (id int)",
     {("", "t"), ("", "t5")}),
    ("CREATE TEMPORARY TABLE t (id int); DROP TABLE t", set()),
    ('CREATE UNLOGGED TABLE "Audit"."t6" (id int)', {("audit", "t6")}),
    ("INSERT INTO log VALUES ('create table x (id int)')", set()),
    ("-- create table y\nUPDATE t SET a = 1", set()),
    ("CrEaTe TaBlE t4 (id int)", {("", "t4")}),
    ("CREATE INDEX ix ON t (a)", set()),
])
def test_tables_created_by_raw_sql(sql: str, created: set[tuple[str, str]]) -> None:
    """Each in its schema ("": the default one); a temporary table until it is dropped
    (while it exists, its name without a schema is that table)."""
    ops = [Op("execute", line=1, sql=sql), Op("add_column", line=2, table="t")]
    ctx = RuleContext(config=SluiceConfig(), dialect="postgresql", ops=ops)
    assert new_tables_before(ops[1], ctx) == created
    assert {name for _, name in created} <= {s.table for s in _sql.statements(sql, "postgresql")
                                              if s.kind == "CREATE TABLE" and s.table}


@pytest.mark.parametrize("sql, on_new", [
    ("ALTER TABLE users DROP COLUMN a", False),
    ("ALTER TABLE audit.users DROP COLUMN a", True),
    ('ALTER TABLE "audit"."users" DROP COLUMN a', True),
    ("ALTER TABLE sales.users DROP COLUMN a", False),
    ("ALTER TABLE tmp DROP COLUMN a", True),
])
def test_a_statement_is_on_a_new_table_in_its_own_schema(sql: str, on_new: bool) -> None:
    ops = [Op("execute", line=1, sql="CREATE TABLE audit.users (id int); "
                                     "CREATE TEMP TABLE tmp (a int)"),
           Op("execute", line=2, sql=sql)]
    ctx = RuleContext(config=SluiceConfig(), dialect="postgresql", ops=ops)
    assert [is_new for _, is_new in sql_statements(ops[1], ctx)] == [on_new]


@pytest.mark.parametrize("drop", [Op("execute", line=2, sql="DROP TABLE IF EXISTS tmp"),
                                  Op("drop_table", line=2, table="tmp")])
def test_a_temporary_table_stands_for_its_name_until_it_is_dropped(drop: Op) -> None:
    ops = [Op("execute", line=1, sql="CREATE TEMPORARY TABLE tmp AS SELECT id FROM tmp"),
           drop, Op("execute", line=3, sql="ALTER TABLE tmp DROP COLUMN a")]
    ctx = RuleContext(config=SluiceConfig(), dialect="postgresql", ops=ops)
    assert new_tables_before(drop, ctx) == {("", "tmp")}  # the drop is of the temporary
    assert [is_new for _, is_new in sql_statements(ops[2], ctx)] == [False]


@pytest.mark.parametrize("dialect, module", [
    ("postgresql", "postgres"), ("mysql", "mysql"), ("sqlite", "sqlite"), ("mssql", "tsql"),
])
def test_splitting_loads_only_the_dialect_split(dialect: str, module: str) -> None:
    code = ("import sys\nfrom sluice.core.sql import split_sql\n"
            f"print(split_sql(\"SELECT E'a;b'; SELECT 2\", {dialect!r}))\n"
            "print(sorted(m for m in sys.modules if m.startswith('sqlglot.dialects.')))")
    done = run_process([sys.executable, "-c", code], check=True)
    pieces, modules = done.stdout.splitlines()
    assert pieces == "[\"SELECT E'a;b'\", 'SELECT 2']"
    assert modules == str(sorted({"sqlglot.dialects.dialect", f"sqlglot.dialects.{module}"}))
