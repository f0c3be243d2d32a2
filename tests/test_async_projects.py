"""Projects made by ``alembic init -t async`` (env.py runs ``async_engine_from_config``),
wired by ``sluice init``: the runner, ``sluice history`` and ``sluice check`` work with
the async driver in their URL, and ``sluice check``'s own databases are given to such an
env.py through an async driver."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from sluice.core import drivers
from sluice.errors import SluiceError
from tests.support.asyncproject import PLACEHOLDER_URL, async_init
from tests.support.cli import SLUICE, run_process
from tests.support.runner import chain, version, write_revision


def async_project(root: Path, url: str) -> Path:
    ini = async_init(root)  # `alembic init -t async migrations`, then `sluice init`
    text = ini.read_text()
    ini.write_text(text.replace(PLACEHOLDER_URL, url.replace("%", "%%")), encoding="utf-8")
    assert "configure_options(config)" in (root / "migrations" / "env.py").read_text()
    down = None
    for rev in chain(2):
        write_revision(root / "migrations" / "versions", rev, down)
        down = rev.id
    return ini


def test_upgrade_history_downgrade_with_aiosqlite(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    ini = async_project(tmp_path / "p", f"sqlite+aiosqlite:///{db}")
    up = run_process([SLUICE, "upgrade", "-c", ini])
    assert up.returncode == 0, up.stderr
    assert "applied 2 revisions" in up.stdout
    assert version(f"sqlite:///{db}") == ["r0002"]
    hist = run_process([SLUICE, "history", "-c", ini], check=True)
    assert hist.stdout.count("succeeded") == 2, hist.stdout
    down = run_process([SLUICE, "downgrade", "base", "-c", ini], check=True)
    assert "reverted 2 revisions" in down.stdout
    assert version(f"sqlite:///{db}") == []


def test_check_runs_an_async_env_py_on_its_temporary_sqlite(tmp_path: Path) -> None:
    ini = async_project(tmp_path / "p", "sqlite+aiosqlite:///unused.db")
    done = run_process([SLUICE, "check", "-c", ini, "--only", "graph,upgrade,roundtrip"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 revisions applied" in done.stdout
    given = tmp_path / "given.db"
    done = run_process([SLUICE, "check", "-c", ini, "--only", "upgrade",
                        "--url", f"sqlite+aiosqlite:///{given}"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert version(f"sqlite:///{given}") == ["r0002"]


def test_check_runs_an_async_env_py_on_a_scratch_postgresql(tmp_path: Path,
                                                           pg_url: str) -> None:
    """A server URL with a synchronous driver: the scratch database reaches env.py's
    async engine through psycopg 3, Sluice's own connections stay synchronous."""
    ini = async_project(tmp_path / "p", "sqlite+aiosqlite:///unused.db")
    server = make_url(pg_url).set(drivername="postgresql+psycopg")
    done = run_process([SLUICE, "check", "-c", ini, "--only", "upgrade,roundtrip",
                        "--url", server.render_as_string(hide_password=False), "--scratch"])
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("driver", ["psycopg_async", "asyncpg"])
def test_upgrade_with_an_async_postgresql_url(tmp_path: Path, pg_url: str,
                                              driver: str) -> None:
    url = make_url(pg_url).set(drivername=f"postgresql+{driver}")
    ini = async_project(tmp_path / "p", url.render_as_string(hide_password=False))
    up = run_process([SLUICE, "upgrade", "-c", ini])
    assert up.returncode == 0, up.stderr
    assert version(pg_url) == ["r0002"]
    hist = run_process([SLUICE, "history", "-c", ini], check=True)
    assert hist.stdout.count("succeeded") == 2, hist.stdout


def test_sync_and_async_urls() -> None:
    assert str(drivers.sync_url("sqlite+aiosqlite:///a.db")) == "sqlite+pysqlite:///a.db"
    assert str(drivers.sync_url("sqlite:///a.db")) == "sqlite:///a.db"
    assert drivers.sync_url("postgresql+psycopg_async://u@h/d").drivername == "postgresql+psycopg"
    assert drivers.sync_url("postgresql+psycopg://u@h/d").drivername == "postgresql+psycopg"
    assert str(drivers.async_url("sqlite:///a.db")) == "sqlite+aiosqlite:///a.db"
    assert drivers.async_url("postgresql+psycopg2://u@h/d").drivername == "postgresql+psycopg"
    assert drivers.async_url("sqlite+aiosqlite:///a.db").drivername == "sqlite+aiosqlite"


def test_no_synchronous_driver_is_one_line_naming_the_package(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("psycopg", "psycopg2", "pg8000")
                        else real(name, *a))
    with pytest.raises(SluiceError) as err:
        drivers.sync_url("postgresql+psycopg_async://u:secret@h/d")
    assert "synchronous driver for postgresql" in str(err.value)
    assert "secret" not in str(err.value)
    assert "psycopg" in (err.value.hint or "")


def test_check_without_an_async_driver_is_one_line_naming_the_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sluice.check import context
    from tests.support.cli import run_cli

    ini = async_project(tmp_path / "p", "sqlite+aiosqlite:///unused.db")
    monkeypatch.setattr(context, "async_url", lambda url: None)
    res = run_cli(["check", "-c", ini, "--only", "upgrade"])
    assert res.exit_code == 2, res.output
    lines = res.stderr.splitlines()
    assert lines[0].startswith("sluice: error: migrations/env.py: env.py runs an async engine"), \
        res.stderr
    assert "pip install aiosqlite" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_trace_reads_the_locks_of_an_async_env_py(tmp_path: Path, pg_url: str,
                                                  driver: str) -> None:
    """``sluice trace`` hooks the statements env.py's async engine runs (through the
    driver's SQLAlchemy adapter) and keeps its own catalog connections synchronous;
    Alembic's lines stay out of its output."""
    import json

    ini = async_project(tmp_path / "p", "sqlite+aiosqlite:///unused.db")
    server = make_url(pg_url).set(drivername=f"postgresql+{driver}", database="postgres")
    done = run_process([SLUICE, "trace", "-c", ini, "--url",
                        server.render_as_string(hide_password=False), "--format", "json"])
    assert done.returncode == 0, done.stderr
    assert "INFO  [alembic" not in done.stderr
    revisions = json.loads(done.stdout)["revisions"]
    assert [r["revision"] for r in revisions] == ["r0001", "r0002"]
    for rev in revisions:
        assert len(rev["statements"]) == 2, rev
        assert all(s["locks"] for s in rev["statements"]), rev
