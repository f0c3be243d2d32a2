"""The summaries of simple UPDATE/DELETE statements made without sqlglot
(sluice.rules._sqlfast) equal sqlglot's, and one-statement SQL is split as
sluice.core.sql splits it."""

from __future__ import annotations

import dataclasses
import random

import pytest
from sqlglot.dialects.mysql import MySQL
from sqlglot.dialects.postgres import Postgres
from sqlglot.dialects.sqlite import SQLite
from sqlglot.tokens import Tokenizer

from sluice.core.sql import split_sql
from sluice.rules import _sql
from sluice.rules._sql import Stmt, _from_text, _no_real_where, _normalise
from sluice.rules._sqlfast import KEYWORDS, simple_dml, simple_literals
from sluice.rules._sqltree import fill_from_tree
from sluice.rules._util import sqlglot_literals

DIALECTS = ["postgresql", "mysql", "sqlite", None]


def summary(text: str, dialect: str | None, *, fast: bool) -> tuple[bool, Stmt]:
    """Stmt as _summarise builds it, through the fast path or through sqlglot."""
    norm = _normalise(text)
    kind = "UPDATE" if norm.startswith("UPDATE") else "DELETE"
    stmt = Stmt(kind=kind, text=text, norm=norm)
    used = simple_dml(stmt, text) if fast else False
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
         "set", "where", "and", "or", "limit", "from", "default", "time", "text"]
VALUES = ["0", "1", "-1", "-0", "42", "007", "1.5", "NULL", "null", "TRUE", "true", "False",
          "'x'", "''", "'a b'", "'it''s'", "'a, b'", "'x AND y = 1'", "'where'", "'back\\\\'",
          "now()", "CURRENT_TIMESTAMP", "c6", "'é'", "1e3", "$$x$$", "\"q\""]
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
        return (f"{rng.choice(['UPDATE', 'update'])}{ws()}{rng.choice(NAMES)}{ws()}"
                f"{rng.choice(['SET', 'set'])}{ws()}{sets}{where}")
    return f"{rng.choice(['DELETE', 'delete'])}{ws()}FROM{ws()}{rng.choice(NAMES)}{where}"


@pytest.mark.parametrize("seed", range(40))
def test_fast_summary_equals_sqlglot(seed: int) -> None:
    rng = random.Random(seed)
    used_any = False
    for _ in range(50):
        text = random_statement(rng)
        for dialect in DIALECTS:
            used, fast = summary(text, dialect, fast=True)
            _, slow = summary(text, dialect, fast=False)
            assert dataclasses.asdict(fast) == dataclasses.asdict(slow), (text, dialect)
            used_any = used_any or used
    assert used_any


@pytest.mark.parametrize("text", [
    "UPDATE t2 SET c6 = NULL WHERE id < 0",
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
