"""Services in a project made with `alembic init -t pyproject`: version_locations is a TOML
list in pyproject.toml's [tool.alembic], as docs/services.md shows. A service's revision
goes to its own folder, the trunk's to --version-path; without it (several folders) the
run stops with one line before any file is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.cli import BIN, run_process

ENV_PY = '''\
from alembic import context
from sqlalchemy import engine_from_config, pool

from sluice import configure_options
from myapp.models import Base

config = context.config
engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                            prefix="sqlalchemy.", poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      **configure_options(config))
    with context.begin_transaction():
        context.run_migrations()
'''

MODELS = '''\
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)


class Invoice(Base):
    __tablename__ = "invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
'''

LOCATIONS = ('version_locations = ["%(here)s/migrations/versions/shared", '
             '"%(here)s/migrations/versions/billing"]')


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    out = run_process([BIN / "alembic", "init", "-t", "pyproject", "migrations"], cwd=tmp_path,
                      check=False, env={**os.environ, "PWD": str(tmp_path)})
    if out.returncode != 0:
        pytest.skip(f"this Alembic has no pyproject template: {out.stderr.strip()[-200:]}")
    root.mkdir()
    for name in ("alembic.ini", "pyproject.toml", "migrations"):
        (tmp_path / name).rename(root / name)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    for folder in ("shared", "billing"):
        (root / "migrations" / "versions" / folder).mkdir(parents=True)
    (root / "myapp").mkdir()
    (root / "myapp" / "__init__.py").write_text("")
    (root / "myapp" / "models.py").write_text(MODELS)
    ini = (root / "alembic.ini").read_text().splitlines(keepends=True)
    (root / "alembic.ini").write_text("".join(
        f"sqlalchemy.url = sqlite:///{root / 'app.db'}\n" if line.startswith("sqlalchemy.url")
        else line for line in ini))
    toml = (root / "pyproject.toml").read_text()
    assert "# version_locations = [" in toml
    toml = toml.replace("# version_locations = [", LOCATIONS + "\n# version_locations = [", 1)
    (root / "pyproject.toml").write_text(toml + '\n[tool.sluice.services.billing]\n'
                                         'tables = ["invoice*"]\n'
                                         'version_location = "migrations/versions/billing"\n')
    return root


def alembic(root: Path, *args: str) -> tuple[int, str]:
    out = run_process([BIN / "alembic", *args], cwd=root, check=False,
                      env={**os.environ, "CI": "true"})
    return out.returncode, out.stdout + out.stderr


def files(root: Path, folder: str) -> list[str]:
    return sorted(p.name for p in (root / "migrations" / "versions" / folder).glob("*.py"))


def test_split_puts_the_service_revision_in_its_folder_and_the_trunk_in_version_path(
        project: Path) -> None:
    code, out = alembic(project, "revision", "--autogenerate", "-m", "init",
                        "--version-path", "migrations/versions/shared")
    assert code == 0, out
    assert [n for n in files(project, "shared") if "billing" in n] == [], out
    assert len(files(project, "shared")) == 1 and len(files(project, "billing")) == 1, out
    assert "branch_labels" in (project / "migrations" / "versions" / "billing" /
                               files(project, "billing")[0]).read_text()


def test_trunk_without_version_path_stops_before_writing_anything(project: Path) -> None:
    code, out = alembic(project, "revision", "--autogenerate", "-m", "init")
    assert code != 0
    assert "say where it goes with --version-path" in out, out
    assert "split into" not in out, out  # nothing announced that was not written
    assert files(project, "shared") == [] and files(project, "billing") == []


def test_missing_location_names_the_toml_list(project: Path) -> None:
    toml = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(toml.replace(
        LOCATIONS, 'version_locations = ["%(here)s/migrations/versions/shared"]'))
    code, out = alembic(project, "revision", "--autogenerate", "-m", "init",
                        "--version-path", "migrations/versions/shared")
    assert code != 0
    assert "is not one of the version_locations in pyproject.toml [tool.alembic]" in out, out
    assert 'add "%(here)s/migrations/versions/billing" to that TOML list' in out, out
    assert "alembic.ini" not in out.split("FAILED:")[-1], out
