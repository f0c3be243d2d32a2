"""Database URLs users give (``--url``, an environment variable, a config key) are checked
in one place, :func:`sluice.core.urls.database_url`, before anything connects: a URL
SQLAlchemy cannot parse or load is exit 2 with one line naming where it came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.core.urls import database_url
from sluice.errors import SluiceError
from tests.support.cli import run_cli
from tests.support.modules import forget_modules

POSTGRES = "postgres://app:secret@db/app"
POSTGRES_MESSAGE = ("postgres://app:***@db/app: SQLAlchemy has no dialect 'postgres'; write "
                    "postgresql:// (postgresql://app:***@db/app)")
NOT_A_URL_MESSAGE = ("'notaurl' is not a database URL SQLAlchemy can read; write one like "
                     "postgresql://user@host:5432/dbname, mysql+pymysql://user@host/dbname, "
                     "sqlite:///path/to/file.db")


@pytest.mark.parametrize("url", ["sqlite:///x.db", "sqlite://", "postgresql://u@h/db",
                                 "postgresql+psycopg://u@h:5432/db", "mysql+pymysql://u@h/db",
                                 "mariadb://u@h/db", "postgresql+asyncpg://u@h/db"])
def test_usable_urls_pass_unchanged(url: str) -> None:
    assert database_url(url, origin="--url") == url


def test_postgres_scheme_says_to_write_postgresql_with_the_password_masked() -> None:
    with pytest.raises(SluiceError) as err:
        database_url(POSTGRES, origin="--url")
    assert str(err.value) == f"--url: {POSTGRES_MESSAGE}"
    with pytest.raises(SluiceError) as err:
        database_url("postgres+psycopg://u@h/db", origin="X")
    assert str(err.value).endswith("write postgresql:// (postgresql+psycopg://u@h/db)")


def test_a_string_that_is_no_url_is_named_with_its_password_masked() -> None:
    with pytest.raises(SluiceError) as err:
        database_url("notaurl", origin="SLUICE_CHECK_URL")
    assert str(err.value) == f"SLUICE_CHECK_URL: {NOT_A_URL_MESSAGE}"
    with pytest.raises(SluiceError) as err:
        database_url("postgresql://u:secret@h:port/db", origin="--url")
    assert "secret" not in str(err.value) and "u:***@h:port" in str(err.value)


@pytest.mark.parametrize("url, what", [
    ("nosuchdb://u@h/db", "the dialect 'nosuchdb'"),
    ("postgresql+nosuchdriver://u@h/db", "the driver 'nosuchdriver' for postgresql"),
])
def test_an_unknown_dialect_or_driver_is_named(url: str, what: str) -> None:
    with pytest.raises(SluiceError) as err:
        database_url(url, origin="--url")
    assert str(err.value).startswith(f"--url: {url}: SQLAlchemy cannot load {what} (")
    assert "\n" not in str(err.value)


def _sluice(project: Path, *args: str, env: dict[str, str | None] | None = None) -> tuple[int, str]:
    forget_modules(project)
    result = run_cli(list(args), cwd=project, env=env)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stderr


@pytest.mark.parametrize("command", [["upgrade", "-y"], ["plan"], ["downgrade", "base", "-y"],
                                     ["history"], ["graph"], ["trace"], ["check"]])
@pytest.mark.parametrize("url, message", [(POSTGRES, POSTGRES_MESSAGE),
                                          ("notaurl", NOT_A_URL_MESSAGE)])
def test_every_command_taking_url_says_the_same_line(shop: Path, command: list[str], url: str,
                                                     message: str) -> None:
    """Before: upgrade/plan/downgrade blamed env.py's line, history and check gave
    SQLAlchemy's words naming neither URL nor option, check --url postgres:// was a failed
    upgrade check (exit 1)."""
    assert _sluice(shop, *command, "--url", url) == (2, f"sluice: error: --url: {message}\n")


def test_trace_names_its_environment_variable(shop: Path) -> None:
    assert _sluice(shop, "trace", env={"SLUICE_TRACE_URL": "notaurl"}) == (
        2, f"sluice: error: SLUICE_TRACE_URL: {NOT_A_URL_MESSAGE}\n")


def test_an_environment_url_in_config_names_its_key_and_line(shop: Path) -> None:
    toml = shop / "sluice.toml"
    toml.write_text(f'default_environment = "dev"\n\n[environments.dev]\nurl = "{POSTGRES}"\n'
                    "[environments.prod]\n")
    assert _sluice(shop, "plan") == (
        2, f"sluice: error: {toml}:4: environments.dev.url: {POSTGRES_MESSAGE}\n")
