"""``script_location = myapp:migrations``: Alembic's package-resource form (the scripts
folder inside an importable package, found through ``prepend_sys_path``). Every command
reads the project as ``alembic`` does, the lint (which starts without Alembic) included."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import BIN, SLUICE, run_process

REVISION = '''"""drop the legacy column

Revision ID: r1
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None


def upgrade():
    op.drop_column("orders", "legacy")


def downgrade():
    op.add_column("orders", sa.Column("legacy", sa.Text()))
'''


@pytest.fixture(scope="module")
def project_made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``alembic init myapp/migrations``, then script_location as a package resource; made
    once for the module, each test gets a copy (with its own database URL: nothing else in
    the project names its folder, and ``sluice init`` reads env.py, not the URL)."""
    root = tmp_path_factory.mktemp("script_location") / "proj"
    (root / "myapp").mkdir(parents=True)
    (root / "myapp" / "__init__.py").write_text("")
    run_process([BIN / "alembic", "init", "myapp/migrations"], cwd=root, check=True)
    (root / "myapp" / "migrations" / "__init__.py").write_text("")
    ini = root / "alembic.ini"
    text = ini.read_text()
    text = text.replace("script_location = %(here)s/myapp/migrations",
                        "script_location = myapp:migrations")
    text = text.replace("script_location = myapp/migrations",
                        "script_location = myapp:migrations")
    text = "\n".join(
        f"sqlalchemy.url = sqlite:///{root / 'app.db'}" if line.startswith("sqlalchemy.url")
        else line for line in text.splitlines()) + "\n"
    assert "script_location = myapp:migrations" in text
    ini.write_text(text)
    (root / "myapp" / "migrations" / "versions" / "r1_drop.py").write_text(REVISION)
    run_process([SLUICE, "init"], cwd=root, check=True)
    assert not (root / "app.db").exists()
    return root


@pytest.fixture
def project(project_made: Path, tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(project_made, root, ignore=shutil.ignore_patterns("__pycache__"))
    ini = root / "alembic.ini"
    ini.write_text(ini.read_text().replace(f"sqlite:///{project_made / 'app.db'}",
                                           f"sqlite:///{root / 'app.db'}"))
    assert str(project_made) not in "".join(
        p.read_text() for p in root.rglob("*") if p.is_file())
    return root


def sluice(root: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_process([SLUICE, *args], cwd=cwd or root, timeout=120)


def test_alembic_reads_it(project: Path) -> None:
    done = run_process([BIN / "alembic", "heads"], cwd=project)
    assert done.returncode == 0 and "r1" in done.stdout, done.stderr


@pytest.mark.parametrize("args", [["lint"], ["lint", "--no-cache", "--format", "json"],
                                  ["lint", "--dialect", "sqlite"]])
def test_lint_reads_the_package_folder(project: Path, args: list[str]) -> None:
    done = sluice(project, *args)
    assert done.returncode == 1, done.stderr
    assert "SL002" in done.stdout and "r1_drop.py" in done.stdout
    assert "no such folder" not in done.stderr


def test_lint_from_another_folder_with_the_ini_path(project: Path, tmp_path: Path) -> None:
    """prepend_sys_path (``.``) is tried from the working directory and from the folder
    of alembic.ini, as for every other path Sluice reads from alembic.ini."""
    done = sluice(project, "lint", "-c", str(project / "alembic.ini"), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "SL002" in done.stdout


def test_fix_check_and_upgrade_read_it_too(project: Path) -> None:
    fix = sluice(project, "fix", "--diff")
    assert fix.returncode in (0, 1) and "no such folder" not in fix.stderr, fix.stderr
    graph = sluice(project, "check", "--only", "graph")
    assert "no such folder" not in graph.stdout + graph.stderr
    assert "1 revision, 1 head (r1)" in graph.stdout
    up = sluice(project, "upgrade")
    assert up.returncode != 0 and "r1" in up.stderr  # drop_column of a missing column
    assert "no such folder" not in up.stderr


def test_a_package_that_cannot_be_found_is_one_line(project: Path) -> None:
    ini = project / "alembic.ini"
    ini.write_text(ini.read_text().replace("myapp:migrations", "nosuchapp:migrations"))
    done = sluice(project, "lint")
    assert done.returncode == 2
    error, hint = done.stderr.strip().splitlines()  # the error, then what to do
    assert "Traceback" not in done.stderr
    assert error == ("sluice: error: alembic.ini: script_location nosuchapp:migrations: no "
                     "package nosuchapp on prepend_sys_path or sys.path")
    assert "prepend_sys_path" in hint
