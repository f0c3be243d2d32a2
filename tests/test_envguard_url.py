"""Plain ``alembic -x env=NAME`` connects where env.py says, not to the environment's
``url``: the guards refuse to run on another database than the environment names."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.runner import SLUICE_TOML, Rev, make_project

REVS = [Rev("r0001", 'op.create_table("t1", sa.Column("id", sa.Integer(), primary_key=True))',
            'op.drop_table("t1")')]


def alembic(ini: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).with_name("alembic")), "-c", str(ini),
                           *args], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("same", [False, True])
def test_the_environment_s_url_must_be_the_database_alembic_connects_to(
        tmp_path: Path, same: bool) -> None:
    root = tmp_path / "p"
    target = root / "app.db" if same else tmp_path / "prod.db"
    toml = SLUICE_TOML.replace(
        "[environments.test]\n",
        f'[environments.test]\nguard_alembic = true\nurl = "sqlite:///{target}"\n')
    ini = make_project(root, REVS, toml=toml)
    done = alembic(ini, "-x", "env=test", "upgrade", "head")
    app = root / "app.db"
    tables = {r[0] for r in sqlite3.connect(app).execute(
        "select name from sqlite_master")} if app.exists() else set()
    if same:
        assert done.returncode == 0, done.stderr
        assert "t1" in tables
        return
    assert done.returncode != 0 and "Traceback" not in done.stdout + done.stderr
    assert done.stdout.startswith(
        f"FAILED: environment test names its database in {root / 'sluice.toml'}:")
    assert ": environments.test.url (sqlite:///" in done.stdout
    assert f"(sqlite:///{target}), but this alembic run is connected to sqlite:///" in done.stdout
    assert f"nothing was run. Run `sluice upgrade -c {ini} --env test`" in done.stdout
    assert "t1" not in tables


@pytest.mark.parametrize(("args", "said"), [
    (["-x", "env=test", "-x", "env=dev"], "-x env=test and -x env=dev disagree; pass one"),
    (["-x", "Env=test"], "did you mean -x env=test?"),
])
def test_plain_alembic_refuses_conflicting_or_misspelt_x_env(
        tmp_path: Path, args: list[str], said: str) -> None:
    """Alembic's dictionary of -x keeps the last env: a deploy meant for a guarded
    environment would run as another, without its guards."""
    root = tmp_path / "p"
    toml = SLUICE_TOML.replace("[environments.test]\n",
                               "[environments.test]\nguard_alembic = true\n")
    ini = make_project(root, REVS, toml=toml)
    done = alembic(ini, *args, "upgrade", "head")
    assert done.returncode != 0 and "Traceback" not in done.stdout + done.stderr
    assert said in done.stdout + done.stderr
    app = root / "app.db"
    tables = {r[0] for r in sqlite3.connect(app).execute(
        "select name from sqlite_master")} if app.exists() else set()
    assert "t1" not in tables
