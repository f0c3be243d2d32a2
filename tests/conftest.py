"""Shared fixtures: throwaway Alembic projects and one database per test.

PostgreSQL and MariaDB/MySQL tests read ``SLUICE_TEST_POSTGRES_URL`` and
``SLUICE_TEST_MYSQL_URL`` (see ``tests.support.servers``). Shared code that tests import
lives in ``tests.support``, not here.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sluice.scratch import scratch_database
from tests.support.databases import DatabasePool
from tests.support.paths import EXAMPLE, MULTISERVICE
from tests.support.servers import check_servers, server_url


def pytest_sessionstart(session: pytest.Session) -> None:
    check_servers()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[DatabasePool]:
    """This process's PostgreSQL test databases, each made while the test before runs."""
    pool = DatabasePool(server_url("postgresql"))
    yield pool
    pool.close()


@pytest.fixture
def pg_url(pg_databases: DatabasePool) -> Iterator[str]:
    """A fresh PostgreSQL database for this test, dropped afterwards."""
    with pg_databases.fresh() as url:
        yield url


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A fresh MariaDB/MySQL database for this test, dropped afterwards."""
    with scratch_database(server_url("mysql"), prefix="sluice_t") as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on SQLite, PostgreSQL and MariaDB, each with its own database."""
    backend = request.param
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if backend == "postgresql":
        yield request.getfixturevalue("pg_url")
        return
    with scratch_database(server_url(backend), prefix="sluice_t") as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Path]:
    """A private copy of examples/shop; its app package is importable and forgotten after."""
    dest = tmp_path / "shop"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    yield dest
    for name in list(sys.modules):
        if name == "shopapp" or name.startswith("shopapp."):
            del sys.modules[name]


@pytest.fixture
def multiservice(tmp_path: Path) -> Iterator[Path]:
    """A private copy of examples/multiservice; its app package is forgotten after."""
    dest = tmp_path / "multiservice"
    shutil.copytree(MULTISERVICE, dest, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    yield dest
    for name in list(sys.modules):
        if name == "msapp" or name.startswith("msapp."):
            del sys.modules[name]
