"""``sluice lock --staged`` (what the ``sluice-lock`` pre-commit hook runs): the revision
files git's index holds, which is what the commit records; untracked work in progress is
left out, and a revision file whose working copy is not what is staged is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.cli import Result
from tests.support.gitrepo import git, revision, shop_repo, sluice
from tests.support.paths import EXAMPLE
from tests.support.revisions import DANGEROUS, SAFE


def lock(root: Path, *args: str) -> Result:
    return sluice(root, "lock", *args)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return shop_repo(tmp_path / "shop")


def test_untracked_revisions_are_left_out(repo: Path) -> None:
    revision(repo, "0003_nickname.py", SAFE, rev="0003", down="0002", column="nickname")
    git(repo, "add", "migrations")
    revision(repo, "0004_wip.py", DANGEROUS, rev="0004", down="0003")  # not staged
    out = lock(repo, "--staged")
    assert out.exit_code == 0, out.output
    assert "added: migrations/versions/0003_nickname.py" in out.stdout
    assert "sluice: not staged, left out: migrations/versions/0004_wip.py" in out.stderr
    text = (repo / "sluice.sum").read_text()
    assert "0004_wip" not in text and text.rstrip().endswith("heads: 0003")
    # without --staged the working tree is what is locked: the WIP file is linted
    out = lock(repo)
    assert out.exit_code == 1 and "0004_wip.py" in out.stderr


def test_unstaged_changes_to_a_revision_file_are_refused(repo: Path) -> None:
    path = revision(repo, "0003_nickname.py", SAFE, rev="0003", down="0002", column="nickname")
    git(repo, "add", "migrations")
    path.write_text(path.read_text().replace("nickname", "alias"))
    before = (repo / "sluice.sum").read_text()
    out = lock(repo, "--staged")
    assert out.exit_code == 2
    assert out.stderr.startswith("sluice: error: migrations/versions/0003_nickname.py: has "
                                 "changes that are not staged;"), out.stderr
    assert (repo / "sluice.sum").read_text() == before
    git(repo, "add", "migrations")
    assert lock(repo, "--staged").exit_code == 0
    # a deletion that is not staged: the commit still holds the file
    path.unlink()
    out = lock(repo, "--staged")
    assert out.exit_code == 2
    assert "0003_nickname.py: deleted, and the deletion is not staged;" in out.stderr


def test_staged_needs_git_and_does_not_combine_with_rebase(repo: Path, tmp_path: Path) -> None:
    out = lock(repo, "--staged", "--rebase")
    assert out.exit_code == 2 and "--rebase" in out.stderr
    plain = tmp_path / "plain"
    shutil.copytree(EXAMPLE, plain, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    out = lock(plain, "--staged")
    assert out.exit_code == 2 and "--staged needs a git repository" in out.stderr, out.output
