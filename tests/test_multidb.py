"""A project made from Alembic's ``multidb`` template (``databases = engine1, engine2`` in
``[alembic]``; env.py migrates each database in one run): the commands that run env.py
against one database refuse it with one line that says so, instead of asking for a URL
or blaming env.py; the static lint still runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.cli import BIN, SLUICE, run_process


@pytest.fixture(scope="module")
def multidb_made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project, made once for the module: the tests only read it (each gets a copy;
    nothing in it names its folder, the databases are ``%(here)s/one.db`` and ``two.db``)."""
    root = tmp_path_factory.mktemp("multidb") / "m"
    root.mkdir()
    run_process([BIN / "alembic", "init", "-t", "multidb", "migrations"], cwd=root, check=True)
    ini = root / "alembic.ini"
    text = ini.read_text()
    for name in ("one", "two"):
        text = text.replace("sqlalchemy.url = driver://user:pass@localhost/dbname",
                            f"sqlalchemy.url = sqlite:///%(here)s/{name}.db", 1)
    ini.write_text(text, encoding="utf-8")
    run_process([SLUICE, "init"], cwd=root, check=True)
    run_process([BIN / "alembic", "revision", "-m", "one"], cwd=root, check=True)
    assert not list(root.glob("*.db"))
    return root


@pytest.fixture
def multidb(multidb_made: Path, tmp_path: Path) -> Path:
    root = tmp_path / "m"
    shutil.copytree(multidb_made, root)
    return root


@pytest.mark.parametrize("argv", [["upgrade"], ["plan"], ["downgrade", "base"],
                                  ["check"], ["check", "--url", "sqlite:///x.db"]])
def test_commands_that_run_env_py_on_one_database_refuse_multidb(
        multidb: Path, argv: list[str]) -> None:
    done = run_process([SLUICE, *argv], cwd=multidb)
    assert done.returncode == 2, done.stdout + done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith("sluice: error: alembic.ini: [alembic] databases = engine1, "
                           "engine2"), done.stderr
    assert "Traceback" not in done.stderr
    assert "pass --url" not in done.stderr
    assert not (multidb / "one.db").exists() or "upgrade" not in argv


def test_lint_still_reads_a_multidb_project(multidb: Path) -> None:
    done = run_process([SLUICE, "lint"], cwd=multidb)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 revision" in done.stdout
