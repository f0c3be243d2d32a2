"""The summaries of simple UPDATE/DELETE statements made without sqlglot
(sluice.rules._sqlfast) equal sqlglot's, and one-statement SQL is split as
sluice.core.sql splits it."""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Callable

import pytest
from sqlglot.dialects.mysql import MySQL
from sqlglot.dialects.postgres import Postgres
from sqlglot.dialects.sqlite import SQLite
from sqlglot.tokens import Tokenizer

from sluice.core.sql import split_sql
from sluice.rules import _sql
from sluice.rules._batched import sqlglot_literals
from sluice.rules._sql import Stmt, _from_text, _no_real_where, _normalise
from sluice.rules._sqlfast import (
    _KEYWORD_COLUMNS,
    KEYWORDS,
    simple_literals,
    simple_statement,
)
from sluice.rules._sqltree import fill_from_tree

DIALECTS = ["postgresql", "mysql", "sqlite", None]


def summary(text: str, dialect: str | None, *, fast: bool) -> tuple[bool, Stmt]:
    """Stmt as _summarise builds it, through the fast path or through sqlglot."""
    norm = _normalise(text)
    kind = next((name for pattern, name in _sql._KINDS if re.match(pattern + r"\b", norm)),
                "OTHER")
    stmt = Stmt(kind=kind, text=text, norm=norm)
    stmt.concurrently = bool(re.search(r"\bCONCURRENTLY\b", norm))
    used = simple_statement(stmt, text) if fast else False
    if not used:
        fill_from_tree(stmt, text, dialect)
    _from_text(stmt)
    _no_real_where(stmt)
    return used, stmt


def test_keywords_cover_sqlglot() -> None:
    words = set()
    for tokenizer in (Tokenizer, Postgres.Tokenizer, MySQL.Tokenizer, SQLite.Tokenizer):
        words |= {k.split()[0].upper() for k in tokenizer.KEYWORDS
                  if k.split()[0].replace("_", "").isalnum()}
    assert words <= KEYWORDS


NAMES = ["t", "t2", "users", "T2", "Mixed_Case", "_x", "id", "c6", "status", "type", "date",
         "key", "user", "order", "select", "value", "name", "current_date", "is", "null",
         "set", "where", "and", "or", "limit", "from", "default", "time", "text", "t.id",
         "roles.user_name", "T2.Col", "x.select", "select.x", "a.b.c", "if", "exists", "to"]
VALUES = ["0", "1", "-1", "-0", "42", "007", "1.5", "NULL", "null", "TRUE", "true", "False",
          "'x'", "''", "'a b'", "'it''s'", "'a, b'", "'x AND y = 1'", "'where'", "'back\\\\'",
          "now()", "CURRENT_TIMESTAMP", "c6", "'é'", "1e3", "$$x$$", "\"q\"", "u.b",
          "accounts_user.id", "nullx", "t.null", "a.date", "x"]
OPS = ["=", "<", ">", "<=", ">=", "<>", "!=", " IS NULL", " is null", " IS NOT NULL", "<-",
       " = ", " <", "==", " LIKE "]
SPACES = [" ", "  ", "\n", "\t", "\n    "]


def random_statement(rng: random.Random) -> str:
    ws = lambda: rng.choice(SPACES)  # noqa: E731
    conds = []
    for _ in range(rng.randrange(1, 4)):
        op = rng.choice(OPS)
        cond = rng.choice(NAMES) + op
        if "NULL" not in op.upper():
            cond += rng.choice(["", " "]) + rng.choice(VALUES)
        conds.append(cond)
    where = (ws() + rng.choice(["WHERE", "where"]) + ws()
             + (ws() + rng.choice(["AND", "and", "OR"]) + ws()).join(conds)
             if rng.random() < 0.8 else "")
    if rng.random() < 0.5:
        sets = rng.choice([", ", ",", " , ", ",\n"]).join(
            f"{rng.choice(NAMES)}{rng.choice(['=', ' = '])}{rng.choice(VALUES)}"
            for _ in range(rng.randrange(1, 4)))
        source = (f"{ws()}{rng.choice(['FROM', 'from'])}{ws()}{rng.choice(NAMES)}"
                  if rng.random() < 0.4 else "")
        return (f"{rng.choice(['UPDATE', 'update'])}{ws()}{rng.choice(NAMES)}{ws()}"
                f"{rng.choice(['SET', 'set'])}{ws()}{sets}{source}{where}")
    return f"{rng.choice(['DELETE', 'delete'])}{ws()}FROM{ws()}{rng.choice(NAMES)}{where}"


def assert_fast_equals_sqlglot(make: Callable[[random.Random], str], seed: int,
                               count: int) -> None:
    """``count`` statements of ``make``: the fast summary equals sqlglot's in every dialect,
    and the fast path took at least one of them."""
    rng = random.Random(seed)
    used_any = False
    for _ in range(count):
        text = make(rng)
        for dialect in DIALECTS:
            used, fast = summary(text, dialect, fast=True)
            _, slow = summary(text, dialect, fast=False)
            assert dataclasses.asdict(fast) == dataclasses.asdict(slow), (text, dialect)
            used_any = used_any or used
    assert used_any


@pytest.mark.parametrize("seed", range(40))
def test_fast_summary_equals_sqlglot(seed: int) -> None:
    assert_fast_equals_sqlglot(random_statement, seed, 120)


@pytest.mark.parametrize("word", sorted(KEYWORDS))
def test_a_keyword_after_a_dot_is_read_as_sqlglot_reads_it(word: str) -> None:
    """``table.<keyword>``: the fast path reads it as sqlglot does, or leaves it."""
    for w in (word, word.lower()):
        for text in (f"UPDATE t SET a = u.{w} FROM u WHERE t.{w} = u.{w} AND u.{w} IS NULL",
                     f"DELETE FROM t WHERE t.{w} < 3 AND x = t.{w}"):
            for dialect in DIALECTS:
                _, fast = summary(text, dialect, fast=True)
                _, slow = summary(text, dialect, fast=False)
                assert dataclasses.asdict(fast) == dataclasses.asdict(slow), (text, dialect)
            for sql in [slow.where or "", *(value for _, value in slow.sets)]:
                literals = simple_literals(sql)
                assert literals is None or literals == sqlglot_literals(sql), sql


@pytest.mark.parametrize("word", sorted(_KEYWORD_COLUMNS))
def test_a_keyword_indexed_column_is_read_as_sqlglot_reads_it(word: str) -> None:
    for w in (word, word.lower()):
        for text in (f"CREATE INDEX ix ON t ({w})", f"CREATE UNIQUE INDEX ix ON t (a, {w} DESC)",
                     f"CREATE INDEX CONCURRENTLY ix ON t USING gin ({w} gin_trgm_ops)"):
            for dialect in DIALECTS:
                used, fast = summary(text, dialect, fast=True)
                _, slow = summary(text, dialect, fast=False)
                assert used
                assert dataclasses.asdict(fast) == dataclasses.asdict(slow), (text, dialect)


DDL_NAMES = ["ix", "users_pkey", "Mixed_Ix", "_a1", "s.ix", "index", "if", "exists", "to",
             "concurrently", "cascade", "only", "constraint", "rename", "key", "select", "\"q\""]


INDEX_ITEMS = ["a", "state_name", "name", "Date", "name gin_trgm_ops", "b DESC", "c asc", "d text_pattern_ops desc",
               "lower(a)", "a NULLS FIRST", "a COLLATE \"C\"", "(a + 1)", "a desc desc", "key",
               "a b c", "date", "a include", "x.y", "\"q\""]


def random_ddl(rng: random.Random) -> str:
    ws = lambda: rng.choice(SPACES)  # noqa: E731
    name = lambda: rng.choice(DDL_NAMES)  # noqa: E731
    tail = rng.choice(["", "", "", " CASCADE", ", ix2", " ON t", ";"])
    if rng.random() < 0.4:
        items = rng.choice([",", ", ", " , "]).join(
            rng.choice(INDEX_ITEMS) for _ in range(rng.randrange(1, 4)))
        return (f"{rng.choice(['CREATE', 'create'])}{rng.choice(['', ws() + 'UNIQUE'])}{ws()}"
                f"INDEX{rng.choice(['', ws() + 'CONCURRENTLY'])}"
                f"{rng.choice(['', ws() + 'IF NOT EXISTS', ws() + 'if' + ws() + 'not exists'])}"
                f"{ws()}{name()}{ws()}{rng.choice(['ON', 'on'])}{ws()}{name()}"
                f"{rng.choice(['', ws() + 'USING gin', ws() + 'using' + ws() + name()])}"
                f"{rng.choice(['', ' ', ws()])}({items})"
                f"{rng.choice(['', '', ' WHERE a > 1', ' INCLUDE (b)', ';', ' x'])}")
    if rng.random() < 0.5:
        return (f"{rng.choice(['DROP', 'drop'])}{ws()}{rng.choice(['INDEX', 'index'])}"
                f"{rng.choice(['', ws() + 'CONCURRENTLY', ws() + 'concurrently'])}"
                f"{rng.choice(['', ws() + 'IF EXISTS', ws() + 'if' + ws() + 'exists'])}"
                f"{ws()}{name()}{tail}")
    return (f"{rng.choice(['ALTER', 'alter'])}{ws()}TABLE{ws()}{name()}{ws()}"
            f"{rng.choice(['RENAME', 'rename'])}{ws()}{rng.choice(['CONSTRAINT', 'constraint'])}"
            f"{ws()}{name()}{ws()}{rng.choice(['TO', 'to'])}{ws()}{name()}{tail}")


@pytest.mark.parametrize("seed", range(20))
def test_fast_ddl_summary_equals_sqlglot(seed: int) -> None:
    assert_fast_equals_sqlglot(random_ddl, seed, 100)


@pytest.mark.parametrize("text", [
    "UPDATE t2 SET c6 = NULL WHERE id < 0",
    "UPDATE roles SET user_id = accounts_user.id FROM accounts_user\n"
    "    WHERE roles.user_name = accounts_user.username",
    "UPDATE releases SET project_id = packages.id FROM packages WHERE releases.name = packages.name",
    "DROP INDEX releases_name_ts_idx", "drop index concurrently if exists ix",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_flow_run__state_name ON flow_run(state_name)",
    "CREATE INDEX CONCURRENTLY trgm_ix ON flow USING gin (name gin_trgm_ops)",
    "ALTER TABLE users\n    RENAME CONSTRAINT accounts_user_pkey\n    TO users_pkey",
    "DELETE FROM t1 WHERE id < 0",
    "delete from t1",
    "UPDATE users SET active = TRUE, note = 'x' WHERE id >= 10 AND status IS NULL",
])
def test_common_data_fixes_take_the_fast_path(text: str) -> None:
    used, fast = summary(text, "postgresql", fast=True)
    assert used
    assert dataclasses.asdict(fast) == dataclasses.asdict(summary(text, "postgresql",
                                                                   fast=False)[1])


@pytest.mark.parametrize("sql", [
    "UPDATE t SET a = 1", "  \n  UPDATE t SET a = 1  \n", "UPDATE t SET a = 'x' -- note\n",
    "SELECT 1\nGO", "SELECT 1\n/\n", "select 'a' /* b */", "UPDATE t SET a = 'unterminated",
    "DO $$ BEGIN PERFORM 1 END $$", "BEGIN", "CREATE TRIGGER x BEGIN UPDATE t SET a = 1 END",
])
@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "sqlite", "mssql", None])
def test_one_statement_split_as_split_sql(sql: str, dialect: str | None) -> None:
    _sql._parse_cached.cache_clear()
    pieces = [s.text for s in _sql.statements(sql, dialect)]
    assert pieces == split_sql(sql, dialect)


@pytest.mark.parametrize("seed", range(20))
def test_fast_literals_equal_sqlglot_tokens(seed: int) -> None:
    """The fix's bind parameters (batched_snippet) read from a simple WHERE without
    sqlglot are the ones sqlglot's tokenizer finds."""
    rng = random.Random(seed)
    used = 0
    for _ in range(60):
        text = random_statement(rng)
        _, stmt = summary(text, "postgresql", fast=False)
        for sql in [stmt.where or "", *(value for _, value in stmt.sets)]:
            fast = simple_literals(sql)
            if fast is not None:
                used += 1
                assert fast == sqlglot_literals(sql), sql
    assert used


NO_TREE_SAMPLES = [
    "SET statement_timeout = 120000", "SET LOCAL lock_timeout = '5s'",
    "set search_path to public", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
    "SET NAMES utf8mb4", "SET @x = (SELECT 1)", "SET CONSTRAINTS ALL DEFERRED",
    "SELECT 1", "SELECT * INTO new_t FROM t", "SELECT setval('s', 1)",
    "SELECT DISTINCT releases.version FROM releases", "SELECT 1 UNION SELECT 2",
    "/* note */ SELECT 1", "LOCK TABLE packages IN EXCLUSIVE MODE", "LOCK TABLES t WRITE",
    "ALTER TYPE unverifyreasons RENAME TO unverifyreasons_old", "ALTER TYPE e ADD VALUE 'x'",
    "ALTER TYPE e ADD VALUE IF NOT EXISTS 'x' AFTER 'y'", "ALTER TYPE t OWNER TO u",
    "VACUUM FULL t", "VACUUM (ANALYZE) t", "CLUSTER t USING i", "REINDEX INDEX i",
    "REINDEX TABLE CONCURRENTLY t", "REFRESH MATERIALIZED VIEW CONCURRENTLY v",
    "ALTER SYSTEM SET work_mem = '1GB'", "OPTIMIZE TABLE t",
]


@pytest.mark.parametrize("text", NO_TREE_SAMPLES)
@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "sqlite"])
def test_kinds_left_unparsed_gain_nothing_from_sqlglot(text: str, dialect: str) -> None:
    """Statements of the kinds _summarise does not parse: sqlglot's tree would change
    nothing but ``parsed``."""
    _sql._parse_cached.cache_clear()
    (fast,) = _sql.statements(text, dialect)
    assert fast.kind in _sql._NO_TREE_KINDS and not fast.parsed
    slow = Stmt(kind=fast.kind, text=text, norm=_normalise(text))
    slow.concurrently, slow.algorithm = fast.concurrently, fast.algorithm
    fill_from_tree(slow, text, dialect)
    _from_text(slow)
    _no_real_where(slow)
    assert dataclasses.asdict(slow) | {"parsed": False} == dataclasses.asdict(fast)
