"""A backfill checks that each UPDATE wrote the rows it meant to: a trigger that skips a
row without an error, or a key that no longer finds its row, stops the step with one line
and that batch rolled back, instead of a step reported done with rows never written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from sluice.config import DataConfig
from sluice.data import DataMigrationError, backfill

CONFIG = DataConfig(batch_size=5, target_batch_ms=0, log_interval_s=3600)

md = sa.MetaData()
items = sa.Table("items", md,
                 sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                 sa.Column("label", sa.String(40), nullable=False))


class WholeSeconds(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp type that reads values back without their fraction of a second."""

    impl = sa.DateTime
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else value.replace(microsecond=0)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = sa.create_engine(db_url)
    md.create_all(eng)
    with eng.begin() as conn:
        conn.execute(items.insert(), [{"id": i, "label": f"item {i}"} for i in range(1, 13)])
    yield eng
    eng.dispose()


def labels(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.select(items.c.label).order_by(items.c.id))]


def checkpoint(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT rows_done, batches FROM sluice_data_progress "
                                   "WHERE step = 's'")).one()
    return int(row[0]), int(row[1])


def shout(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"label": r["label"] + "!"} for r in rows]


def run(engine: sa.Engine, table: Any = items, fn: Any = shout, **kw: Any) -> Any:
    with engine.connect() as conn:
        return backfill(table, fn, columns=["label"], connection=conn, step="s",
                        config=CONFIG, **kw)


def skip_id_7(engine: sa.Engine) -> None:
    """A BEFORE UPDATE trigger that leaves row 7 as it is without an error."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER keep_7 BEFORE UPDATE ON items WHEN OLD.id = 7 "
                "BEGIN SELECT RAISE(IGNORE); END")
        elif conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "CREATE FUNCTION keep_7() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF OLD.id = 7 THEN RETURN NULL; END IF; RETURN NEW; END $$")
            conn.exec_driver_sql("CREATE TRIGGER keep_7 BEFORE UPDATE ON items FOR EACH ROW "
                                 "EXECUTE FUNCTION keep_7()")
        else:
            raise AssertionError("MySQL/MariaDB: a trigger cannot skip a row without an error")


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_trigger_that_skips_a_row_stops_the_backfill(engine: sa.Engine) -> None:
    skip_id_7(engine)
    with pytest.raises(DataMigrationError) as info:
        run(engine)
    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith(
        "sluice.data: step 's': of the 5 rows fn changed in table 'items' (keys id=6 to "
        "id=10), the database wrote 4 and skipped the others without an error"), message
    assert "trigger" in message and "row-level security" in message
    assert "batch was rolled back" in message and "where=" in message
    # the first batch committed; the second (rows 6 to 10) left nothing behind
    assert checkpoint(engine) == (5, 1)
    assert labels(engine) == [f"item {i}!" for i in range(1, 6)] + [
        f"item {i}" for i in range(6, 13)]


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_rows_left_out_with_where_let_the_backfill_finish(engine: sa.Engine) -> None:
    skip_id_7(engine)
    result = run(engine, where=items.c.id != 7)
    assert result.rows_changed == 11
    assert labels(engine) == [f"item {i}" + ("" if i == 7 else "!") for i in range(1, 13)]


def test_writing_the_values_a_row_already_has_is_no_skip(engine: sa.Engine) -> None:
    """MySQL counts changed rows unless the client asks for found rows (SQLAlchemy does):
    a row written with the value it has is still a row written."""
    result = run(engine, fn=lambda rows: [{"label": r["label"]} for r in rows])
    assert result.rows_changed == 12
    assert labels(engine) == [f"item {i}" for i in range(1, 13)]


def test_a_key_that_does_not_find_its_row_again_stops_the_backfill(engine: sa.Engine) -> None:
    """A key read back without its fraction of a second: ``WHERE at = <value read>``
    finds no row, and nothing is written for it."""
    events = sa.Table("events", sa.MetaData(),
                      sa.Column("at", sa.DateTime().with_variant(mysql.DATETIME(fsp=6),
                                                                 "mysql", "mariadb"),
                                primary_key=True),
                      sa.Column("label", sa.String(40), nullable=False))
    events.create(engine)
    start = dt.datetime(2024, 1, 1, 10, 0, 0, 500000)
    with engine.begin() as conn:
        conn.execute(events.insert(), [{"at": start + dt.timedelta(seconds=i), "label": "e"}
                                       for i in range(4)])
        # the largest key reads back as stored (else the step is refused before it starts)
        conn.execute(events.insert(), {"at": dt.datetime(2024, 1, 1, 10, 0, 5), "label": "e"})
    lossy = sa.table("events", sa.column("at", WholeSeconds()), sa.column("label"))
    with pytest.raises(DataMigrationError, match=r"of the 1 row fn changed in table 'events' "
                                                 r"\(key at=datetime.datetime\(2024, 1, 1, 10, "
                                                 r"0\)\), the database wrote 0"):
        run(engine, lossy, batch_size=2)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT label FROM events")).scalars().all() == ["e"] * 5


@pytest.mark.parametrize("db_url", ["mysql"], indirect=True)  # (found vs changed rows)
def test_a_mysql_connection_counting_changed_rows_is_not_checked(engine: sa.Engine) -> None:
    """A PyMySQL connection made without CLIENT_FOUND_ROWS (``creator=`` of one's own)
    reports changed rows: an unchanged row is no skip there, so nothing is compared."""
    import pymysql  # lazy: the MySQL driver, on the MySQL run only

    u = engine.url
    plain = sa.create_engine("mysql+pymysql://", creator=lambda: pymysql.connect(
        host=u.host, port=u.port or 3306, user=u.username, password=u.password or "",
        database=u.database, client_flag=0))
    try:
        result = run(plain, fn=lambda rows: [{"label": r["label"]} for r in rows])
    finally:
        plain.dispose()
    assert result.rows_changed == 12
