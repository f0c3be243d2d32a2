"""``sluice check`` on copies of the example project: fixture overlays, a config, a run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from sluice.check import CheckOptions, CheckReport, run_checks
from tests.support.modules import forget_modules

if TYPE_CHECKING:
    from sluice.core.findings import Finding

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "check"

DB_CHECKS = ("upgrade", "drift", "roundtrip")


def overlay(project: Path, name: str) -> Path:
    """Lay the files of tests/fixtures/check/<name> over ``project``."""
    src = FIXTURES / name
    for path in src.rglob("*"):
        if path.is_file():
            dest = project / path.relative_to(src)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
    return project


def config(project: Path, extra: str) -> None:
    (project / "sluice.toml").write_text(
        'exclude_tables = ["tmp_*", "*_bak"]\n' + extra, encoding="utf-8")


def run(project: Path, *only: str, **kw: object) -> CheckReport:
    forget_modules(project)
    options = CheckOptions(only=list(only) or None, **kw)  # type: ignore[arg-type]
    return run_checks(project / "alembic.ini", options)


def problems(report: CheckReport, name: str) -> list[Finding]:
    return report.result(name).problems
