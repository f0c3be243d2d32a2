"""One SQL splitter: offline SQL for plan/partial-failure/env.py guard and op.execute text
for the linter are cut into statements the same way."""

from __future__ import annotations

import pytest

from sluice.core.sql import split_sql
from sluice.rules._sql import statements
from sluice.runner.capture import split_offline_sql

PLPGSQL = """CREATE FUNCTION touch() RETURNS trigger AS $$
BEGIN
    NEW.updated_at := now();
    RAISE NOTICE 'touched; %', NEW.id;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql"""

OFFLINE_PG = f"""BEGIN;

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL
);

-- Running upgrade  -> r1, functions

{PLPGSQL};

DO $body$ BEGIN PERFORM 1; END $body$;

INSERT INTO alembic_version (version_num) VALUES ('r1');

-- Running upgrade r1 -> r2, comments

COMMENT ON TABLE a IS 'one; -- Running upgrade x -> y';

UPDATE alembic_version SET version_num='r2' WHERE alembic_version.version_num = 'r1';

COMMIT;
"""


def test_offline_sql_keeps_a_dollar_quoted_body_whole() -> None:
    pairs = split_offline_sql(OFFLINE_PG, dialect="postgresql")
    assert pairs == [
        ("r1", PLPGSQL),
        ("r1", "DO $body$ BEGIN PERFORM 1; END $body$"),
        ("r2", "COMMENT ON TABLE a IS 'one; -- Running upgrade x -> y'"),
    ]
    assert split_offline_sql(OFFLINE_PG) == pairs  # dialect unknown: same statements


def test_linter_and_offline_sql_split_alike() -> None:
    text = f"{PLPGSQL};\nUPDATE t SET a = 'x;y' WHERE id = 1"
    lint = [s.text for s in statements(text, "postgresql")]
    offline = [s for _, s in split_offline_sql(text, dialect="postgresql")]
    assert lint == offline == [PLPGSQL, "UPDATE t SET a = 'x;y' WHERE id = 1"]


MYSQL_TRIGGER = """CREATE TRIGGER orders_bi BEFORE INSERT ON orders FOR EACH ROW
BEGIN
    SET NEW.state = CASE WHEN NEW.paid THEN 'paid' ELSE 'open' END;
    IF NEW.total < 0 THEN
        SET NEW.total = 0;
    END IF;
END"""


@pytest.mark.parametrize("dialect", ["mysql", "mariadb", "sqlite", None])
def test_compound_body_without_delimiter_is_one_statement(dialect: str | None) -> None:
    assert split_sql(f"{MYSQL_TRIGGER};\nSELECT 1;", dialect) == [MYSQL_TRIGGER, "SELECT 1"]
    assert [s.text for s in statements(f"{MYSQL_TRIGGER};\nDROP TABLE x", "mysql")] == \
        [MYSQL_TRIGGER, "DROP TABLE x"]


def test_transactions_are_not_compound_bodies() -> None:
    sql = "BEGIN; UPDATE a SET b = 1; COMMIT; BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT 1"
    assert split_sql(sql, "postgresql") == [
        "BEGIN", "UPDATE a SET b = 1", "COMMIT", "BEGIN ISOLATION LEVEL SERIALIZABLE", "SELECT 1"]
    assert split_sql("BEGIN NOT ATOMIC SELECT 1; SELECT 2; END; SELECT 3", "mariadb") == [
        "BEGIN NOT ATOMIC SELECT 1; SELECT 2; END", "SELECT 3"]


def test_quotes_and_comments() -> None:
    sql = ("SELECT `a;b`, \"c;d\", 'e;''f' FROM t -- g;h\n; /* i;j */ SELECT $$k;l$$, $t$m;$t$;"
           "\n-- only a comment;\n")
    assert split_sql(sql) == ["SELECT `a;b`, \"c;d\", 'e;''f' FROM t -- g;h",
                              "/* i;j */ SELECT $$k;l$$, $t$m;$t$"]
    assert split_sql(sql, comments=False)[1] == "SELECT $$k;l$$, $t$m;$t$"
    assert split_sql(r"SELECT 'it\'s; fine'; SELECT 2", "mysql") == [
        r"SELECT 'it\'s; fine'", "SELECT 2"]


def test_batch_separators_alembic_writes_offline() -> None:
    assert split_sql("CREATE TABLE a (id INT);\nGO\nSELECT a / b FROM c\n/\n") == [
        "CREATE TABLE a (id INT)", "SELECT a / b FROM c"]


def test_text_the_tokenizer_rejects_is_still_split() -> None:
    assert split_sql("SELECT 'a;b'; SELECT 'unterminated") == ["SELECT 'a;b'", "SELECT 'unterminated"]


def test_semicolons_inside_parentheses() -> None:
    rule = "CREATE RULE r AS ON INSERT TO a DO INSTEAD (INSERT INTO b VALUES (1); INSERT INTO c VALUES (2))"
    assert split_sql(f"{rule}; SELECT 1", "postgresql") == [rule, "SELECT 1"]
    # an unbalanced parenthesis does not swallow the statements after it
    assert split_sql("SELECT (1; SELECT 2") == ["SELECT (1", "SELECT 2"]


#: Pieces of SQL: the plain ones (words, numbers, operators, parentheses, ``;``) and
#: the ones that send text to sqlglot's tokenizer (quotes, comments, compound bodies,
#: batch separators, characters outside the plain set).
PLAIN_PIECES = ["SELECT", "insert into", "t", "x1", "_a", "1", "1.5", "1e5", "1e", ".5",
                "a.b", "(", ")", "(", ")", ";", ";", " ", " ", "\n", "\t", "\r\n", "=", "<>",
                "!=", "::", "->", "->>", "@x", "@@y", "?", ":p", "%s", "*", "+", "-", "|",
                "&", "^", "~", ",", "=>", "GOTO", "go_on", "x.go", "Get", "ENDx", "1END"]
OTHER_PIECES = ["begin", "BEGIN", "END", "case", "GO", "\nGO\n", "\n go \r\n", "'s;'",
                "-- c;\n", "/* c; */", "$$ ; $$", "$1", "#", "`q;`", '"q;"', "[q;]", "/",
                "\n/\n", "\\", "E'x'", "é", "\x0b", "\f"]


@pytest.mark.parametrize("seed", range(30))
def test_plain_sql_splits_as_sqlglot_tokens_split_it(seed: int) -> None:
    """SQL split without loading sqlglot (the plain fast path) splits where sqlglot's
    tokenizer would, in every dialect; anything else goes to the tokenizer."""
    import random  # lazy: only this test draws random SQL

    from sluice.core import sql

    rng = random.Random(seed)
    plain = 0
    for _ in range(200):
        pieces = PLAIN_PIECES + (OTHER_PIECES if rng.random() < 0.3 else [])
        text = "".join(rng.choice(pieces) + rng.choice(["", " "])
                       for _ in range(rng.randrange(1, 30)))
        if not sql._plain(text):
            continue
        plain += 1
        for dialect in ["postgresql", "mysql", "sqlite", "mssql", ""]:
            assert sql._plain_spans(text) == list(sql._tokenizer_spans(text, dialect)), (
                text, dialect)
    assert plain > 40


#: Quoted text and comments as PostgreSQL SQL holds them, and their odd cases: prefixed
#: quotes, backslashes, parameters, nested or unterminated comments, unterminated quotes.
QUOTED_PIECES = ["'s;'", "'it''s; ('", "''", "'\n;\n'", "'BEGIN'", "'$$'", "'--'", "'/*'",
                 '"q;"', '"a""b"', '"CASE"', "$$ ; $$", "$$BEGIN; END;$$", "$a$;$$;$a$",
                 "$_1$ x $_1$", "$a$ $b$ $a$", "-- c;\n", "-- BEGIN\n", "--x\r\n", "-- 'q\n",
                 "/* c; */", "/* a\n ; b */", "/**/", "/*/ x */", "/* /* x */ */", "/* x/*/",
                 "$1", "$", "$a b$", "E'x'", "U&\"x\"", "x'1'", "'a\\'", '"a\\"', "'open",
                 '"open', "$$open", "/* open", "AS$$ $$", "'x'END", "'x'BEGIN", "pending",
                 "CASEx", "END_", "_END", "1END", "\nGO\n", "|", "||", "-|", "<-", "1e", "~",
                 "USER", "#", "-", "*"]


@pytest.mark.parametrize("seed", range(30))
def test_masked_postgresql_sql_splits_as_sqlglot_tokens_split_it(seed: int) -> None:
    """PostgreSQL SQL with strings, quoted names, dollar quotes and comments, split
    without loading sqlglot (blanked, then split as plain SQL), splits where sqlglot's
    tokenizer would; what the blanking cannot read surely goes to the tokenizer."""
    import random  # lazy: only this test draws random SQL

    from sluice.core import sql

    rng = random.Random(seed)
    fast = 0
    for _ in range(300):
        text = "".join(rng.choice(PLAIN_PIECES if rng.random() < 0.6 else QUOTED_PIECES)
                       + rng.choice(["", " ", "\n"]) for _ in range(rng.randrange(1, 16)))
        masked = sql._mask_quoted(text)
        if masked is None or not sql._plain(masked):
            continue
        assert len(masked) == len(text)
        fast += masked != text
        for dialect in ["postgresql", ""]:
            assert sql._plain_spans(masked) == list(sql._tokenizer_spans(text, dialect)), (
                text, dialect)
    assert fast > 20


def test_common_postgresql_bodies_split_without_sqlglot(monkeypatch: pytest.MonkeyPatch) -> None:
    from sluice.core import sql  # lazy: the private helpers of the splitter

    def no_tokenizer(text: str, dialect: str) -> tuple[sql.Span, ...]:
        raise AssertionError(f"tokenized: {text!r}")

    monkeypatch.setattr(sql, "_tokenizer_spans", no_tokenizer)
    body = f"{PLPGSQL};\n-- a note; with a semicolon\nCOMMENT ON TABLE a IS 'one; two'"
    assert sql.split_sql(body, "postgresql") == [
        PLPGSQL, "-- a note; with a semicolon\nCOMMENT ON TABLE a IS 'one; two'"]
    assert sql.split_sql("CREATE INDEX pending_ix ON t (a); SELECT 1", "postgresql") == [
        "CREATE INDEX pending_ix ON t (a)", "SELECT 1"]


@pytest.mark.parametrize("text", ["SELECT 1; BEGIN", "UPDATE t SET a = 'x;y'; SELECT 1",
                                  "SELECT 1 -- a;b\n; SELECT 2", "SELECT 1\nGO\nSELECT 2",
                                  "SELECT 1 /* ; */; SELECT 2", "SELECT $$;$$; SELECT 2",
                                  "SELECT CASE WHEN a THEN 1 END; SELECT 2"])
def test_sql_with_quotes_comments_or_blocks_is_not_plain(text: str) -> None:
    from sluice.core import sql  # lazy: the private helpers of the splitter

    assert not sql._plain(text)
