"""``sqlite://app.db`` (two slashes: ``app.db`` read as a host) is the most common SQLite
URL typo. Every command taking ``--url`` says so in one line with the URL to write,
instead of calling it an in-memory database (check) or printing SQLAlchemy's multi-line
list of valid forms (graph)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.core.urls import database_url
from sluice.errors import SluiceError
from tests.support.cli import run_cli
from tests.support.modules import forget_modules


@pytest.mark.parametrize(("url", "fixed"), [("sqlite://app.db", "sqlite:///app.db"),
                                            ("sqlite://data/app.db", "sqlite:///data/app.db")])
def test_a_host_in_a_sqlite_url_names_the_url_to_write(url: str, fixed: str) -> None:
    with pytest.raises(SluiceError) as err:
        database_url(url, origin="--url")
    assert str(err.value).startswith(f"--url: {url}: ")
    assert f"write {fixed}" in str(err.value)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///app.db", "sqlite:////abs/app.db",
                                 "sqlite:///:memory:"])
def test_usable_sqlite_urls_pass(url: str) -> None:
    assert database_url(url, origin="--url") == url


@pytest.mark.parametrize("command", [["check"], ["graph"], ["plan"], ["history"]])
def test_every_command_says_it_in_one_line(shop: Path, command: list[str]) -> None:
    forget_modules(shop)
    result = run_cli([*command, "--url", "sqlite://app.db"], cwd=shop)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sluice: error: --url: sqlite://app.db: ")
    assert "write sqlite:///app.db" in lines[0]
    assert "in-memory" not in lines[0]
