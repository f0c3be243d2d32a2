"""The checkpoint table dropped (or the step's row deleted) while a step runs: a cleanup of
tables nobody recognises, a hand-run DELETE.

The step stops at its next checkpoint write. Its committed batches are in the table, but
their record is gone: a rerun would start from the first key and apply the change to
those rows a second time (``n = n + 1`` twice). The step writes its checkpoint again, as
it knows it, and says so in one line.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from sluice.config import DataConfig
from sluice.data import BatchInfo, DataMigrationError, batched_update
from tests.support.datasteps import Said, items_engine

CONFIG = DataConfig(batch_size=3, target_batch_ms=0, log_interval_s=3600)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    yield from items_engine(db_url)


def bump(engine: sa.Engine, on_batch: object = None) -> object:
    with engine.connect() as conn:
        return batched_update("items", {"n": sa.column("n") + 1}, connection=conn,
                              step="s", config=CONFIG, on_batch=on_batch, progress=Said())


def ns(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return [int(r[0]) for r in conn.exec_driver_sql("SELECT n FROM items ORDER BY id")]


@pytest.mark.parametrize(("how", "at_batch", "done"), [
    ("DROP TABLE sluice_data_progress", 2, 6),
    ("DELETE FROM sluice_data_progress", 2, 6),
    ("DROP TABLE sluice_data_progress", 4, 10),  # after the last batch: at the finish mark
])
def test_a_checkpoint_gone_mid_run_is_written_again(engine: sa.Engine, how: str,
                                                   at_batch: int, done: int) -> None:
    other = sa.create_engine(engine.url)

    def vanish(info: BatchInfo) -> None:
        if info.number == at_batch:
            with other.begin() as conn:
                conn.exec_driver_sql(how)

    try:
        with pytest.raises(DataMigrationError) as caught:
            bump(engine, vanish)
    finally:
        other.dispose()
    message = str(caught.value)
    assert "\n" not in message
    assert "its checkpoint in sluice_data_progress was dropped or deleted while it ran" \
        in message, message
    assert f"the step wrote its checkpoint again: {done} rows done in {at_batch} batches, " \
        f"after key [{done}]" in message, message
    assert ns(engine) == [1] * done + [0] * (10 - done)
    result = bump(engine)
    assert ns(engine) == [1] * 10  # no row changed twice
    assert result.resumed and result.rows_scanned == 10  # type: ignore[attr-defined]


@pytest.mark.parametrize("db_url", ["postgresql", "mysql"], indirect=True)
def test_a_checkpoint_privilege_revoked_mid_run_names_the_grant(engine: sa.Engine) -> None:
    """An owner revokes UPDATE on the checkpoint table while a deploy role's step runs:
    the step stops at its next checkpoint write with one line naming the table, and the
    GRANT that lets it go on."""
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    pg = engine.dialect.name == "postgresql"
    name = f"sluice_d_{uuid.uuid4().hex[:8]}"
    db = engine.url.database
    account = name if pg else f"'{name}'@'%%'"  # (%: the driver's parameter marker)
    on = (lambda t: t) if pg else (lambda t: f"`{db}`.{t}")
    bump(engine)  # the owner's step creates the checkpoint table
    with admin.connect() as conn:
        conn.exec_driver_sql("UPDATE items SET n = 0")
        conn.exec_driver_sql("DELETE FROM sluice_data_progress")
        if pg:
            conn.exec_driver_sql(f"CREATE ROLE {name} LOGIN")
        else:
            conn.exec_driver_sql(f"CREATE USER {account}")
        for table in ("items", "sluice_data_progress"):
            conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {on(table)} "
                                 f"TO {account}")
    deployer = sa.create_engine(engine.url.set(username=name, password=None))

    def revoke(info: BatchInfo) -> None:
        if info.number == 2:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"REVOKE UPDATE ON {on('sluice_data_progress')} "
                                     f"FROM {account}")

    try:
        with pytest.raises(DataMigrationError) as caught:
            bump(deployer, revoke)
    finally:
        deployer.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {name}" if pg else "SELECT 1")
            conn.exec_driver_sql(f"DROP ROLE {name}" if pg else f"DROP USER {account}")
    message, hint = str(caught.value), caught.value.hint or ""
    assert "\n" not in message
    assert "cannot write its checkpoint in sluice_data_progress" in message, message
    assert re.search(r"permission denied|command denied", message), message
    assert "6 rows done" in message, message
    assert re.search(r"GRANT SELECT, INSERT, UPDATE, DELETE ON \S*sluice_data_progress",
                     hint), hint
    assert ns(engine) == [1] * 6 + [0] * 4
