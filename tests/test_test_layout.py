"""Test modules share code only through ``tests.support``: no test module imports another
test module, the conftest, or a helper module outside ``tests/support/``."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _module_name(path: Path) -> str:
    return ".".join(("tests", *path.relative_to(TESTS).with_suffix("").parts))


def _imported_modules(path: Path, name: str) -> list[tuple[int, str]]:
    """``(line, module)`` for each module an import statement of ``path`` (module ``name``)
    names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name.rsplit(".", 1)[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # `from tests import test_x` names the module in the alias
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names
                      if module in ("tests", "tests.support")]
    return found


def forbidden_imports(path: Path, name: str | None = None) -> list[str]:
    """The imports of ``path`` that reach test code outside ``tests.support``."""
    bad = []
    for line, module in _imported_modules(path, name or _module_name(path)):
        parts = module.split(".")
        if parts[0] != "tests" or module == "tests":
            continue
        if parts[:2] == ["tests", "support"]:
            continue
        if parts[:2] == ["tests", "fixtures"] and not path.name.startswith("test_"):
            continue  # fixture projects may import their own helpers
        bad.append(f"{path.name}:{line}: imports {module}")
    return bad


def python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_test_module_imports_another_test_module() -> None:
    offenders = [bad for path in python_files() if path.name.startswith("test_")
                 for bad in forbidden_imports(path)]
    assert not offenders, "\n".join(offenders)


def test_support_and_conftest_import_only_support() -> None:
    shared = [p for p in python_files()
              if p.parent.name == "support" or p.name == "conftest.py"]
    offenders = [bad for path in shared for bad in forbidden_imports(path)]
    assert not offenders, "\n".join(offenders)


def test_there_are_no_helper_modules_outside_support() -> None:
    """Shared test code lives in tests/support/, nowhere else beside the tests."""
    loose = [p.name for p in TESTS.glob("*.py")
             if not p.name.startswith("test_")
             and p.name not in ("__init__.py", "conftest.py")]
    assert not loose, loose


def test_the_check_catches_each_kind_of_import(tmp_path: Path) -> None:
    """The checks above would fail: each forbidden shape is found, allowed ones are not."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import tests.test_runner\n"
        "from tests.test_check_graph import run\n"
        "from tests import test_render\n"
        "from tests.helpers import cfg\n"
        "from tests.conftest import REPO\n"
        "from .test_doc_commands import doc_commands\n"
        "from tests.support.cli import run_cli\n"
        "from tests.support import faults\n"
        "import sluice\n",
        encoding="utf-8")
    found = forbidden_imports(probe, "tests.test_probe")
    assert [b.split(": imports ")[1] for b in found] == [
        "tests.test_runner", "tests.test_check_graph", "tests.test_render", "tests.helpers",
        "tests.conftest", "tests.test_doc_commands"], found
