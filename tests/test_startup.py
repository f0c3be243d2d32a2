"""Start-up: a command imports only what it needs (each case runs in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.lint import RUN
from tests.support.runner import chain, make_project


def loaded(tmp_path: Path, *argv: str, cwd: Path | None = None) -> tuple[object, set[str]]:
    report = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", RUN, str(report), *argv], cwd=cwd or tmp_path,
                   capture_output=True, check=True)
    data = json.loads(report.read_text())
    return data["exit"], set(data["modules"])


def packages(modules: set[str], *names: str) -> set[str]:
    return {m for m in modules if m.split(".")[0] in names}


def test_help_imports_neither_alembic_nor_sqlalchemy(tmp_path: Path) -> None:
    code, modules = loaded(tmp_path, "--help")
    assert code == 0
    assert packages(modules, "alembic", "sqlalchemy", "sqlglot", "rich") == set()


def test_lint_of_one_revision_leaves_out_the_database_checks_and_rich(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "project", chain(1))
    code, modules = loaded(tmp_path, "lint", "-c", str(ini), "--no-cache")
    assert code == 0
    assert packages(modules, "rich") == set()
    assert {m for m in modules if m.startswith(("sluice.check.", "sluice.policy", "sluice.runner",
                                                "sluice.scratch"))} <= {
        "sluice.check.revisions", "sluice.check.sumfile"}


def test_upgrade_in_dev_loads_neither_sqlglot_nor_the_lint_rules(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "project", chain(2))
    code, modules = loaded(tmp_path, "upgrade", "-c", str(ini))
    assert code in (0, None)
    assert (tmp_path / "project" / "app.db").is_file()
    assert packages(modules, "sqlglot", "rich") == set()
    assert not {m for m in modules if m.startswith(("sluice.lint.rules", "sluice.lint.registry",
                                                    "sluice.rules.", "sluice.policy.registry"))}
