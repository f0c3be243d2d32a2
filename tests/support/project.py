"""Helpers for tests that drive the real Alembic command API on a throwaway project."""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config

from sluice.core.project import alembic_config
from sluice.files import forget_bytecode
from tests.support.modules import forget_modules


def cfg(project: Path, url: str, *x: str) -> Config:
    """Alembic Config for ``project`` on ``url`` with ``-x`` arguments; fresh module imports."""
    forget_modules(project)
    return alembic_config(project / "alembic.ini", url=url, x_args=x, stdout=io.StringIO())


def autogenerate(project: Path, url: str, *x: str, message: str = "auto") -> list[Path]:
    """Run ``alembic revision --autogenerate`` and return the files it wrote."""
    before = set((project / "migrations" / "versions").glob("*.py"))
    command.revision(cfg(project, url, *x), message=message, autogenerate=True)
    after = set((project / "migrations" / "versions").glob("*.py"))
    return sorted(after - before)


def upgrade(project: Path, url: str, *x: str, rev: str = "head") -> None:
    command.upgrade(cfg(project, url, *x), rev)


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in ``path``, as a user's edit seconds later would: the
    bytecode Python cached for it goes too (a same-size edit within the second it was
    cached would otherwise still run the old code)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    if path.suffix == ".py":
        forget_bytecode(path)


def drop_legacy_field(project: Path) -> None:
    edit(project / "shopapp" / "models.py",
         "    legacy_field: Mapped[str | None] = mapped_column(String(50))\n", "")
