"""Helpers for tests on the multi-service example (revisions in one folder per service)."""

from __future__ import annotations

import ast
import io
from pathlib import Path

from alembic import command
from alembic.config import Config

from sluice.core.project import alembic_config
from tests.support.modules import forget_modules


def ms_cfg(project: Path, url: str, *x: str, name: str = "alembic") -> Config:
    """Alembic Config for ``project`` (ini section ``name``) on ``url`` with ``-x`` args."""
    forget_modules(project)
    cfg = alembic_config(project / "alembic.ini", x_args=x, stdout=io.StringIO())
    if name != "alembic":
        cfg = Config(str(project / "alembic.ini"), ini_section=name, cmd_opts=cfg.cmd_opts,
                     stdout=io.StringIO())
    cfg.set_section_option(name, "sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def revision_files(project: Path) -> set[Path]:
    return set((project / "migrations" / "versions").rglob("*.py"))


def ms_autogenerate(project: Path, url: str, *x: str, name: str = "alembic",
                    message: str = "auto") -> list[Path]:
    """``alembic [-n name] revision --autogenerate``; the files written, sorted."""
    before = revision_files(project)
    command.revision(ms_cfg(project, url, *x, name=name), message=message, autogenerate=True)
    return sorted(revision_files(project) - before)


def ms_upgrade(project: Path, url: str, rev: str = "heads", *x: str,
               name: str = "alembic") -> None:
    command.upgrade(ms_cfg(project, url, *x, name=name), rev)


def ms_downgrade(project: Path, url: str, rev: str, *x: str, name: str = "alembic") -> None:
    command.downgrade(ms_cfg(project, url, *x, name=name), rev)


def upgrade_all(project: Path, url: str) -> None:
    """Both environments of the example: the branches and reporting's own."""
    ms_upgrade(project, url)
    ms_upgrade(project, url, "head", name="reporting")


def module_value(path: Path, name: str) -> object:
    """A module-level assignment of a revision file, read without importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                assert node.value is not None
                return ast.literal_eval(node.value)
    raise KeyError(name)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
