"""env.py that connects to a database of its own choosing (``config.set_main_option(
"sqlalchemy.url", os.environ["DATABASE_URL"])``, a common recipe) while alembic.ini names
another: every command speaks of the database env.py migrates, the one `alembic upgrade`
would change, never of the ini's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.runner import ENV_PY, chain, make_project

OWN_URL = ENV_PY.replace(
    "config = context.config\n",
    "config = context.config\nimport os\n"
    "config.set_main_option('sqlalchemy.url', os.environ['APP_DATABASE_URL'])\n", 1)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    """(alembic.ini, the ini's database, the database env.py migrates)."""
    root = tmp_path / "proj"
    ini = make_project(root, chain(2), env_py=OWN_URL)
    local, real = root / "app.db", root / "real.db"  # the ini names app.db
    assert "sqlite:///%(here)s/app.db" in ini.read_text()
    monkeypatch.setenv("APP_DATABASE_URL", f"sqlite:///{real}")
    return ini, local, real


def test_upgrade_history_and_plan_name_the_database_env_py_migrates(
        project: tuple[Path, Path, Path]) -> None:
    ini, local, real = project
    up = run_cli(["upgrade", "r0001", "-c", ini])
    assert up.exit_code == 0, up.output
    with sqlite3.connect(real) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("r0001",)]
        assert db.execute("SELECT count(*) FROM sluice_history").fetchone() == (1,)
    history = run_cli(["history", "-c", ini])
    assert history.exit_code == 0, history.output
    assert str(real) in history.output and "r0001" in history.output
    assert "no upgrades recorded" not in history.output
    plan = run_cli(["plan", "-c", ini])
    assert plan.exit_code == 0, plan.output
    assert f"sqlite:///{real}" in plan.output and str(local) not in plan.output
    assert "current: r0001" in plan.output
    assert not local.exists()  # nothing read from, or created as, the ini's database


def test_history_with_url_reads_that_database(project: tuple[Path, Path, Path]) -> None:
    ini, _, real = project
    assert run_cli(["upgrade", "-c", ini]).exit_code == 0
    other = real.parent / "other.db"
    sqlite3.connect(other).close()  # an empty database (a missing file is exit 2)
    done = run_cli(["history", "-c", ini, "--url", f"sqlite:///{other}"])
    assert done.exit_code == 0, done.output
    assert "no upgrades recorded" in done.output and str(other) in done.output


def test_history_when_env_py_cannot_run_says_which_database_it_read(
        project: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    ini, local, _ = project
    monkeypatch.delenv("APP_DATABASE_URL")
    done = run_cli(["history", "-c", ini])
    assert done.exit_code == 0, done.output
    assert f"on sqlite:///{local}" in done.output
    assert "note: env.py was not run (" in done.output and "APP_DATABASE_URL" in done.output


def test_no_url_but_the_one_env_py_reads(project: tuple[Path, Path, Path]) -> None:
    """alembic.ini and Sluice's config name no URL; env.py sets its own, as `alembic
    upgrade` needs: the commands run on it, as Alembic's do."""
    ini, local, real = project
    ini.write_text(ini.read_text().replace("sqlalchemy.url = sqlite:///%(here)s/app.db\n", ""))
    up = run_cli(["upgrade", "-c", ini])
    assert up.exit_code == 0, up.output
    with sqlite3.connect(real) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("r0002",)]
        assert db.execute("SELECT count(*) FROM sluice_history").fetchone() == (2,)
    history = run_cli(["history", "-c", ini])
    assert history.exit_code == 0 and str(real) in history.output, history.output
    plan = run_cli(["plan", "-c", ini])
    assert plan.exit_code == 0 and f"sqlite:///{real}" in plan.output, plan.output
    down = run_cli(["downgrade", "-1", "-c", ini])
    assert down.exit_code == 0, down.output
    assert not local.exists()


def test_no_url_anywhere_is_one_line(project: tuple[Path, Path, Path],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ini, _, _ = project
    ini.write_text(ini.read_text().replace("sqlalchemy.url = sqlite:///%(here)s/app.db\n", ""))
    env_py = ini.parent / "migrations" / "env.py"
    env_py.write_text(ENV_PY)  # the template: the URL comes from sqlalchemy.url only
    for args in (["upgrade"], ["plan"], ["history"]):
        done = run_cli([*args, "-c", ini])
        assert done.exit_code == 2, (args, done.output)
        assert done.output.startswith("sluice: error: no database URL: pass --url"), done.output
        assert "Traceback" not in done.output
