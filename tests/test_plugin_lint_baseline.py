"""The pytest plugin's ``test_sluice_lint`` is ``sluice lint`` as a test: a project that
adopted Sluice with ``sluice lock`` (its history recorded in ``sluice.sum`` as reviewed)
passes it exactly when ``sluice lint`` passes, and an edit to a recorded revision is
linted again."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

# pytester restores sys.modules after each in-process run: load what the inner runs import
# before it takes its snapshot (see tests/test_check_plugin.py).
import pytest
import sqlalchemy.orm  # noqa: F401

import sluice.check  # noqa: F401
import sluice.lint.engine  # noqa: F401
from sluice.check import lock
from tests.support.check import overlay
from tests.support.cli import run_cli
from tests.support.paths import EXAMPLE

pytest_plugins = ["pytester"]


@pytest.fixture
def project(pytester: pytest.Pytester) -> Iterator[Path]:
    """examples/shop as the pytester rootdir, the plugin enabled, one test in tests/."""
    root = pytester.path
    for item in EXAMPLE.iterdir():
        if item.name == "__pycache__" or item.suffix == ".db":
            continue
        if item.is_dir():
            shutil.copytree(item, root / item.name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.db"))
        else:
            shutil.copy2(item, root / item.name)
    (root / "tests").mkdir()
    (root / "tests" / "test_app.py").write_text("def test_app():\n    assert True\n")
    (root / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    with (root / "sluice.toml").open("a") as fh:
        fh.write("\n[check]\npytest = true\n")
    yield root
    for name in list(sys.modules):
        if name == "shopapp" or name.startswith("shopapp."):
            del sys.modules[name]


def test_lint_test_skips_the_history_recorded_in_sluice_sum(pytester: pytest.Pytester,
                                                             project: Path) -> None:
    overlay(project, "irreversible")  # 0003 drops users.legacy_field: SL002, an error
    (project / "sluice.sum").unlink()
    lock(project / "alembic.ini")  # adopting Sluice: today's history recorded as reviewed
    cli = run_cli(["lint", "-c", str(project / "alembic.ini")], catch_exceptions=False)
    assert cli.exit_code == 0, cli.output  # sluice lint passes ...
    result = pytester.runpytest("-k", "sluice_lint")
    result.assert_outcomes(passed=1)  # ... and so does its test

    revision = project / "migrations" / "versions" / "0003_drop_legacy_field.py"
    revision.write_text(revision.read_text() + "# edited after it was recorded\n")
    cli = run_cli(["lint", "-c", str(project / "alembic.ini")], catch_exceptions=False)
    assert cli.exit_code == 1, cli.output
    result = pytester.runpytest("-k", "sluice_lint")
    result.assert_outcomes(failed=1)
    assert "SL002" in result.stdout.str()
