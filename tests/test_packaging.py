"""The built wheel works on its own: installed into a fresh virtualenv (not this checkout),
``sluice demo`` and ``sluice init`` run.

Builds the wheel with ``pip wheel`` (dependencies come from the package index; pip's cache
makes a rerun quick) and runs the installed console script from a folder outside the
checkout, so nothing can be found through the source tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.cli import run_process

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.packaging


def run(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "ALEMBIC_CONFIG", "PYTHONHOME")}
    env["NO_COLOR"] = "1"
    return run_process(args, cwd=cwd, env=env, timeout=timeout, check=True)


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel built from this checkout installed; its bin/."""
    tmp = tmp_path_factory.mktemp("packaging")
    # built from a copy: no build/ left in the checkout, no stale files from an earlier build
    source = tmp / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "dist", "site", "*.egg-info", "__pycache__", ".*_cache",
        "_work", "*.db"))
    dist = tmp / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
        "-q", "-w", dist, source, cwd=tmp)
    (wheel,) = dist.glob("alembic_sluice-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "sluice/_examples/shop/alembic.ini" in names
    assert not any("__pycache__" in n or n.endswith(".db") for n in names)
    # every rule file ships; the rules' fixtures (revision files for tests) do not
    assert "sluice/rules/lint/sl001_drop_table.py" in names
    assert not any(".fixtures/" in n for n in names)
    venv = tmp / "venv"
    # the virtualenv gets no pip of its own (bootstrapping one costs seconds and is not what
    # is tested): this pip installs into it, wheel and dependencies from the package index,
    # without compiling every dependency's bytecode ahead (the commands below compile what
    # they import)
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    bindir = venv / "bin"
    run(sys.executable, "-m", "pip", "--python", bindir / "python", "install", "-q",
        "--no-compile", "--disable-pip-version-check", wheel, cwd=tmp)
    where = run(bindir / "python", "-c", "import sluice; print(sluice.__file__)", cwd=tmp)
    assert Path(where.stdout.strip()).is_relative_to(venv)  # the wheel, not this checkout
    return bindir


def test_demo_runs_from_the_installed_wheel(wheel_venv: Path, tmp_path: Path) -> None:
    proc = run(wheel_venv / "sluice", "demo", cwd=tmp_path)
    assert "Sluice demo on a copy of examples/shop" in proc.stdout


def test_init_runs_from_the_installed_wheel(wheel_venv: Path, tmp_path: Path) -> None:
    run(wheel_venv / "sluice", "init", tmp_path / "newproj", cwd=tmp_path)
    assert (tmp_path / "newproj" / "alembic.ini").is_file()
    run(wheel_venv / "sluice", "lint", "-c", tmp_path / "newproj" / "alembic.ini",
        cwd=tmp_path)
