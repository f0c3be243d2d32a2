"""A step whose batches stop getting past a key stops with one line, never loops.

The walk reads a batch's upper key into Python and sends it back as the next batch's
lower bound. A key the database does not get back as it stored it (text in another
format than the type writes, a number read back with fewer digits, a type that drops
the fraction of a second) gives a bound below the stored value: the next batch starts
before the row it ended on, finds the same upper key, and would run again, forever,
writing a checkpoint each time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from sluice.config import DataConfig
from sluice.data import BatchInfo, DataMigrationError, batched_update

CONFIG = DataConfig(batch_size=1, target_batch_ms=0, log_interval_s=3600)
#: batches a step may run before the test calls it an endless loop (the tables are small)
LOOPING = 40


class WholeSeconds(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp type that reads values back without their fraction of a second."""

    impl = sa.DateTime
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else value.replace(microsecond=0)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = sa.create_engine(db_url)
    yield eng
    eng.dispose()


def endless(info: BatchInfo) -> None:
    """Stop a step that runs more batches than its table can need."""
    if info.number >= LOOPING:
        raise RuntimeError(f"still running at batch {info.number}: an endless loop")


def step(engine: sa.Engine, table: Any, **kw: Any) -> Any:
    with engine.connect() as conn:
        return batched_update(table, {"n": sa.column("n") + 1}, connection=conn, step="s",
                              config=CONFIG, on_batch=endless, **kw)


def checkpoint(engine: sa.Engine) -> tuple[int, int, Any]:
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT rows_done, batches, last_key FROM "
                                   "sluice_data_progress WHERE step = 's'")).one()
    return int(row[0]), int(row[1]), json.loads(row[2])


def ns(engine: sa.Engine, table: str) -> list[int]:
    with engine.connect() as conn:
        return [int(r[0]) for r in conn.execute(sa.text(f"SELECT n FROM {table} ORDER BY 1"))]


def test_sqlite_timestamps_stored_as_iso_text_stop_the_step(tmp_path: Any) -> None:
    """Timestamps another program wrote as ISO 8601 text ('2024-01-01T10:00:00'):
    SQLAlchemy reads them as datetimes and binds them back as '2024-01-01 10:00:00.000000',
    which SQLite's text comparison puts before the stored value."""
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE events (at DATETIME PRIMARY KEY, n INTEGER "
                             "NOT NULL)")
        conn.exec_driver_sql("INSERT INTO events VALUES ('2024-01-01T10:00:00', 0), "
                             "('2024-01-01T11:00:00', 0), ('2024-01-02T09:30:00', 0), "
                             "('2024-01-03 00:00:00.000000', 0)")  # the largest as written
    with pytest.raises(DataMigrationError) as info:
        step(eng, "events")
    message = str(info.value)
    assert "\n" not in message
    assert ("step 's': batch 2 on table 'events' does not get past key "
            "at=datetime.datetime(2024, 1, 1, 10, 0), where batch 1 ended") in message, message
    assert "1 batch committed (1 row scanned, 0 changed)" in message, message
    assert "key=" in message and "clear_checkpoints" in message
    assert checkpoint(eng)[:2] == (1, 1)
    assert ns(eng, "events") == [0, 0, 0, 0]
    eng.dispose()


def test_sqlite_numeric_keys_with_more_digits_than_read_back_stop_the_step(
        tmp_path: Any) -> None:
    """SQLAlchemy reads a SQLite NUMERIC as a Decimal of 10 decimal places: keys that
    differ further right read back as the same value, below both stored ones."""
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE prices (p NUMERIC PRIMARY KEY, n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO prices VALUES (1.00000000001, 0), "
                             "(1.00000000002, 0), (2, 0)")
    with pytest.raises(DataMigrationError, match=r"batch 2 on table 'prices' does not get "
                                                 r"past key p=Decimal\('1.0000000000'\)"):
        step(eng, "prices")
    assert ns(eng, "prices") == [0, 0, 0]
    eng.dispose()


def test_a_key_type_that_truncates_fractions_is_refused_before_any_batch(
        engine: sa.Engine) -> None:
    """A key column typed (in the table the step is given) with a type that drops the
    fraction of a second: the largest key, the bound of the walk, finds no row. Walked to
    that bound, the last batch would repeat forever (or the last row be left out)."""
    md = sa.MetaData()
    precise = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    table = sa.Table("events", md, sa.Column("at", precise, primary_key=True),
                     sa.Column("n", sa.Integer, nullable=False))
    md.create_all(engine)
    start = dt.datetime(2024, 1, 1, 10, 0, 0, 500000)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"at": start + dt.timedelta(seconds=i), "n": 0}
                                      for i in range(4)])
    lossy = sa.table("events", sa.column("at", WholeSeconds()), sa.column("n"))
    with pytest.raises(DataMigrationError) as info:
        step(engine, lossy, batch_size=2)
    message = str(info.value)
    assert "\n" not in message
    assert ("step 's': the largest key of table 'events' comes back from the database as "
            "at=datetime.datetime(2024, 1, 1, 10, 0, 3), which finds no row") in message, message
    assert "Nothing was changed" in message and "key=" in message, message
    with engine.connect() as conn:  # (PostgreSQL: the table's creation rolled back too)
        assert not sa.inspect(conn).has_table("sluice_data_progress") or conn.execute(
            sa.text("SELECT count(*) FROM sluice_data_progress")).scalar() == 0
    assert ns(engine, "events") == [0, 0, 0, 0]


def test_a_rerun_after_the_stop_stops_at_once_without_writing(engine: sa.Engine) -> None:
    md = sa.MetaData()
    precise = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    table = sa.Table("events", md, sa.Column("at", precise, primary_key=True),
                     sa.Column("n", sa.Integer, nullable=False))
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"at": dt.datetime(2024, 1, 1, 10, 0, i, 250000),
                                       "n": 0} for i in range(3)])
        # the largest key reads back as stored: the walk starts, and stalls on the first
        conn.execute(table.insert(), {"at": dt.datetime(2024, 1, 1, 10, 0, 5), "n": 0})
    lossy = sa.table("events", sa.column("at", WholeSeconds()), sa.column("n"))
    with pytest.raises(DataMigrationError, match="does not get past key"):
        step(engine, lossy)
    before = checkpoint(engine)
    with pytest.raises(DataMigrationError, match=r"batch 2 on table 'events' does not get "
                                                 r"past key .*, where batch 1 ended"):
        step(engine, lossy)
    assert checkpoint(engine) == before
    assert ns(engine, "events") == [0, 0, 0, 0]


def test_keys_that_read_back_exactly_are_walked_to_the_end(engine: sa.Engine) -> None:
    """The check costs no false stop: the same table walked with its own type."""
    md = sa.MetaData()
    precise = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    table = sa.Table("events", md, sa.Column("at", precise, primary_key=True),
                     sa.Column("n", sa.Integer, nullable=False))
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"at": dt.datetime(2024, 1, 1, 10, 0, i, 250000),
                                       "n": 0} for i in range(5)])
    result = step(engine, "events", batch_size=2)
    assert result.rows_scanned == 5 and ns(engine, "events") == [1] * 5
