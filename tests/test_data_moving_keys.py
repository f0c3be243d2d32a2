"""Rows whose keys move ahead of the cursor while a step runs, and rows the application
inserts meanwhile.

A trigger that gives each updated row a new key (a new sequence number, an
``ON UPDATE CURRENT_TIMESTAMP`` column in the key) puts every batch's rows ahead of the
cursor again: a step that walks to whatever the table's end is by then meets them again,
applies its change to them a second time, moves them once more, and never ends. A step
walks the keys up to the largest one when it started (kept in its checkpoint, so a rerun
in another process walks to the same bound) and says how many rows lie beyond it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from sluice.config import DataConfig
from sluice.data import BatchInfo, backfill, batched_update
from tests.support.datasteps import Said, items_engine

CONFIG = DataConfig(batch_size=3, target_batch_ms=0, log_interval_s=3600)
#: batches a step may run before the test calls it an endless loop (10 rows, 3 a batch)
LOOPING = 12


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    yield from items_engine(db_url)


def move_keys_on_update(engine: sa.Engine) -> None:
    """Every update of a row moves it 100 keys ahead, past the end of the table."""
    backend = engine.dialect.name
    with engine.begin() as conn:
        if backend == "postgresql":
            conn.exec_driver_sql(
                "CREATE FUNCTION items_move() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN NEW.id := NEW.id + 100; RETURN NEW; END $$")
            conn.exec_driver_sql("CREATE TRIGGER items_move BEFORE UPDATE ON items "
                                 "FOR EACH ROW EXECUTE FUNCTION items_move()")
        elif backend == "mysql":
            conn.exec_driver_sql("CREATE TRIGGER items_move BEFORE UPDATE ON items "
                                 "FOR EACH ROW SET NEW.id = NEW.id + 100")
        else:  # SQLite: NEW is read-only; an AFTER trigger moves the row itself
            conn.exec_driver_sql("CREATE TRIGGER items_move AFTER UPDATE OF n ON items "
                                 "BEGIN UPDATE items SET id = id + 100 WHERE id = NEW.id; "
                                 "END")


def endless(info: BatchInfo) -> None:
    if info.number >= LOOPING:
        raise RuntimeError(f"still running at batch {info.number}: an endless loop")


def rows(engine: sa.Engine) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        return [(int(r[0]), int(r[1]))
                for r in conn.execute(sa.text("SELECT id, n FROM items ORDER BY id"))]


def bump(engine: sa.Engine, **kw: Any) -> Any:
    kw.setdefault("on_batch", endless)
    with engine.connect() as conn:
        return batched_update("items", {"n": sa.column("n") + 1}, connection=conn,
                              step="s", config=CONFIG, **kw)


def test_rows_a_trigger_moves_ahead_are_changed_once_and_the_step_ends(
        engine: sa.Engine) -> None:
    move_keys_on_update(engine)
    said = Said()
    result = bump(engine, progress=said)
    assert rows(engine) == [(i + 100, 1) for i in range(1, 11)]
    assert (result.rows_scanned, result.rows_changed, result.batches) == (10, 10, 4)
    beyond = [line for line in said.lines if "not visited" in line]
    assert len(beyond) == 1, said.lines
    assert "[10]" in beyond[0] and "10 rows" in beyond[0], beyond[0]


def test_a_backfill_whose_rows_a_trigger_moves_ends(engine: sa.Engine) -> None:
    move_keys_on_update(engine)
    with engine.connect() as conn:
        result = backfill("items", lambda rs: [{"n": r["n"] + 1} for r in rs],
                          connection=conn, step="s", config=CONFIG, on_batch=endless,
                          progress=Said())
    assert rows(engine) == [(i + 100, 1) for i in range(1, 11)]
    assert result.batches == 4


def test_a_rerun_walks_to_the_bound_its_first_run_fixed(engine: sa.Engine) -> None:
    """The bound is kept with the checkpoint: a rerun (another process) does not walk to
    the table's end as it is by then, where the rows the first run moved now are."""
    move_keys_on_update(engine)

    def stop_after_two(info: BatchInfo) -> None:
        if info.number == 2:
            raise RuntimeError("stopped")

    with pytest.raises(Exception, match="stopped"):
        bump(engine, progress=Said(), on_batch=stop_after_two)
    assert rows(engine)[:4] == [(7, 0), (8, 0), (9, 0), (10, 0)]
    result = bump(engine, progress=Said())
    assert result.resumed
    assert rows(engine) == [(i + 100, 1) for i in range(1, 11)]


def test_rows_inserted_while_the_step_runs(engine: sa.Engine) -> None:
    """Ahead of the cursor and up to the bound: visited. Beyond the bound: not, and the
    step says how many there are (the application must write the new form itself)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM items WHERE id = 8")
    other = sa.create_engine(engine.url)

    def insert(info: BatchInfo) -> None:
        if info.number == 1:
            with other.begin() as conn:
                conn.exec_driver_sql("INSERT INTO items (id, n) VALUES (8, 0), (11, 0), "
                                     "(12, 0)")

    said = Said()
    try:
        result = bump(engine, progress=said, on_batch=insert)
    finally:
        other.dispose()
    assert rows(engine) == [(i, 1) for i in range(1, 11)] + [(11, 0), (12, 0)]
    assert result.rows_scanned == 10
    beyond = [line for line in said.lines if "not visited" in line]
    assert len(beyond) == 1 and "2 rows" in beyond[0], said.lines
    with engine.connect() as conn:
        last_key = conn.execute(sa.text("SELECT last_key FROM sluice_data_progress")).scalar()
    assert json.loads(last_key) == {"after": [10], "upto": [10]}


def test_an_empty_table_has_nothing_to_walk(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM items")
    result = bump(engine, progress=Said())
    assert (result.rows_scanned, result.batches) == (0, 0)


def test_a_checkpoint_written_without_a_bound_resumes(engine: sa.Engine) -> None:
    """A checkpoint of an earlier Sluice (``last_key`` the upper key alone): the step
    resumes after it, with the largest key now as its bound, and writes both from then."""
    def stop_after_one(info: BatchInfo) -> None:
        if info.number == 1:
            raise RuntimeError("stopped")

    with pytest.raises(Exception, match="stopped"):
        bump(engine, progress=Said(), on_batch=stop_after_one)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE sluice_data_progress SET last_key = '[3]'"))
    result = bump(engine, progress=Said())
    assert result.resumed and result.rows_scanned == 10
    assert rows(engine) == [(i, 1) for i in range(1, 11)]
    with engine.connect() as conn:
        last_key = conn.execute(sa.text("SELECT last_key FROM sluice_data_progress")).scalar()
    assert json.loads(last_key) == {"after": [10], "upto": [10]}


def test_rows_inserted_after_the_bound_count_when_the_where_matches_them(
        engine: sa.Engine) -> None:
    """Rows the application inserts already in the new form are no news: only those the
    step's where= would have changed are counted."""
    other = sa.create_engine(engine.url)

    def insert(info: BatchInfo) -> None:
        if info.number == 1:
            with other.begin() as conn:
                conn.exec_driver_sql("INSERT INTO items (id, n) VALUES (11, 1), (12, 0)")

    said = Said()
    try:
        bump(engine, progress=said, on_batch=insert, where=sa.column("n") == 0)
    finally:
        other.dispose()
    beyond = [line for line in said.lines if "not visited" in line]
    assert len(beyond) == 1 and "1 row with keys after [10]" in beyond[0], said.lines
    assert "that its where= matches" in beyond[0], beyond[0]
