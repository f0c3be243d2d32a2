"""The checksums check and ``sluice lock``.

A revision that has run somewhere (a teammate's database, staging, production) must not
change afterwards: those databases will never run it again, so the edit silently never
reaches them. ``sluice lock`` records every revision file's SHA-256 in ``sluice.sum``;
the check fails when a recorded file no longer matches, unless the sum file was updated
in the same change (then the recorded hash matches again).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from alembic.util import to_tuple

from sluice.check.context import CheckContext, CheckOptions
from sluice.check.graph import Graph, Node, graph_problems
from sluice.check.model import CheckResult, finish
from sluice.check.repoint import repointed_files
from sluice.config import load_config
from sluice.core.alembic_compat import script_version_locations
from sluice.core.findings import Finding, check_finding
from sluice.core.project import display_path, script_directory
from sluice.core.staged import staged_files
from sluice.core.suggest import Invocation
from sluice.core.sumfile import (
    SumState,
    current_state,
    parse_sum,
    section_sum_file,
)
from sluice.errors import SluiceError
from sluice.files import project_file, write_atomic

NAME = "checksums"
TITLE = "revision checksums"

_EDITED_FIX = (
    "A revision that has run anywhere (a teammate's database, staging, production) must "
    "never change: those databases will not run it again, so the edit never reaches them. "
    "Revert the edit and put the change in a new revision ({revision}). If this "
    "revision has never left your branch, run {lock} and commit {sum} together with the "
    "edit."
)


def _disk_state(ctx: CheckContext, *, staged: bool = False) -> SumState:
    """The revision files on disk; ``staged``: only those in git's index (what the next
    commit records), refusing one whose working copy is not what is staged."""
    script = script_directory(ctx.alembic_config())

    def imported() -> dict[str, tuple[str, tuple[str, ...]]]:
        return {ctx.rel(s.path): (s.revision, tuple(to_tuple(s.down_revision, default=())))
                for s in ctx.history().scripts}

    index = staged_files(ctx.root) if staged else None
    state = current_state(script, ctx.root, import_fallback=imported,
                          keep=index.keep if index is not None else None)
    if index is not None:
        index.refuse_unstaged([ctx.root / rel for rel in state.files],
                              script_version_locations(script), ctx.root)
    return state


def sum_file(ctx: CheckContext) -> Path:
    """The sum file of the section checked, as the check reads it and ``sluice lock``
    writes it: ``check.sum_file`` inside the project folder, not a symlink
    (:func:`~sluice.files.project_file`), or a one-line error naming the key."""
    return project_file(ctx.root, section_sum_file(ctx.config.check.sum_file, ctx.section),
                        key=ctx.config.key_path("check.sum_file"))


def check_checksums(ctx: CheckContext) -> CheckResult:
    """Run the check; its rule documents it (:mod:`sluice.rules.check.checksums`)."""
    path = sum_file(ctx)
    rel, lock = ctx.rel(path), ctx.given.sluice("lock")
    if not path.is_file():
        if not ctx.config.check.require_lock:
            return CheckResult(NAME, TITLE, "skip", f"no {rel}: run {lock} to record "
                               "the revision files' checksums, and commit it")
        return finish(NAME, TITLE, [check_finding(
            NAME, "no-sum-file", "no checksum file: the revision files are not locked "
            "(check.require_lock = true)",
            f"Run {lock} and commit {rel} with the migrations.", path=rel)],
            "not locked")
    recorded = parse_sum(path.read_text(encoding="utf-8", errors="replace"))
    disk = _disk_state(ctx)
    problems: list[Finding] = []
    if recorded.conflict_line is not None:
        problems.append(check_finding(
            NAME, "merge-conflict",
            f"unresolved merge conflict in {rel}: two branches changed the revision history "
            "(usually each added a revision on the same head)",
            "Put the two revisions in sequence: set down_revision of the newer one to the "
            "other branch's head (or add a merge revision with "
            f"{ctx.given.alembic('merge', 'heads')}), then "
            f"run {lock} to rewrite {rel} and commit both.",
            path=rel, line=recorded.conflict_line))
    for line, message in recorded.errors:
        problems.append(check_finding(NAME, "bad-line", message,
                                f"Run {lock} to rewrite {rel}.", path=rel, line=line))
    for file, digest in sorted(recorded.files.items()):
        if file not in disk.files:
            problems.append(check_finding(
                NAME, "removed", f"{file} is recorded in {rel} but no longer exists",
                "Deleting a revision that has run anywhere breaks every database that "
                "recorded it. Restore it from version control; if it never left your "
                f"branch, run {lock}.", path=rel, line=recorded.lines.get(file)))
        elif disk.files[file] != digest:
            problems.append(check_finding(
                NAME, "edited",
                f"changed after it was locked ({rel}:{recorded.lines.get(file)} records "
                f"sha256 {digest[:12]}..., the file now hashes to {disk.files[file][:12]}...)",
                _EDITED_FIX.format(sum=rel, lock=lock,
                                  revision=ctx.given.alembic("revision", "-m", "...")), path=file))
    new = sorted(set(disk.files) - set(recorded.files))
    for file in new:
        problems.append(check_finding(
            NAME, "unrecorded", f"new revision file, not recorded in {rel}",
            f"Run {lock} and commit {rel} with the new revision.", path=file))
    same_files = set(disk.files) == set(recorded.files)
    notes = [f"{file}: revision id unreadable, heads not compared" for file in disk.unreadable]
    if same_files and recorded.conflict_line is None and not disk.unreadable \
            and sorted(recorded.heads) != disk.heads:
        problems.append(check_finding(
            NAME, "heads-changed",
            f"{rel} records heads {' '.join(recorded.heads) or '(none)'}, the revision files "
            f"have {' '.join(disk.heads)}",
            f"Run {lock} and commit {rel}.", path=rel, line=recorded.heads_line))
    n = len(disk.files)
    summary = (f"{n} revision file{'s match' if n != 1 else ' matches'} {rel}"
               if not problems else f"{rel} out of date")
    return finish(NAME, TITLE, problems, summary, notes=notes)


@dataclass
class LockResult:
    """What ``sluice lock`` wrote."""

    path: Path
    files: int
    heads: list[str]
    changed: bool
    #: The sum file did not exist before.
    created: bool = False
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    #: Revision files whose ids could not be read: the heads line leaves them out.
    unreadable: list[str] = field(default_factory=list)
    #: Files of ``modified`` that changed only by a re-point (``down_revision`` and the
    #: docstring's ``Revises:`` line): reviewed as recorded, not linted again.
    repointed: list[str] = field(default_factory=list)
    #: Revision files not in git's index, left out (``staged=True``).
    left_out: list[str] = field(default_factory=list)


def lock(ini: str | Path, *, config_file: str | None = None,
         x_args: tuple[str, ...] = (), ini_section: str = "alembic",
         before_write: Callable[[LockResult], None] | None = None, staged: bool = False,
         pre_images: Mapping[Path, str] | None = None, env: str | None = None) -> LockResult:
    """Write ``sluice.sum`` for the project of ``ini`` (for section ``ini_section``, its
    own sum file, :func:`~sluice.core.sumfile.section_sum_file`: the other sections' files
    are never touched).

    Never imports a revision unless its ids are not literals; a file whose ids cannot be
    read either way is still checksummed, left out of the heads line and reported in
    ``LockResult.unreadable``. A broken history (a syntax error, a duplicate id, a missing
    parent, a cycle) is refused with a :class:`SluiceError` naming the file and line, and
    nothing is written: a lock records a history that can run. The sum file must be a
    regular file inside the project folder (not a symlink); it is replaced atomically and
    keeps its permissions. ``before_write`` sees what would be written (added and
    modified files) before anything is; raising from it writes nothing (``sluice lock``
    lints those files there, except the ``repointed`` ones: :mod:`sluice.check.repoint`;
    ``pre_images``: texts of files from before an edit, by path, as ``sluice lock
    --rebase`` read them). ``staged``: record only the revision files in git's index, what
    the next commit records (:mod:`sluice.core.staged`); the others are ``left_out``.
    ``ini`` as given, ``x_args`` and ``env`` are repeated in the commands an error
    suggests."""
    path = Path(ini)
    if not path.is_file():
        raise SluiceError(f"{path}: no such file (pass -c/--config PATH to alembic.ini)")
    config = load_config(path, path=config_file)

    with ExitStack() as stack:
        ctx = CheckContext(ini=path.resolve(), config=config,
                           options=CheckOptions(x_args=x_args, config_file=config_file,
                                                ini_section=ini_section, env=env),
                           stack=stack, database=False, ini_arg=str(ini))
        target = sum_file(ctx)
        disk = _disk_state(ctx, staged=staged)
    _refuse_broken_history(disk, ctx.root, ctx.given)
    text = disk.render(ini_section)
    old_text = target.read_text(encoding="utf-8", errors="replace") if target.is_file() else None
    previous = parse_sum(old_text) if old_text is not None else SumState()
    changed = old_text != text
    modified = sorted(f for f in disk.files
                      if f in previous.files and previous.files[f] != disk.files[f])
    result = LockResult(
        path=target, files=len(disk.files), heads=disk.heads, changed=changed,
        created=old_text is None,
        added=sorted(set(disk.files) - set(previous.files)),
        removed=sorted(set(previous.files) - set(disk.files)),
        modified=modified,
        unreadable=list(disk.unreadable),
        repointed=repointed_files(modified, previous.files, ctx.root, pre_images)
        if changed and modified else [],
        left_out=list(disk.left_out),
    )
    if changed:
        if before_write is not None:
            before_write(result)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, text, what="check.sum_file")
    return result


def _refuse_broken_history(disk: SumState, root: Path, given: Invocation) -> None:
    """Raise for the first file that does not parse or the first structural problem; the
    commands it suggests carry the options of ``given``."""
    for rel, info in sorted(disk.static.items()):
        if info.syntax_error is not None:
            line, message = info.syntax_error
            raise SluiceError(
                f"{rel}{f':{line}' if line else ''}: {message}; sluice lock records only "
                "revisions that Alembic can load, nothing was written",
                hint=f"Fix the file, then run {given.sluice('lock')} again.")

    graph = Graph()
    for rel, info in sorted(disk.static.items()):
        revision, parents = info.revision, info.down_revisions
        if rel in disk.imported:
            revision, parents = disk.imported[rel]
        if revision is None or rel in disk.unreadable:
            continue
        file = (root / rel).resolve()
        graph.static[file] = info
        node = Node(id=revision, path=file, parents=parents, depends_on=info.depends_on,
                    labels=info.branch_labels)
        if revision in graph.nodes:
            graph.duplicates.append((graph.nodes[revision], node))
        else:
            graph.nodes[revision] = node
    problems = graph_problems(graph, lambda p: display_path(p, root), given.sluice("lock"))
    if disk.unreadable:  # a parent may be one of the files whose id is unknown
        problems = [p for p in problems if p.name not in ("missing-parent", "missing-dependency")]
    if problems:
        first = problems[0]
        where = f"{first.path}:{first.line}" if first.line else str(first.path)
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise SluiceError(
            f"{where}: {first.message}{more}; sluice lock refuses to record a broken "
            "revision graph, nothing was written",
            hint=f"{first.fix} {given.sluice('check', '--only', 'graph')} lists every "
                 "problem.")
