"""``--staged``: the revision files the next commit records.

The pre-commit hooks ``sluice-lock`` (``sluice lock --staged``) and ``sluice-heads``
(``sluice heads --staged``) run in a working tree that may hold revision files nobody
staged (work in progress). pre-commit sets aside unstaged edits of tracked files before
its hooks run, but it leaves untracked files where they are. A lock of the working tree
would lint those files (and refuse the commit for what they hold) or record them in
``sluice.sum`` (which would then name a file the commit does not contain, and a head it
does not have); the heads of the working tree would count a head such a file makes,
which the commit does not have either. With ``staged`` both read git's index instead: a
revision file that is not in it is left out, as the commit leaves it out.

The files read are still those on disk, so a revision file whose working copy differs
from what is staged (an edit not added, a deletion not staged) is refused: which of the
two versions the commit records is then not what the lock or the heads would vouch for.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sluice.core.errors import SluiceError
from sluice.core.project import display_path

__all__ = ["StagedFiles", "staged_files"]


@dataclass
class StagedFiles:
    """What git's index says about the revision files of a project."""

    #: Real paths of the files in the index (what the next commit records).
    index: set[str] = field(default_factory=set)
    #: Real paths of the files whose working copy differs from the index.
    unstaged: set[str] = field(default_factory=set)

    def keep(self, path: Path) -> bool:
        """Whether the commit records the revision file ``path``."""
        return os.path.realpath(path) in self.index

    def refuse_unstaged(self, files: Iterable[Path], locations: Iterable[Path],
                        root: Path, *, command: str = "sluice lock --staged",
                        outcome: str = "nothing was written") -> None:
        """One-line :class:`SluiceError` for the first revision file (``files``: those on
        disk; a deletion that is not staged: a ``.py`` file of the index under one of the
        ``locations``) whose working copy is not what is staged, named relative to
        ``root``; ``command`` is the one to run again, ``outcome`` what it did not do."""
        folders = [os.path.realpath(loc) + os.sep for loc in locations]
        on_disk = {os.path.realpath(f) for f in files}
        gone = {p for p in self.unstaged & self.index - on_disk
                if p.endswith(".py") and any(p.startswith(f) for f in folders)}
        changed = sorted((self.unstaged & on_disk & self.index) | gone)
        if changed:
            first = display_path(changed[0], root)
            what = ("deleted, and the deletion is not staged" if changed[0] in gone
                    else "has changes that are not staged")
            more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
            raise SluiceError(
                f"{first}: {what}{more}; --staged reads what the commit holds, {outcome}",
                hint="Stage it (git add, git rm) or set the changes aside (git stash "
                     f"--keep-index), then run `{command}` again.")


def run_git(args: list[str], cwd: Path, needed_by: str = "--staged"
            ) -> subprocess.CompletedProcess[str]:
    """``git ARGS`` in ``cwd`` (its exit code is the caller's to read); no git at all is
    one line saying which option (``needed_by``) needs it."""
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              check=False)
    except OSError as exc:
        raise SluiceError(f"{needed_by} needs git: {exc.strerror or exc}") from None


def staged_files(folder: Path) -> StagedFiles:
    """The index of the git repository holding ``folder``, and the files whose working
    copy differs from it; a one-line :class:`SluiceError` outside a repository."""
    top = run_git(["rev-parse", "--show-toplevel"], folder)
    if top.returncode != 0:
        raise SluiceError(f"--staged needs a git repository: {folder} is not inside one")
    toplevel = Path(top.stdout.strip())
    listed = run_git(["ls-files", "-z", "--cached", "--full-name"], toplevel)
    diff = run_git(["diff", "--name-only", "-z", "--no-renames"], toplevel)
    for out, what in ((listed, "git ls-files"), (diff, "git diff")):
        if out.returncode != 0:
            raise SluiceError(f"--staged: {what} failed in {toplevel}: "
                              f"{' '.join(out.stderr.split())}")

    def real(names: str) -> set[str]:
        return {os.path.realpath(toplevel / n) for n in names.split("\0") if n}

    return StagedFiles(index=real(listed.stdout), unstaged=real(diff.stdout))
