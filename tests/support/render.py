"""Offline rendering of revision files in a throwaway project (``sluice.lint.render``).

The fixtures ``project`` and ``renderer`` are registered by importing ``project_fixture`` and
``renderer_fixture`` into a test module."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config

from sluice.lint.render import Renderer, RenderOutcome


@pytest.fixture(name="project")
def project_fixture(tmp_path: Path) -> Path:
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\nprepend_sys_path = %(here)s\n"
        "path_separator = os\n"
    )
    return tmp_path


def write(project: Path, name: str, body: str) -> Path:
    path = project / "migrations" / "versions" / name
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


@pytest.fixture(name="renderer")
def renderer_fixture(project: Path) -> Iterator[Renderer]:
    cfg = Config(str(project / "alembic.ini"))
    with Renderer(cfg, script_location=project / "migrations",
                  dialects=["postgresql", "mysql", "sqlite"], sys_path=[str(project)],
                  project_root=project) as r:
        yield r


def render(renderer: Renderer, path: Path, **kw: bool) -> RenderOutcome:
    return renderer.render(path, **kw)


def line_of(path: Path, text: str) -> int:
    """Line number of the first line of ``path`` containing ``text``."""
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return i
    raise AssertionError(f"{text!r} not in {path}")
