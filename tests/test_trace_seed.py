"""``--seed-rows``: every table filled from its column types, in foreign-key order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from sluice.trace.seed import seed_tables

PG_SCHEMA = [
    "CREATE TYPE mood AS ENUM ('ok', 'sad')",
    """CREATE TABLE parent (
        id serial PRIMARY KEY, code varchar(8) UNIQUE NOT NULL, price numeric(5, 2) NOT NULL,
        flag boolean NOT NULL, born date NOT NULL, at timestamptz NOT NULL,
        doc jsonb NOT NULL, uid uuid NOT NULL, m mood NOT NULL, raw bytea NOT NULL,
        t time NOT NULL, tags text[] NOT NULL, note text,
        created timestamp NOT NULL DEFAULT now())""",
    """CREATE TABLE child (id serial PRIMARY KEY,
        parent_id int NOT NULL REFERENCES parent (id), amount smallint NOT NULL)""",
    """CREATE TABLE link (parent_id int NOT NULL REFERENCES parent (id),
        child_id int NOT NULL REFERENCES child (id), PRIMARY KEY (parent_id, child_id))""",
    "CREATE TABLE selfref (id int PRIMARY KEY, up int REFERENCES selfref (id))",
    "CREATE TABLE weird (id serial PRIMARY KEY, p point NOT NULL)",
    "CREATE TABLE checked (id serial PRIMARY KEY, v int NOT NULL CHECK (v > 1000))",
    "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)",
]

MYSQL_SCHEMA = [
    """CREATE TABLE parent (
        id int AUTO_INCREMENT PRIMARY KEY, code varchar(8) UNIQUE NOT NULL,
        price decimal(5, 2) NOT NULL, flag bool NOT NULL, born date NOT NULL,
        at datetime NOT NULL, doc json NOT NULL, raw blob NOT NULL, t time NOT NULL,
        e enum('a', 'b') NOT NULL, note text)""",
    """CREATE TABLE child (id int AUTO_INCREMENT PRIMARY KEY, parent_id int NOT NULL,
        amount smallint NOT NULL, FOREIGN KEY (parent_id) REFERENCES parent (id))""",
    """CREATE TABLE link (parent_id int NOT NULL, child_id int NOT NULL,
        PRIMARY KEY (parent_id, child_id), FOREIGN KEY (parent_id) REFERENCES parent (id),
        FOREIGN KEY (child_id) REFERENCES child (id))""",
    "CREATE TABLE selfref (id int PRIMARY KEY, up int, FOREIGN KEY (up) REFERENCES selfref (id))",
    "CREATE TABLE checked (id int AUTO_INCREMENT PRIMARY KEY, v int NOT NULL CHECK (v > 1000))",
]


def _engine(url: str, schema: list[str]) -> Iterator[Engine]:
    engine = create_engine(url)
    with engine.begin() as conn:
        for stmt in schema:
            conn.execute(text(stmt))
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def pg(pg_url: str) -> Iterator[Engine]:
    yield from _engine(pg_url, PG_SCHEMA)


@pytest.fixture
def my(mysql_url: str) -> Iterator[Engine]:
    yield from _engine(mysql_url, MYSQL_SCHEMA)


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)


def test_seed_postgres(pg: Engine) -> None:
    with pg.begin() as conn:
        conn.execute(text("INSERT INTO parent (code, price, flag, born, at, doc, uid, m, raw, t, "
                          "tags) VALUES ('s1x', 1, true, now(), now(), '{}', gen_random_uuid(), "
                          "'ok', '', '10:00', '{}')"))
    seeded, notes = seed_tables(pg, 50)
    assert seeded == {"parent": 50, "child": 50, "link": 50, "selfref": 50}
    assert {n.split(":")[0] for n in notes} == {"--seed-rows"}
    assert any("table weird left as it was" in n and "p" in n for n in notes)
    assert any("table checked left as it was" in n for n in notes)
    assert _count(pg, "parent") == 51 and _count(pg, "alembic_version") == 0
    with pg.connect() as conn:
        assert conn.execute(text("SELECT count(DISTINCT parent_id) FROM child")).scalar() > 1
        assert conn.execute(text("SELECT count(*) FROM selfref WHERE up IS NULL")).scalar() == 50
        assert conn.execute(text("SELECT max(length(code)) FROM parent")).scalar() <= 8
        assert conn.execute(text("SELECT count(*) FROM parent WHERE created IS NULL")).scalar() == 0
    # already seeded tables are skipped the next time
    assert seed_tables(pg, 50, skip=set(seeded))[0] == {}


def test_seed_mysql(my: Engine) -> None:
    seeded, notes = seed_tables(my, 40)
    assert seeded == {"parent": 40, "child": 40, "link": 40, "selfref": 40}
    assert any("table checked left as it was" in n for n in notes)
    assert _count(my, "link") == 40
    with my.connect() as conn:
        orphans = conn.execute(text(
            "SELECT count(*) FROM child c LEFT JOIN parent p ON p.id = c.parent_id "
            "WHERE p.id IS NULL")).scalar()
    assert orphans == 0
