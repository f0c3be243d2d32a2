"""Forgetting a project's modules (so edited code is re-imported) never drops installed
packages, even when the virtualenv lives inside the project folder (``project/.venv``).

Dropping them re-executes their import-time registrations: SQLAlchemy 2.0 then fails with
``Type <class 'object'> is already registered`` the next time ``sqlalchemy.orm`` is
imported. The fake package below registers the same way.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config

from sluice.core.project import forget_modules
from sluice.lint.render import Renderer

REGISTRY = """\
registered = set()


def register(type_):
    if type_ in registered:
        raise AssertionError(f"Type {type_} is already registered")
    registered.add(type_)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project folder with its virtualenv inside, holding the package ``regpkg``."""
    site = tmp_path / ".venv" / "lib" / "python3.10" / "site-packages"
    (site / "regpkg").mkdir(parents=True)
    (site / "regpkg" / "__init__.py").write_text("")
    (site / "regpkg" / "inspection.py").write_text(REGISTRY)
    (site / "regpkg" / "orm.py").write_text(
        "from regpkg import inspection\n\ninspection.register(object)\n")
    (tmp_path / "app.py").write_text("VALUE = 1\n")
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\nprepend_sys_path = %(here)s\n"
        "path_separator = os\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("regpkg.inspection")  # imported before, like sqlalchemy itself
    yield tmp_path
    for name in [n for n in sys.modules if n.split(".")[0] in ("regpkg", "app")]:
        del sys.modules[name]


def test_forget_modules_keeps_installed_packages(project: Path) -> None:
    importlib.import_module("regpkg.orm")
    importlib.import_module("app")
    forget_modules(project)
    assert "app" not in sys.modules  # the project's own code is re-imported
    assert "regpkg.orm" in sys.modules
    importlib.import_module("regpkg.orm")


def revision_importing(project: Path, *modules: str) -> Path:
    """Revision ``r1`` of ``project``, importing ``modules`` and running one statement."""
    path = project / "migrations" / "versions" / "r1.py"
    imports = "".join(f"import {m}\n" for m in modules)
    path.write_text(f'''"""r1

Revision ID: r1
Revises:
"""
from alembic import op
{imports}
revision = "r1"
down_revision = None


def upgrade():
    op.execute("SELECT 1")
''')
    return path


def test_rendering_keeps_packages_a_revision_imports_first(project: Path) -> None:
    path = revision_importing(project, 'regpkg.orm', 'app')
    with Renderer(Config(str(project / "alembic.ini")), script_location=project / "migrations",
                  dialects=["postgresql"], sys_path=[str(project)],
                  project_root=project) as renderer:
        assert renderer.render(path).ok
    assert "app" not in sys.modules
    assert "regpkg.orm" in sys.modules
    importlib.import_module("regpkg.orm")


def test_rendering_forgets_project_code_reached_through_a_symlink(
        project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (project / "linked_file.py").write_text("VALUE = 2\n")
    (outside / "linked_file.py").symlink_to(project / "linked_file.py")
    (project / "linkpkg").mkdir()
    (project / "linkpkg" / "__init__.py").write_text("VALUE = 3\n")
    (outside / "linkpkg").symlink_to(project / "linkpkg", target_is_directory=True)
    path = revision_importing(project, 'linked_file', 'linkpkg')
    try:
        with Renderer(Config(str(project / "alembic.ini")),
                      script_location=project / "migrations", dialects=["postgresql"],
                      sys_path=[str(outside)], project_root=project) as renderer:
            assert renderer.render(path).ok
            assert str(outside) in sys.modules["linked_file"].__file__
            assert str(outside) in sys.modules["linkpkg"].__file__
        assert "linked_file" not in sys.modules and "linkpkg" not in sys.modules
    finally:
        for name in ("linked_file", "linkpkg"):
            sys.modules.pop(name, None)
