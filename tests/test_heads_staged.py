"""``sluice heads --staged`` (what the ``sluice-heads`` pre-commit hook runs): the heads of
the revision files git's index holds, which is what the commit records. An untracked
revision file (work in progress) makes no head the commit has; a revision file whose
working copy is not what is staged is refused, as ``sluice lock --staged`` refuses it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.gitrepo import git, revision, shop_repo, sluice
from tests.support.paths import EXAMPLE
from tests.support.revisions import SAFE


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return shop_repo(tmp_path / "shop")


def test_an_untracked_second_head_is_left_out(repo: Path) -> None:
    revision(repo, "0003_nickname.py", SAFE, rev="0003", down="0002", column="nickname")
    git(repo, "add", "migrations")
    revision(repo, "0003b_wip.py", SAFE, rev="0003b", down="0002", column="alias")
    out = sluice(repo, "heads", "--staged")
    assert out.exit_code == 0, out.output
    assert "sluice: not staged, left out: migrations/versions/0003b_wip.py" in out.stderr
    assert "0003b" not in out.stdout
    # the working tree has two heads, and so does the commit once the file is staged
    assert sluice(repo, "heads").exit_code == 1
    git(repo, "add", "migrations")
    out = sluice(repo, "heads", "--staged")
    assert out.exit_code == 1 and "merge -m 'merge heads' 0003 0003b" in out.stdout, out.output
    assert "left out" not in out.stderr


def test_a_staged_deletion_is_what_counts(repo: Path) -> None:
    """`git rm --cached` keeps the file on disk, but the commit no longer holds it."""
    revision(repo, "0003_nickname.py", SAFE, rev="0003", down="0002", column="nickname")
    revision(repo, "0003b_alias.py", SAFE, rev="0003b", down="0002", column="alias")
    git(repo, "add", "migrations")
    assert sluice(repo, "heads", "--staged").exit_code == 1
    git(repo, "rm", "-q", "--cached", "migrations/versions/0003b_alias.py")
    out = sluice(repo, "heads", "--staged")
    assert out.exit_code == 0, out.output


def test_unstaged_changes_to_a_revision_file_are_refused(repo: Path) -> None:
    """The file on disk is not what the commit records: which graph to judge is unknown,
    so it is exit 2 naming the file and what to do, never a pass."""
    path = revision(repo, "0003_nickname.py", SAFE, rev="0003", down="0002", column="nickname")
    git(repo, "add", "migrations")
    path.write_text(path.read_text().replace('down_revision = "0002"', 'down_revision = "0001"'))
    out = sluice(repo, "heads", "--staged")
    assert out.exit_code == 2
    assert out.stderr.startswith("sluice: error: migrations/versions/0003_nickname.py: has "
                                 "changes that are not staged;"), out.stderr
    assert "sluice heads --staged" in out.stderr and "git add" in out.stderr
    path.unlink()
    out = sluice(repo, "heads", "--staged")
    assert out.exit_code == 2
    assert "0003_nickname.py: deleted, and the deletion is not staged;" in out.stderr


def test_staged_needs_git(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(EXAMPLE, plain, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    out = sluice(plain, "heads", "--staged")
    assert out.exit_code == 2 and "--staged needs a git repository" in out.stderr, out.output
