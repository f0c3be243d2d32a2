"""Shared fixtures: throwaway Alembic projects and one database per test.

PostgreSQL and MariaDB/MySQL tests read ``SLUICE_TEST_POSTGRES_URL`` and
``SLUICE_TEST_MYSQL_URL``. Without them those tests skip with a reason; with ``CI=true``
a missing or unreachable server fails the whole session instead.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sluice.errors import DatabaseUnavailable
from sluice.scratch import check_reachable, scratch_database

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "shop"
MULTISERVICE = REPO / "examples" / "multiservice"
SERVERS = {"postgresql": "SLUICE_TEST_POSTGRES_URL", "mysql": "SLUICE_TEST_MYSQL_URL"}
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_unreachable: dict[str, str] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    for backend, var in SERVERS.items():
        url = os.environ.get(var)
        if not url:
            if IN_CI:
                pytest.exit(f"CI=true but {var} is not set; {backend} tests must run in CI",
                            returncode=1)
            _unreachable[backend] = f"{var} is not set"
            continue
        try:
            check_reachable(url)
        except DatabaseUnavailable as exc:
            if IN_CI:
                pytest.exit(f"CI=true and {var} is unreachable: {exc}", returncode=1)
            _unreachable[backend] = str(exc)


def server_url(backend: str) -> str:
    if backend in _unreachable:
        pytest.skip(f"{backend} tests need a server: {_unreachable[backend]}")
    return os.environ[SERVERS[backend]]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test, dropped afterwards."""
    with scratch_database(server_url("postgresql"), prefix="sluice_t") as url:
        yield url.render_as_string(hide_password=False)


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
