"""SARIF, GitHub and GitLab output name files relative to the checkout's root, wherever
the command runs: from ``backend/`` they said ``migrations/...``, which a code host
resolves from the repository root to a file that does not exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import SLUICE, run_process
from tests.support.runner import Rev, chain, make_project


def _repo(tmp_path: Path, git: bool = True) -> Path:
    repo = tmp_path / "mono"
    ini = make_project(repo / "backend", [*chain(1), Rev("r0002", 'op.drop_table("t0001")')])
    if git:
        (repo / ".git").mkdir()  # what a checkout has (a file in a worktree works too)
    return ini


def _lint(cwd: Path, fmt: str, *config: str) -> str:
    done = run_process([SLUICE, "lint", "--no-cache", "--format", fmt, *config], cwd=cwd)
    assert done.returncode == 1, done.stderr
    return done.stdout


@pytest.mark.parametrize("where", ["backend", "root"])
def test_paths_are_relative_to_the_checkout(tmp_path: Path, where: str) -> None:
    ini = _repo(tmp_path)
    cwd, config = (ini.parent, ()) if where == "backend" else (ini.parents[1],
                                                               ("-c", "backend/alembic.ini"))
    expected = "backend/migrations/versions/r0002.py"
    sarif = json.loads(_lint(cwd, "sarif", *config))
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for result in sarif["runs"][0]["results"] for loc in result["locations"]}
    assert uris == {expected}
    assert f"file={expected}," in _lint(cwd, "github", *config)
    gitlab = json.loads(_lint(cwd, "gitlab", *config))
    assert {issue["location"]["path"] for issue in gitlab} == {expected}


def test_outside_a_checkout_paths_stay_relative_to_the_working_folder(tmp_path: Path) -> None:
    ini = _repo(tmp_path, git=False)
    assert "file=migrations/versions/r0002.py," in _lint(ini.parent, "github")
