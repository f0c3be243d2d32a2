"""``tests.support.modules.forget_modules`` (what the test helpers call before an
in-process Alembic or Sluice command) drops exactly the modules
``sluice.core.project.forget_modules`` drops: it only finds them faster."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sluice.core.project import forget_modules as sluice_forget
from tests.support.modules import forget_modules as support_forget

NAMES = ("regpkg_sm", "app_sm", "pkg_sm", "outside_sm")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project with a module and a package of its own, a virtualenv inside it holding an
    installed package, and a module from outside the project; all imported."""
    root = tmp_path / "project"
    site = root / ".venv" / "lib" / "python3.11" / "site-packages"
    (site / "regpkg_sm").mkdir(parents=True)
    (site / "regpkg_sm" / "__init__.py").write_text("")
    (root / "app_sm.py").write_text("VALUE = 1\n")
    (root / "pkg_sm").mkdir()
    (root / "pkg_sm" / "__init__.py").write_text("")
    (root / "pkg_sm" / "models.py").write_text("X = 1\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "outside_sm.py").write_text("Y = 2\n")
    for folder in (site, root, tmp_path / "elsewhere"):
        monkeypatch.syspath_prepend(str(folder))
    for name in ("regpkg_sm", "app_sm", "pkg_sm.models", "outside_sm"):
        importlib.import_module(name)
    yield root
    for name in [n for n in sys.modules if n.split(".")[0] in NAMES]:
        del sys.modules[name]


def _dropped(forget: Callable[[Path], None], root: Path) -> set[str]:
    before = dict(sys.modules)
    forget(root)
    gone = set(before) - set(sys.modules)
    sys.modules.update(before)
    return gone


def test_the_same_modules_are_dropped(project: Path) -> None:
    assert _dropped(support_forget, project) == _dropped(sluice_forget, project) \
        == {"app_sm", "pkg_sm", "pkg_sm.models"}
    # twice: the second call answers from the paths it remembered
    assert _dropped(support_forget, project) == {"app_sm", "pkg_sm", "pkg_sm.models"}


def test_nothing_is_dropped_for_another_folder(project: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    assert _dropped(support_forget, other) == _dropped(sluice_forget, other) == set()
