"""Every shipped example passes its own `sluice check`, as a user runs it in its folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.modules import forget_modules
from tests.support.paths import REPO
from tests.support.servers import server_url

EXAMPLES = sorted(p.parent for p in (REPO / "examples").glob("*/alembic.ini"))


def test_examples_are_found() -> None:
    assert {p.name for p in EXAMPLES} >= {"shop", "multiservice"}
    assert len(EXAMPLES) == len([p for p in (REPO / "examples").iterdir() if p.is_dir()])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_passes_sluice_check(example: Path, backend: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`sluice check` in the example's folder; on a server with --scratch."""
    args = ["check"] if backend == "sqlite" else ["check", "--url", server_url(backend),
                                                  "--scratch"]
    copy = tmp_path / example.name
    shutil.copytree(example, copy, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    monkeypatch.chdir(copy)
    monkeypatch.delenv("ALEMBIC_CONFIG", raising=False)
    monkeypatch.delenv("SLUICE_CHECK_URL", raising=False)
    forget_modules(copy)
    try:
        result = run_cli(args)
    finally:
        forget_modules(copy)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "All 5 checks passed.", result.output
    assert "- checksums" not in result.stdout  # locked: the checksums check ran
