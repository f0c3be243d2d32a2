"""A copy of examples/shop in a git repository of its own, for the ``--staged`` commands
(what a commit records) and the flows around them (branches, rebases, amends)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.support.cli import Result, run_cli, run_process
from tests.support.paths import EXAMPLE

__all__ = ["GIT_ENV", "git", "revision", "shop_repo", "sluice"]

#: A committer, and no global or system git configuration (hooks, aliases, signing).
GIT_ENV = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``git ARGS`` in ``root``; ``check``: a non-zero exit fails the test."""
    return run_process(["git", *args], cwd=root, env={**os.environ, **GIT_ENV}, check=check)


def sluice(root: Path, command: str, *args: str) -> Result:
    """``sluice COMMAND -c root/alembic.ini ARGS`` from ``root``; never a traceback."""
    result = run_cli([command, "-c", str(root / "alembic.ini"), *args], cwd=root,
                     env={"NO_COLOR": "1"})
    assert "Traceback" not in result.output, result.output
    return result


def shop_repo(root: Path) -> Path:
    """examples/shop copied to ``root``, locked and committed on branch ``main``."""
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    (root / ".gitignore").write_text("__pycache__/\n*.db\n.sluice_cache/\n")
    git(root, "init", "-q", "-b", "main")
    assert sluice(root, "lock").exit_code == 0
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "shop")
    return root


def revision(root: Path, name: str, template: str, **kw: str) -> Path:
    """``migrations/versions/NAME`` written from ``template`` (tests.support.revisions)."""
    path = root / "migrations" / "versions" / name
    path.write_text(template.format(**kw))
    return path
