"""``sluice lock --rebase``: two branches that each added a revision, merged in git."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from alembic import command

from sluice.check.rebase import repoint
from sluice.check.repoint import only_repointed
from sluice.errors import SluiceError
from sluice.files import forget_bytecode
from tests.support.cli import run_cli, run_process
from tests.support.paths import EXAMPLE
from tests.support.project import cfg
from tests.support.revisions import DANGEROUS

GIT_ENV = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}


def run(root: Path, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_process(args, cwd=root, env={**os.environ, **GIT_ENV, "NO_COLOR": "1"},
                       check=check)


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(root, "git", *args, check=check)


def sluice(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`sluice ARGS` in ``root``, run in-process with click's test runner."""
    result = run_cli(list(args), cwd=root, env={"NO_COLOR": "1"})
    out = subprocess.CompletedProcess(["sluice", *args], result.exit_code, result.stdout,
                                      result.stderr)
    if check and out.returncode != 0:
        raise AssertionError(f"{args}: exit {out.returncode}\n{out.stdout}\n{out.stderr}")
    return out


def new_revision(root: Path, rev: str, message: str, head: str | None = None) -> Path:
    """``alembic revision`` on the single head, or (``head``) spliced onto that revision."""
    command.revision(cfg(root, f"sqlite:///{root / 'x.db'}"), message=message, rev_id=rev,
                     head=head or "head", splice=head is not None)
    (path,) = (root / "migrations" / "versions").glob(f"{rev}_*.py")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    (root / ".gitignore").write_text("__pycache__/\n*.db\n.sluice_cache/\n")
    git(root, "init", "-q", "-b", "main")
    sluice(root, "lock")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "shop")
    return root


def branch_with_revision(root: Path, branch: str, rev: str, message: str,
                         new: bool = True) -> Path:
    git(root, "checkout", "-q", *(["-b"] if new else []), branch)
    path = new_revision(root, rev, message)
    sluice(root, "lock")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", message)
    return path


def test_merge_conflict_in_sum_is_resolved_by_rebase(repo: Path) -> None:
    feature = branch_with_revision(repo, "feature", "b1b1", "add nickname")
    # main gets its own revision later (so it is the newer one by date): it stays anyway,
    # because it is on main already
    branch_with_revision(repo, "main", "a1a1", "add coupons", new=False)
    git(repo, "checkout", "-q", "feature")
    before = feature.read_text()
    merge = git(repo, "merge", "main", "-m", "merge main", check=False)
    assert merge.returncode != 0 and "sluice.sum" in merge.stdout
    summed = (repo / "sluice.sum").read_text()
    assert "<<<<<<<" in summed and "heads: b1b1" in summed and "heads: a1a1" in summed
    assert sluice(repo, "heads", check=False).returncode == 1

    out = sluice(repo, "lock", "--rebase")
    assert "re-pointed b1b1 (b1b1_add_nickname.py): down_revision 0002 -> a1a1" in out.stdout
    after = feature.read_text()
    assert "down_revision: Union[str, Sequence[str], None] = 'a1a1'\n" in after
    assert "Revises: a1a1" in after
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True)
               if a != b]
    assert len(changed) == 2, changed  # the Revises: line and down_revision, nothing else
    summed = (repo / "sluice.sum").read_text()
    assert "<<<<<<<" not in summed and summed.rstrip().endswith("heads: b1b1")
    assert sluice(repo, "heads").returncode == 0
    assert sluice(repo, "check", "--only", "graph,checksums,upgrade").returncode == 0
    git(repo, "add", ".")
    git(repo, "commit", "-q", "--no-edit")
    assert git(repo, "status", "--porcelain").stdout == ""


def test_during_a_git_rebase_the_revisions_rebased_onto_stay(repo: Path) -> None:
    """`git rebase develop` when the team merges into a branch that is not main: the
    revision already on develop (in the commit being rebased onto) may have run on a
    shared database, so the replayed branch's revision moves, even though develop's is
    the newer one by date and neither is on main."""
    git(repo, "checkout", "-q", "-b", "develop")
    feature = branch_with_revision(repo, "feature", "b1b1", "add nickname")
    develop = branch_with_revision(repo, "develop", "a1a1", "add coupons", new=False)
    shared = develop.read_text()
    git(repo, "checkout", "-q", "feature")
    rebase = git(repo, "rebase", "develop", check=False)
    assert rebase.returncode != 0 and "sluice.sum" in rebase.stdout + rebase.stderr
    out = sluice(repo, "lock", "--rebase")
    assert "re-pointed b1b1 (b1b1_add_nickname.py): down_revision 0002 -> a1a1" in out.stdout
    assert develop.read_text() == shared
    assert "Revises: a1a1" in feature.read_text()
    git(repo, "add", "-A")
    done = run(repo, "git", "-c", "core.editor=true", "rebase", "--continue")
    assert "Successfully rebased" in done.stdout + done.stderr
    assert sluice(repo, "check", "--only", "graph,checksums").returncode == 0


def test_nothing_to_rebase_just_locks(repo: Path) -> None:
    out = sluice(repo, "lock", "--rebase")
    assert "nothing to rebase" in out.stdout
    assert sluice(repo, "lock", "--move", "0002", check=False).returncode == 2


def test_heads_already_on_main_are_not_moved(repo: Path) -> None:
    new_revision(repo, "a1a1", "one")
    new_revision(repo, "c1c1", "two", head="0002")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "two heads on main")
    out = sluice(repo, "lock", "--rebase", check=False)
    assert out.returncode == 2
    assert "are all on main already" in out.stderr and "alembic merge" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    # the caller may still choose, knowingly
    out = sluice(repo, "lock", "--rebase", "--move", "c1c1")
    assert "re-pointed c1c1 (c1c1_two.py): down_revision 0002 -> a1a1" in out.stdout


def test_a_rebase_that_cannot_finish_changes_no_file(repo: Path) -> None:
    """Three heads: two on main already, one new. The new one can be re-pointed, but the
    two left are both on main, so the heads cannot become one line. Nothing may be left
    half done: the re-point made on the way is undone, and the error names every head
    of the real graph in its merge command, not those of the half-rebased one."""
    new_revision(repo, "a1a1", "one")
    new_revision(repo, "c1c1", "two", head="0002")
    sluice(repo, "lock")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "two heads on main")
    git(repo, "checkout", "-q", "-b", "feature")
    feature = new_revision(repo, "b1b1", "three", head="0002")
    before = feature.read_text()
    summed = (repo / "sluice.sum").read_text()
    out = sluice(repo, "lock", "--rebase", check=False)
    assert out.returncode == 2, out.stdout + out.stderr
    assert feature.read_text() == before
    assert (repo / "sluice.sum").read_text() == summed
    assert "re-pointed" not in out.stdout
    assert "nothing was changed" in out.stderr, out.stderr
    assert 'alembic merge -m "merge heads" a1a1 b1b1 c1c1' in out.stderr, out.stderr


def test_without_git_the_newer_branch_moves(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    versions = root / "migrations" / "versions"
    older = new_revision(root, "a1a1", "older")
    newer = new_revision(root, "b1b1", "newer", head="0002")
    for path, date in ((older, "2024-01-01 10:00:00"), (newer, "2024-03-01 10:00:00")):
        lines = [f"Create Date: {date}" if line.startswith("Create Date:") else line
                 for line in path.read_text().splitlines()]
        path.write_text("\n".join(lines) + "\n")
        forget_bytecode(path)  # a same-size edit within the second it was cached
    assert len(list(versions.glob("*.py"))) == 4
    out = sluice(root, "lock", "--rebase")
    assert "re-pointed b1b1 (b1b1_newer.py): down_revision 0002 -> a1a1" in out.stdout


def test_repoint_keeps_the_file_as_written(tmp_path: Path) -> None:
    path = tmp_path / "r.py"
    path.write_text('''"""x

Revises: 0002
Create Date: 2024-01-01 00:00:00
"""
from typing import Union

revision: str = 'b1'
down_revision: Union[str, None] = (
    '0002'
)  # the parent


def upgrade(): ...
''')
    assert repoint(path, "a1") == ("0002",)
    text = path.read_text()
    assert "Revises: a1\n" in text
    assert "down_revision: Union[str, None] = (\n    'a1'\n)  # the parent\n" in text
    assert "revision: str = 'b1'" in text
    bare = tmp_path / "bare.py"
    bare.write_text("revision = 'b1'\ndown_revision = None\n")
    assert repoint(bare, "a1") == ()
    assert bare.read_text() == "revision = 'b1'\ndown_revision = 'a1'\n"
    broken = tmp_path / "broken.py"
    broken.write_text("revision = 'b1'\ndown_revision = PARENT\n")
    with pytest.raises(SluiceError, match="broken.py:2: down_revision is not a literal"):
        repoint(broken, "a1")
    assert broken.read_text() == "revision = 'b1'\ndown_revision = PARENT\n"


def test_rebase_keeps_the_permissions_of_the_revision_file(tmp_path: Path) -> None:
    path = tmp_path / "0003_x.py"
    path.write_text('"""x\n\nRevision ID: 0003\nRevises: 0002\n"""\nrevision = "0003"\n'
                    'down_revision = "0002"\n')
    path.chmod(0o664)
    assert repoint(path, "0004") == ("0002",)
    assert 'down_revision = "0004"' in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o664


def reviewed_dangerous_branch(repo: Path) -> Path:
    """A branch whose revision drops a column, recorded after review with `--no-lint` (the
    decision was taken elsewhere), while main gained a revision on the same head; merged:
    sluice.sum conflicts."""
    git(repo, "checkout", "-q", "-b", "feature")
    path = repo / "migrations" / "versions" / "b1b1_drop.py"
    path.write_text(DANGEROUS.format(rev="b1b1", down="0002"))
    assert sluice(repo, "lock", check=False).returncode == 1  # lint refuses it ...
    sluice(repo, "lock", "--no-lint")  # ... and it is recorded knowingly
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "drop legacy_field")
    branch_with_revision(repo, "main", "a1a1", "add coupons", new=False)
    git(repo, "checkout", "-q", "feature")
    assert git(repo, "merge", "main", "-m", "merge main", check=False).returncode != 0
    return path


def test_rebase_records_the_reviewed_revision_it_repoints(repo: Path) -> None:
    """Re-pointing down_revision changes the file's checksum, not what was reviewed: the
    lock's lint gate does not refuse the revision it has just re-pointed."""
    path = reviewed_dangerous_branch(repo)
    out = sluice(repo, "lock", "--rebase", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "re-pointed b1b1 (b1b1_drop.py): down_revision 0002 -> a1a1" in out.stdout
    assert "re-pointed: migrations/versions/b1b1_drop.py" in out.stdout
    summed = (repo / "sluice.sum").read_text()
    assert "<<<<<<<" not in summed and summed.rstrip().endswith("heads: b1b1")
    assert "down_revision = \"a1a1\"" in path.read_text()
    assert sluice(repo, "check", "--only", "graph,checksums").returncode == 0


def test_a_hand_repointed_revision_is_recorded_as_reviewed(repo: Path) -> None:
    """The developer re-points down_revision by hand (and the docstring, or not): `sluice
    lock --rebase` (nothing left to join) and plain `sluice lock` record it."""
    path = reviewed_dangerous_branch(repo)
    path.write_text(path.read_text().replace('down_revision = "0002"',
                                             "down_revision = 'a1a1'"))
    out = sluice(repo, "lock", "--rebase", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "nothing to rebase" in out.stdout
    assert "re-pointed: migrations/versions/b1b1_drop.py" in out.stdout
    assert (repo / "sluice.sum").read_text().rstrip().endswith("heads: b1b1")


def test_an_edit_beyond_the_repoint_is_still_linted(repo: Path) -> None:
    """Reviewed history edited beyond its down_revision is a new change: refused while it
    has findings, the sum left as it was."""
    path = reviewed_dangerous_branch(repo)
    before = (repo / "sluice.sum").read_text()
    path.write_text(path.read_text().replace('down_revision = "0002"',
                                             'down_revision = "a1a1"')
                    .replace('"legacy_field")', '"legacy_field")  # gone\n'
                             '    op.drop_column("users", "full_name")'))
    out = sluice(repo, "lock", "--rebase", check=False)
    assert out.returncode == 1
    assert "not recorded: 2 findings at or above lint.fail_on (error)" in out.stderr
    assert (repo / "sluice.sum").read_text() == before


def test_only_repointed_tells_a_repoint_from_an_edit() -> None:
    before = ('"""x\n\nRevision ID: b1\nRevises: 0002\n"""\nrevision = "b1"\n'
              'down_revision = "0002"\n\n\ndef upgrade():\n    pass\n')
    assert only_repointed(before, before.replace('"0002"', "'a1'").replace(
        "Revises: 0002", "Revises: a1"))
    assert only_repointed(before, before.replace('"0002"', '("a1", "c1")'))  # docstring kept
    assert only_repointed(before, before.replace("\n", "\r\n").replace('"0002"', '"a1"'))
    assert not only_repointed(before, before.replace('"0002"', '"a1"').replace("pass", "1"))
    assert not only_repointed(before, before.replace('revision = "b1"', 'revision = "b2"'))
    assert not only_repointed(before, before.replace("Revision ID: b1", "Revision ID: b2"))
    assert not only_repointed(before, before.replace('"0002"', "PARENT"))
    assert not only_repointed(before, "revision = (")


def test_plain_lock_of_two_heads_warns_and_names_the_way_out(repo: Path) -> None:
    """Relocking both sides of a sum conflict records two heads: said at once, not first
    by the deploy that `alembic upgrade head` refuses."""
    new_revision(repo, "a1a1", "one")
    second = new_revision(repo, "b1b1", "two", head="0002")
    out = sluice(repo, "lock")
    (line,) = [x for x in out.stderr.splitlines() if "heads" in x]
    assert line.startswith("sluice: warning: the sum records 2 heads (a1a1, b1b1) and "
                           "check.expected_heads declares 0"), line
    assert "`sluice heads` explains them" in line and "`sluice lock --rebase`" in line
    assert out.returncode == 0
    # heads declared by design: no warning
    toml = repo / "sluice.toml"
    text = toml.read_text()
    toml.write_text(text.replace("[check]", '[check]\nexpected_heads = ["a1a1", "b1b1"]')
                    if "[check]" in text
                    else text + '\n[check]\nexpected_heads = ["a1a1", "b1b1"]\n')
    (repo / "migrations" / "versions" / "b1b1_two.py").write_text(second.read_text() + "\n")
    again = sluice(repo, "lock")
    assert "heads" not in again.stderr, again.stderr
