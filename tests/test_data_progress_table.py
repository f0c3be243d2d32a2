"""``[data] progress_table`` naming a table that is not a checkpoint table (Alembic's
version table, Sluice's audit table, a table of the project) is refused in one line:
when the configuration loads for the names known to be taken, at the step's first use
otherwise, before any row is touched, naming the table and the columns expected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from sluice.config import DataConfig, load_config
from sluice.core.alembic_compat import kept_proxies
from sluice.data import DataMigrationError, backfill, batched_update, clear_checkpoints
from sluice.errors import ConfigError
from tests.support.runner import SLUICE_TOML, Rev, make_project


@pytest.mark.parametrize("name", ["alembic_version", "sluice_history", "sluice_lock_holder",
                                  "Alembic_Version"])
def test_a_table_taken_by_alembic_or_sluice_is_refused_when_the_config_loads(
        tmp_path: Path, name: str) -> None:
    (tmp_path / "sluice.toml").write_text(f'[data]\nprogress_table = "{name}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    message = str(info.value)
    assert f"sluice.toml:2: data.progress_table: '{name}' is " in message, message
    assert "\n" not in message
    assert "sluice_data_progress" in message  # what to write instead


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = sa.create_engine(db_url)
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE items (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO items VALUES (1, 0), (2, 0), (3, 0)")
        conn.exec_driver_sql("CREATE TABLE audit_log (revision VARCHAR(40), step "
                             "VARCHAR(40), note VARCHAR(40))")
        conn.exec_driver_sql("INSERT INTO audit_log VALUES ('', 's', 'keep me')")
    yield eng
    eng.dispose()


def untouched(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT n FROM items ORDER BY id")).scalars().all() == [
            0, 0, 0]
        assert conn.execute(sa.text("SELECT note FROM audit_log")).scalars().all() == [
            "keep me"]


EXPECTED = ("revision, step, last_key, rows_done, rows_changed, batches, started, updated, "
            "finished")


def test_a_project_table_as_progress_table_is_refused_at_first_use(engine: sa.Engine) -> None:
    config = DataConfig(progress_table="audit_log", log_interval_s=3600)
    items = sa.table("items", sa.column("id"), sa.column("n"))
    for step in (lambda c: batched_update(items, {"n": 1}, connection=c, step="s",
                                          config=config),
                 lambda c: backfill(items, lambda rows: rows, connection=c, step="s",
                                    config=config)):
        with engine.connect() as conn, pytest.raises(DataMigrationError) as info:
            step(conn)
        message = str(info.value)
        assert "\n" not in message, message
        assert message.startswith(
            "sluice.data: step 's': its checkpoint table 'audit_log' "
            "([tool.sluice.data] progress_table) is not one: it has no column last_key, "
            "rows_done, rows_changed, batches, started, updated, finished"), message
        assert f"a checkpoint table has the columns {EXPECTED}" in message, message
        assert "sluice_data_progress" in message
        untouched(engine)


def test_clear_checkpoints_refuses_a_table_that_is_not_one(engine: sa.Engine) -> None:
    with engine.connect() as conn, pytest.raises(DataMigrationError,
                                                 match=r"^sluice.data: table 'audit_log' is "
                                                       r"not a checkpoint table: it has no "
                                                       r"column last_key"):
        clear_checkpoints(conn, table="audit_log")
    untouched(engine)


ENV_WITH_VERSION_TABLE = '''\
from alembic import context
from sqlalchemy import engine_from_config, pool

from sluice import configure_options

config = context.config
connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                 prefix="sqlalchemy.", poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=None,
                      version_table="deploy_versions", **configure_options(config))
    with context.begin_transaction():
        context.run_migrations()
'''


def test_a_renamed_alembic_version_table_is_refused_inside_the_migration(
        tmp_path: Path) -> None:
    """env.py names Alembic's version table (``version_table=``) and the configuration
    gives the checkpoints the same name: the step refuses it, naming the table."""
    create = ('op.create_table("items", sa.Column("id", sa.Integer(), primary_key=True), '
              'sa.Column("n", sa.Integer(), nullable=False))\n'
              'op.execute("INSERT INTO items VALUES (1, 0)")')
    step = ('from sluice.data import batched_update\n'
            'batched_update(sa.table("items", sa.column("id"), sa.column("n")), {"n": 1})')
    ini = make_project(tmp_path / "proj",
                       [Rev(id="r0001", upgrade=create), Rev(id="r0002", upgrade=step)],
                       toml=SLUICE_TOML + '[data]\nprogress_table = "deploy_versions"\n',
                       env_py=ENV_WITH_VERSION_TABLE)
    cfg = Config(str(ini))
    with kept_proxies(), pytest.raises(DataMigrationError) as info:
        command.upgrade(cfg, "head")
    message = str(info.value)
    assert "\n" not in message, message
    assert ("its checkpoint table 'deploy_versions' ([tool.sluice.data] progress_table) is "
            "not one: it has no column revision, step, last_key") in message, message
    engine = sa.create_engine(f"sqlite:///{ini.parent / 'app.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT n FROM items")).scalar() == 0
            assert conn.execute(sa.text("SELECT version_num FROM deploy_versions")
                                ).scalars().all() == ["r0001"]
    finally:
        engine.dispose()
