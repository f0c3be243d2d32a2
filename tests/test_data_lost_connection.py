"""A step whose database session is killed while it marks itself finished, or (MySQL/MariaDB)
while it sets its session's lock wait timeouts before its first batch, says so in the one
line every other lost batch gives ("lost its database connection"), never in SQLAlchemy's
multi-line error; the rerun resumes from the checkpoint and finishes the step."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sluice.config import DataConfig
from sluice.data import DataMigrationError, batched_update
from sluice.data.model import ConnectionLost
from sluice.runner.run import MigrationFailed
from tests.support.runner import Rev, go, make_project, version

CONFIG = DataConfig(batch_size=5, target_batch_ms=0, log_interval_s=3600)


@pytest.fixture(params=["postgresql", "mysql"])
def server_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url" if request.param == "postgresql"
                                       else "mysql_url"))


def session_id(conn: sa.Connection) -> int:
    sql = ("SELECT pg_backend_pid()" if conn.dialect.name == "postgresql"
           else "SELECT CONNECTION_ID()")
    return int(conn.exec_driver_sql(sql).scalar_one())


def kill(url: str, session: int) -> None:
    """End a server session from another connection, and wait until it is gone."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": session})
                gone = "SELECT count(*) FROM pg_stat_activity WHERE pid = :p"
            else:
                conn.exec_driver_sql(f"KILL {int(session)}")
                gone = ("SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = :p "
                        "AND COALESCE(COMMAND, '') <> 'Killed'")
            for _ in range(500):
                if not conn.execute(sa.text(gone), {"p": session}).scalar():
                    return
                time.sleep(0.01)
    finally:
        engine.dispose()


def is_finish_mark(statement: str) -> bool:
    return statement.startswith("UPDATE sluice_data_progress") and "finished=" in statement


@pytest.fixture
def engine(server_url: str) -> Iterator[sa.Engine]:
    eng = sa.create_engine(server_url)
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE items (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        conn.execute(sa.text("INSERT INTO items VALUES (:i, 0)"),
                     [{"i": i} for i in range(1, 31)])
    yield eng
    eng.dispose()


def ns(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text("SELECT n FROM items ORDER BY id"))]


@pytest.mark.parametrize("autocommit", [False, True])
def test_a_session_killed_while_the_step_is_marked_finished(
        engine: sa.Engine, server_url: str, autocommit: bool) -> None:
    items = sa.table("items", sa.column("id"), sa.column("n"))
    with engine.connect() as conn:
        if autocommit:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        me = session_id(conn)
        if conn.in_transaction():
            conn.rollback()
        killed: list[int] = []

        def before(conn_: Any, cursor: Any, statement: str, *args: Any) -> None:
            if is_finish_mark(statement) and not killed:
                killed.append(me)
                kill(server_url, me)

        sa.event.listen(conn, "before_cursor_execute", before)
        with pytest.raises(DataMigrationError) as info:
            batched_update(items, {"n": items.c.n + 1}, connection=conn, step="s",
                           config=CONFIG)
    assert killed == [me]
    message = str(info.value)
    assert isinstance(info.value, ConnectionLost), message
    assert "\n" not in message, message
    assert message.startswith("sluice.data: step 's' lost its database connection while "
                              "marking the step finished: "), message
    assert ("Every batch was committed, only the mark that the step is finished was not; "
            "the checkpoint keeps 30 rows done in 6 batches") in message, message
    assert ns(engine) == [1] * 30
    with engine.connect() as conn:
        result = batched_update(items, {"n": items.c.n + 1}, connection=conn, step="s",
                                config=CONFIG)
    assert result.resumed and result.rows_scanned == 30 and ns(engine) == [1] * 30


HEADER = '''
import os
import time

from sluice.data import batched_update

items = sa.table("items", sa.column("id"), sa.column("n"))


def kill(session):
    engine = sa.create_engine(os.environ["SLUICE_T_URL"])
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": session})
                gone = "SELECT count(*) FROM pg_stat_activity WHERE pid = :p"
            else:
                conn.exec_driver_sql(f"KILL {int(session)}")
                gone = ("SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = :p "
                        "AND COALESCE(COMMAND, '') <> 'Killed'")
            for _ in range(500):
                if not conn.execute(sa.text(gone), {"p": session}).scalar():
                    return
                time.sleep(0.01)
    finally:
        engine.dispose()


def kill_at_the_finish_mark(bind):
    me = bind.exec_driver_sql("SELECT pg_backend_pid()" if bind.dialect.name == "postgresql"
                              else "SELECT CONNECTION_ID()").scalar()
    done = []

    def before(conn, cursor, statement, *args):
        if (not done and statement.startswith("UPDATE sluice_data_progress")
                and "finished=" in statement and os.environ.get("SLUICE_T_KILL")):
            done.append(me)
            kill(me)

    sa.event.listen(bind.engine, "before_cursor_execute", before)
'''

CREATE = ('op.create_table("items", sa.Column("id", sa.Integer(), primary_key=True), '
          'sa.Column("n", sa.Integer(), nullable=False))\n'
          'op.bulk_insert(items, [{"id": i, "n": 0} for i in range(1, 31)])')
STEP = ('kill_at_the_finish_mark(op.get_bind())\n'
        'batched_update(items, {"n": items.c.n + 1}, step="bump", batch_size=5, '
        'target_batch_ms=0)')


def test_inside_alembic_the_run_reports_a_lost_connection_and_the_rerun_finishes(
        tmp_path: Path, server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLUICE_T_URL", server_url)
    monkeypatch.setenv("SLUICE_T_KILL", "1")
    ini = make_project(tmp_path / "proj", [Rev(id="r0001", upgrade=CREATE, header=HEADER),
                                           Rev(id="r0002", upgrade=STEP, header=HEADER)])
    assert go(ini, server_url, target="r0001").status == "applied"
    with pytest.raises(MigrationFailed) as info:
        go(ini, server_url)
    message = str(info.value)
    assert "PendingRollbackError" not in message and "(Background on this" not in message
    assert "\n" not in message, message
    assert "lost its database connection while marking the step finished" in message, message
    assert "step 'bump' committed 30 rows in 6 batches" in message, message
    monkeypatch.delenv("SLUICE_T_KILL")
    assert go(ini, server_url).status == "applied"
    assert version(server_url) == ["r0002"]
    engine = sa.create_engine(server_url)
    try:
        assert ns(engine) == [1] * 30
    finally:
        engine.dispose()


SESSION_TIMEOUTS = ("SELECT @@SESSION.innodb_lock_wait_timeout",
                    "SET SESSION innodb_lock_wait_timeout", "SET SESSION lock_wait_timeout")


@pytest.mark.parametrize("autocommit", [False, True])
@pytest.mark.parametrize("at", SESSION_TIMEOUTS)
def test_a_session_killed_while_the_step_sets_its_lock_wait_timeouts(
        mysql_url: str, at: str, autocommit: bool) -> None:
    """MySQL's lock wait timeouts are per session, set before the first batch (PostgreSQL
    sets its lock_timeout inside each batch)."""
    engine = sa.create_engine(mysql_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE items (id INTEGER PRIMARY KEY, "
                                 "n INTEGER NOT NULL)")
            conn.execute(sa.text("INSERT INTO items VALUES (:i, 0)"),
                         [{"i": i} for i in range(1, 31)])
        items = sa.table("items", sa.column("id"), sa.column("n"))
        with engine.connect() as conn:
            if autocommit:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            me = session_id(conn)
            if conn.in_transaction():
                conn.rollback()
            killed: list[int] = []

            def before(conn_: Any, cursor: Any, statement: str, *args: Any) -> None:
                if statement.startswith(at) and not killed:
                    killed.append(me)
                    kill(mysql_url, me)

            sa.event.listen(conn, "before_cursor_execute", before)
            with pytest.raises(DataMigrationError) as info:
                batched_update(items, {"n": items.c.n + 1}, connection=conn, step="s",
                               config=CONFIG, lock_timeout_ms=2000)
        assert killed == [me]
        message = str(info.value)
        assert isinstance(info.value, ConnectionLost), message
        assert "\n" not in message, message
        assert message.startswith("sluice.data: step 's' lost its database connection while "
                                  "setting its lock wait timeouts, before its first batch: "
                                  ), message
        assert ("No batch ran, nothing was changed; the checkpoint keeps 0 rows done in "
                "0 batches") in message, message
        assert "Rerun the upgrade" in message, message
        assert ns(engine) == [0] * 30
        with engine.connect() as conn:
            result = batched_update(items, {"n": items.c.n + 1}, connection=conn, step="s",
                                    config=CONFIG, lock_timeout_ms=2000)
        assert result.rows_scanned == 30 and ns(engine) == [1] * 30
    finally:
        engine.dispose()


KILL_AT_TIMEOUTS = HEADER + '''

def kill_at_the_lock_wait_timeouts(bind):
    me = bind.exec_driver_sql("SELECT CONNECTION_ID()").scalar()
    done = []

    def before(conn, cursor, statement, *args):
        if (not done and statement.startswith("SET SESSION innodb_lock_wait_timeout")
                and os.environ.get("SLUICE_T_KILL")):
            done.append(me)
            kill(me)

    sa.event.listen(bind.engine, "before_cursor_execute", before)
'''
STEP_WITH_TIMEOUT = ('kill_at_the_lock_wait_timeouts(op.get_bind())\n'
                     'batched_update(items, {"n": items.c.n + 1}, step="bump", batch_size=5, '
                     'target_batch_ms=0, lock_timeout_ms=2000)')


def test_inside_alembic_a_session_killed_while_setting_the_lock_wait_timeouts(
        tmp_path: Path, mysql_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLUICE_T_URL", mysql_url)
    monkeypatch.setenv("SLUICE_T_KILL", "1")
    ini = make_project(tmp_path / "proj", [
        Rev(id="r0001", upgrade=CREATE, header=HEADER),
        Rev(id="r0002", upgrade=STEP_WITH_TIMEOUT, header=KILL_AT_TIMEOUTS)])
    assert go(ini, mysql_url, target="r0001").status == "applied"
    with pytest.raises(MigrationFailed) as info:
        go(ini, mysql_url)
    message = str(info.value)
    assert "PendingRollbackError" not in message and "(Background on this" not in message
    assert "\n" not in message, message
    assert ("lost its database connection while setting its lock wait timeouts, before its "
            "first batch") in message, message
    assert "No batch ran, nothing was changed" in message, message
    monkeypatch.delenv("SLUICE_T_KILL")
    assert go(ini, mysql_url).status == "applied"
    assert version(mysql_url) == ["r0002"]
    engine = sa.create_engine(mysql_url)
    try:
        assert ns(engine) == [1] * 30
    finally:
        engine.dispose()
