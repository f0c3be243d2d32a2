"""Plain ``alembic check`` through Sluice's env.py glue only reports drift: Sluice's
autogenerate policies (empty revision refused, dangerous operations refused) stand aside.
An async env.py (``alembic init -t async``) calls ``context.configure()`` inside
``connection.run_sync``, on a greenlet where the ``alembic.command.check`` frame is not on
the stack: the command is recognised from what it hands env.py instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.core.alembic_compat import running_command
from tests.support.asyncproject import PLACEHOLDER_URL, async_init
from tests.support.cli import BIN, run_process
from tests.support.runner import chain, write_revision


def write_models(root: Path, *, drop_name_of: str | None = None) -> None:
    """The models of the two revisions of ``chain(2)``; ``drop_name_of``: that table
    without its ``name`` column (and index), as if removed from the models."""
    lines = ["import sqlalchemy as sa", "", "metadata = sa.MetaData()"]
    for t in ("t0001", "t0002"):
        lines.append(f'sa.Table("{t}", metadata, sa.Column("id", sa.Integer(), nullable=False),')
        if t != drop_name_of:
            lines.append('         sa.Column("name", sa.String(length=50)),')
            lines.append(f'         sa.Index("ix_{t}_name", "name"),')
        lines.append(f'         sa.PrimaryKeyConstraint("id", name="pk_{t}"))')
    (root / "appmodels.py").write_text("\n".join(lines) + "\n", encoding="utf-8")


def async_project(root: Path, url: str) -> Path:
    """``alembic init -t async`` wired by ``sluice init``, with models and two revisions."""
    ini = async_init(root)  # `alembic init -t async migrations`, then `sluice init`
    ini.write_text(ini.read_text().replace(PLACEHOLDER_URL, url), encoding="utf-8")
    env_py = root / "migrations" / "env.py"
    text = env_py.read_text()
    assert "target_metadata = None" in text and "run_sync" in text
    env_py.write_text(text.replace("target_metadata = None",
                                   "from appmodels import metadata as target_metadata"),
                      encoding="utf-8")
    write_models(root)
    down = None
    for rev in chain(2):
        write_revision(root / "migrations" / "versions", rev, down)
        down = rev.id
    return ini


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    async_project(root, f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    run_process([BIN / "alembic", "upgrade", "head"], cwd=root, check=True)
    return root


def test_alembic_check_passes_on_a_healthy_async_project(project: Path) -> None:
    done = run_process([BIN / "alembic", "check"], cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No new upgrade operations detected." in done.stdout + done.stderr
    assert "empty_revision" not in done.stdout + done.stderr


def test_alembic_check_reports_drift_as_alembic_does_on_an_async_project(
        project: Path) -> None:
    """A column dropped from the models is drift for `alembic check`, not a refused
    revision (no revision is being written)."""
    write_models(project, drop_name_of="t0002")
    done = run_process([BIN / "alembic", "check"], cwd=project)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "New upgrade operations detected" in out, out
    assert "remove_column" in out and "SL0" not in out, out
    assert not list((project / "migrations" / "versions").glob("*drop*"))


def test_revision_autogenerate_keeps_its_policies_on_an_async_project(project: Path) -> None:
    """The same glue still refuses an empty revision when one is being written."""
    done = run_process([BIN / "alembic", "revision", "--autogenerate", "-m", "nothing"],
                       cwd=project)
    assert done.returncode != 0
    assert "no schema changes detected" in done.stdout + done.stderr
    assert len(list((project / "migrations" / "versions").glob("*.py"))) == 2


def test_running_command_is_none_outside_a_command() -> None:
    assert running_command() is None
