"""The database servers of a test run.

PostgreSQL and MariaDB/MySQL tests read ``SLUICE_TEST_POSTGRES_URL`` and
``SLUICE_TEST_MYSQL_URL``. Without them those tests skip with a reason; with ``CI=true``
a missing or unreachable server fails the whole session instead (``check_servers``, called
by the conftest at session start).
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy.engine import make_url

from sluice.errors import DatabaseUnavailable
from sluice.scratch import check_reachable

SERVERS = {"postgresql": "SLUICE_TEST_POSTGRES_URL", "mysql": "SLUICE_TEST_MYSQL_URL"}
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_unreachable: dict[str, str] = {}


def check_servers() -> None:
    """Note which servers are missing; in CI, a missing one ends the session."""
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
    """The server URL of ``backend``; skips the test when there is none outside CI."""
    if backend in _unreachable:
        pytest.skip(f"{backend} tests need a server: {_unreachable[backend]}")
    return without_tls_negotiation(os.environ[SERVERS[backend]])


def without_tls_negotiation(url: str) -> str:
    """``url`` with ``ssl_disabled=true`` when it is a PyMySQL URL without TLS options.

    PyMySQL 1.2 prepares a TLS context for every connection it opens, to offer TLS to a
    server that takes it; that loads the system's CA certificates each time (about 45 ms,
    twenty times the cost of the connection itself to a local server), and the test run
    opens thousands of connections. The test servers are local and their traffic needs no
    TLS; a URL that sets TLS options of its own (``ssl_ca=...``) is left as it is."""
    u = make_url(url)
    if u.get_driver_name() != "pymysql" or any(k.startswith("ssl") for k in u.query):
        return url
    return u.update_query_dict({"ssl_disabled": "true"}).render_as_string(hide_password=False)
