"""``alembic -x env=staging upgrade head`` where staging names its own database (``url``)
but env.py connects to alembic.ini's: refused before anything runs, in every environment
(not only those with ``guard_alembic``). Offline ``--sql`` runs and environments without
``url`` are as before."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from sluice.core.project import alembic_config
from sluice.errors import SluiceError, mask_url
from sluice.trace import trace
from tests.support.databases import DatabasePool
from tests.support.runner import SLUICE_TOML, Rev, make_project
from tests.support.servers import server_url

REVS = [Rev("r0001", 'op.create_table("t1", sa.Column("id", sa.Integer(), primary_key=True))',
            'op.drop_table("t1")')]


@pytest.fixture(params=["sqlite", "postgresql"])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The developer's database (alembic.ini's) and staging's, on the same server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dev.db'}", f"sqlite:///{tmp_path / 'staging.db'}"
        return
    pool: DatabasePool = request.getfixturevalue("pg_databases")
    with pool.fresh() as dev, pool.fresh() as staging:
        yield dev, staging


def project(root: Path, ini_url: str, staging_url: str | None) -> Path:
    extra = f'url = "{staging_url}"\n' if staging_url else ""
    ini = make_project(root, REVS, toml=SLUICE_TOML.replace(
        "[environments.staging]\n", f"[environments.staging]\n{extra}"))
    ini.write_text(ini.read_text(encoding="utf-8").replace(
        "sqlalchemy.url = sqlite:///%(here)s/app.db",
        f"sqlalchemy.url = {ini_url.replace('%', '%%')}"), encoding="utf-8")
    return ini


def tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def upgrade(ini: Path, *x: str, sql: bool = False) -> str:
    out = io.StringIO()
    cfg = alembic_config(ini, x_args=x, stdout=out)
    cfg.output_buffer = out  # offline SQL
    command.upgrade(cfg, "head", sql=sql)
    return out.getvalue()


def test_an_environment_s_url_is_the_only_database_plain_alembic_runs_on(
        tmp_path: Path, two_databases: tuple[str, str]) -> None:
    dev, staging = two_databases
    ini = project(tmp_path / "p", dev, staging)
    with pytest.raises(SluiceError) as refused:
        upgrade(ini, "env=staging")
    message = str(refused.value)
    toml = ini.parent / "sluice.toml"
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"environment staging names its database in {toml}:"), message
    assert (f": environments.staging.url ({mask_url(make_url(staging))}), but this alembic "
            f"run is connected to {mask_url(make_url(dev))}: nothing was run. Run "
            f"`sluice upgrade -c {ini} --env staging`") in message
    assert "t1" not in tables(dev) and "t1" not in tables(staging)


def test_the_environment_s_own_database_offline_sql_and_no_url_run_as_before(
        tmp_path: Path, two_databases: tuple[str, str]) -> None:
    dev, staging = two_databases
    # offline: no connection to compare, the SQL is written as before
    assert "CREATE TABLE t1" in upgrade(project(tmp_path / "a", dev, staging),
                                        "env=staging", sql=True)
    # an environment without url: alembic.ini's database, as before
    upgrade(project(tmp_path / "b", dev, None), "env=staging")
    assert "t1" in tables(dev)
    # the environment's own database
    upgrade(project(tmp_path / "c", staging, staging), "env=staging")
    assert "t1" in tables(staging)


def test_sluice_trace_runs_on_its_scratch_database_whatever_the_environment_s_url(
        tmp_path: Path) -> None:
    """``sluice trace --env staging`` runs the revisions on a scratch database Sluice made
    itself: the environment's own database is not the one to compare with."""
    ini = project(tmp_path / "p", f"sqlite:///{tmp_path / 'dev.db'}",
                  f"sqlite:///{tmp_path / 'staging.db'}")
    result = trace(ini, server_url("postgresql"), env="staging", crosscheck=False)
    assert result.failure is None
    assert [r.revision for r in result.revisions] == ["r0001"]
