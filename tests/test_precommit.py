"""The hooks of .pre-commit-hooks.yaml, run by a real pre-commit in a temporary repository.

The hooks repository is a git repository holding this checkout's .pre-commit-hooks.yaml
(as it is on disk), referenced by path and commit like any remote hooks repository; the
project is a copy of examples/shop in a git repository of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.cli import BIN, run_cli, run_process
from tests.support.paths import EXAMPLE, REPO
from tests.support.revisions import DANGEROUS, SAFE

PRE_COMMIT = BIN / "pre-commit"

pytestmark = pytest.mark.skipif(not PRE_COMMIT.exists(),
                                reason="pre-commit is not installed (pip install -e '.[test]')")

GIT_ENV = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}

class Repo:
    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        self.env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home),
                    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                    "NO_COLOR": "1", "SLUICE_DEBUG": ""}
        self.env.pop("VIRTUAL_ENV", None)

    def run(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_process(args, cwd=self.root, env=self.env, check=check)

    def git(self, *args: str) -> str:
        return self.run("git", *args).stdout.strip()

    def revision(self, name: str, template: str, **kw: str) -> Path:
        path = self.root / "migrations" / "versions" / name
        path.write_text(template.format(**kw))
        return path

    def lock(self, *options: str) -> None:
        """`sluice lock` before staging, in-process (the hooks run the real command)."""
        result = run_cli(["lock", "-c", str(self.root / "alembic.ini"), *options])
        assert result.exit_code == 0, result.output

    def pre_commit(self) -> subprocess.CompletedProcess[str]:
        return self.run(PRE_COMMIT, "run", "--color", "never", check=False)


@pytest.fixture
def project(tmp_path: Path) -> Repo:
    hooks = Repo(tmp_path / "hooks", tmp_path / "cache")
    hooks.root.mkdir()
    shutil.copy(REPO / ".pre-commit-hooks.yaml", hooks.root)
    hooks.git("init", "-q")
    hooks.git("add", ".")
    hooks.git("commit", "-q", "-m", "hooks")
    sha = hooks.git("rev-parse", "HEAD")

    repo = Repo(tmp_path / "shop", tmp_path / "cache")
    shutil.copytree(EXAMPLE, repo.root, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    config = {"repos": [{"repo": str(hooks.root), "rev": sha,
                         "hooks": [{"id": "sluice-lint"}, {"id": "sluice-lock"},
                                   {"id": "sluice-heads"}]}]}
    (repo.root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    (repo.root / ".gitignore").write_text("__pycache__/\n*.db\n.sluice_cache/\n")
    repo.git("init", "-q")
    repo.lock()
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "shop")
    return repo


def test_hooks_yaml_declares_the_three_hooks() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"sluice-lint", "sluice-lock", "sluice-heads"}
    assert hooks["sluice-lint"].get("pass_filenames", True) is True
    assert hooks["sluice-lock"]["pass_filenames"] is False
    assert hooks["sluice-heads"]["pass_filenames"] is False


def passed(out: subprocess.CompletedProcess[str], hook: str) -> bool:
    return any(line.startswith(hook) and line.endswith("Passed")
               for line in out.stdout.splitlines())


def failed(out: subprocess.CompletedProcess[str], hook: str) -> bool:
    return any(line.startswith(hook) and line.endswith("Failed")
               for line in out.stdout.splitlines())


def test_stale_sum_fails_and_is_refreshed_then_the_clean_change_passes(project: Repo) -> None:
    project.revision("0003_nickname.py", SAFE, rev="0003", down="0002", column="nickname")
    project.git("add", ".")  # sluice.sum not refreshed
    out = project.pre_commit()
    assert out.returncode == 1
    assert failed(out, "sluice lock"), out.stdout
    assert "files were modified by this hook" in out.stdout
    assert passed(out, "sluice lint") and passed(out, "sluice heads"), out.stdout
    text = (project.root / "sluice.sum").read_text()
    assert "migrations/versions/0003_nickname.py" in text and text.rstrip().endswith("heads: 0003")
    # stage the refreshed sum: the clean change goes through every hook
    project.git("add", "sluice.sum")
    out = project.pre_commit()
    assert out.returncode == 0, out.stdout + out.stderr
    assert all(passed(out, h) for h in ("sluice lint", "sluice lock", "sluice heads"))


def test_dangerous_revision_fails_and_only_staged_revisions_are_linted(project: Repo) -> None:
    project.revision("0003_drop.py", DANGEROUS, rev="0003", down="0002")
    project.lock("--no-lint")  # recorded on purpose: only the lint hook judges it
    project.git("add", ".")
    out = project.pre_commit()
    assert out.returncode == 1
    assert failed(out, "sluice lint"), out.stdout
    assert "SL002 drop-column" in out.stdout and "users.legacy_field" in out.stdout
    assert passed(out, "sluice lock") and passed(out, "sluice heads"), out.stdout
    # committed after review: a later clean change does not trip on it
    project.git("commit", "-q", "--no-verify", "-m", "drop, reviewed")
    project.revision("0004_nickname.py", SAFE, rev="0004", down="0003", column="nickname")
    project.lock()
    project.git("add", ".")
    out = project.pre_commit()
    assert out.returncode == 0, out.stdout


def test_lock_hook_never_records_a_revision_the_lint_hook_rejects(project: Repo) -> None:
    """Both hooks fail in the same run and sluice.sum is left as it was: a recorded file
    is reviewed history, which plain `sluice lint` (CI) no longer lints."""
    before = (project.root / "sluice.sum").read_text()
    project.revision("0003_drop.py", DANGEROUS, rev="0003", down="0002")
    project.git("add", "-A")
    out = project.pre_commit()
    assert out.returncode == 1
    assert failed(out, "sluice lint") and failed(out, "sluice lock"), out.stdout
    assert "not recorded: 1 finding at or above lint.fail_on (error)" in out.stdout
    assert (project.root / "sluice.sum").read_text() == before
    lint = run_cli(["lint", "-c", str(project.root / "alembic.ini")])
    assert lint.exit_code == 1 and "1 error" in lint.output, lint.output


def test_second_head_fails_the_heads_hook(project: Repo) -> None:
    project.revision("0003_nickname.py", SAFE, rev="0003", down="0002", column="nickname")
    project.revision("0003b_alias.py", SAFE, rev="0003b", down="0002", column="alias")
    project.lock()
    project.git("add", ".")
    out = project.pre_commit()
    assert out.returncode == 1
    assert failed(out, "sluice heads"), out.stdout
    assert "alembic -c alembic.ini merge -m 'merge heads'" in out.stdout
    assert passed(out, "sluice lint") and passed(out, "sluice lock"), out.stdout


def test_first_lock_stops_the_commit_so_that_the_new_sum_is_staged(project: Repo) -> None:
    """pre-commit only notices changes to tracked files: a sluice.sum created by the hook
    would stay untracked and the commit would go through without it."""
    project.git("rm", "-q", "sluice.sum")
    project.git("commit", "-q", "--no-verify", "-m", "no sum yet")
    project.revision("0003_nickname.py", SAFE, rev="0003", down="0002", column="nickname")
    project.git("add", ".")
    out = project.pre_commit()
    assert out.returncode == 1
    assert failed(out, "sluice lock"), out.stdout
    assert "sluice.sum is new: commit it with the migrations (git add sluice.sum)" in out.stdout
    project.git("add", "sluice.sum")
    out = project.pre_commit()
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("template", [DANGEROUS, SAFE], ids=["dangerous", "safe"])
def test_lock_hook_leaves_untracked_work_in_progress_alone(project: Repo, template: str) -> None:
    """A revision file in the working tree that is not staged is not part of the commit:
    the lock hook neither lints it (refusing the commit) nor records it in sluice.sum (which
    would then name a file the commit does not hold)."""
    project.revision("0003_nickname.py", SAFE, rev="0003", down="0002", column="nickname")
    project.lock()
    project.git("add", ".")
    staged_sum = (project.root / "sluice.sum").read_text()
    project.revision("0004_wip.py", template, rev="0004", down="0003", column="alias")
    out = project.pre_commit()
    assert out.returncode == 0, out.stdout + out.stderr
    assert all(passed(out, h) for h in ("sluice lint", "sluice lock", "sluice heads")), out.stdout
    assert (project.root / "sluice.sum").read_text() == staged_sum
    assert "0004_wip" not in staged_sum


def test_heads_hook_leaves_untracked_work_in_progress_alone(project: Repo) -> None:
    """An untracked revision file is not part of the commit: a second head it would make
    (a work-in-progress branch of the history) does not fail the heads hook, whose graph
    is the one the commit records. Staged, the same file does fail it."""
    project.revision("0003_nickname.py", SAFE, rev="0003", down="0002", column="nickname")
    project.lock()
    project.git("add", ".")
    wip = project.revision("0003b_wip.py", SAFE, rev="0003b", down="0002", column="alias")
    out = project.pre_commit()
    assert out.returncode == 0, out.stdout + out.stderr
    assert all(passed(out, h) for h in ("sluice lint", "sluice lock", "sluice heads")), out.stdout
    assert wip.exists()
    project.git("add", str(wip))
    out = project.pre_commit()
    assert out.returncode == 1
    assert failed(out, "sluice heads"), out.stdout
    assert "alembic -c alembic.ini merge -m 'merge heads'" in out.stdout, out.stdout


def test_a_commit_that_only_deletes_a_revision_runs_the_lock_and_heads_hooks(
        project: Repo) -> None:
    """pre-commit passes no deleted file to a hook, so a hook that waits for a matching
    file never sees a commit that only deletes a revision: sluice.sum would still record
    it, and a head it leaves (or a parent it removes) would go unjudged."""
    project.revision("0003_nickname.py", SAFE, rev="0003", down="0002", column="nickname")
    project.lock()
    project.git("add", ".")
    project.git("commit", "-q", "--no-verify", "-m", "nickname")
    project.git("rm", "-q", "migrations/versions/0003_nickname.py")
    out = project.pre_commit()
    assert out.returncode == 1, out.stdout
    assert failed(out, "sluice lock"), out.stdout
    assert "removed: migrations/versions/0003_nickname.py" in out.stdout
    text = (project.root / "sluice.sum").read_text()
    assert "0003_nickname" not in text and text.rstrip().endswith("heads: 0002")
    assert passed(out, "sluice heads"), out.stdout
    project.git("add", "sluice.sum")
    out = project.pre_commit()
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_merge_whose_only_conflict_is_sluice_sum_runs_the_heads_hook(project: Repo) -> None:
    """Two branches each add a revision on the same head: git stops the merge on the heads
    line of sluice.sum. pre-commit then runs hooks on the conflicted files alone (the sum),
    so a heads hook that waits for a Python file would let the merge commit two heads."""
    main = project.git("rev-parse", "--abbrev-ref", "HEAD")
    project.git("checkout", "-q", "-b", "alias")
    project.revision("0003b_alias.py", SAFE, rev="0003b", down="0002", column="alias")
    project.lock()
    project.git("add", ".")
    project.git("commit", "-q", "--no-verify", "-m", "alias")
    project.git("checkout", "-q", main)
    project.revision("0003_nickname.py", SAFE, rev="0003", down="0002", column="nickname")
    project.lock()
    project.git("add", ".")
    project.git("commit", "-q", "--no-verify", "-m", "nickname")
    merge = project.run("git", "merge", "alias", check=False)
    assert merge.returncode == 1 and "sluice.sum" in merge.stdout, merge.stdout
    project.git("checkout", "--theirs", "sluice.sum")  # resolved by hand, badly
    project.git("add", "sluice.sum")
    out = project.pre_commit()
    assert out.returncode == 1
    assert failed(out, "sluice heads"), out.stdout
    assert "alembic -c alembic.ini merge -m 'merge heads'" in out.stdout, out.stdout
    project.git("add", "sluice.sum")  # what the lock hook wrote: both heads
    out = project.pre_commit()
    assert out.returncode == 1
    assert failed(out, "sluice heads"), out.stdout
