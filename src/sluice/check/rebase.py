"""``sluice lock --rebase``: put two branches' new revisions in sequence.

Two branches each add a revision on the same head. Both rewrite the ``heads:`` line of
``sluice.sum``, so git stops the merge with a conflict there (instead of Alembic failing
later with "multiple heads"). The fix is almost always the same: the revision that has not
reached the main branch yet is re-pointed at the other branch's head, so the history is
one line again. This module does exactly that, in the revision file's text:

1. Load the graph and find the heads that should be one (``check.expected_heads`` and
   service branch labels are respected, like ``sluice heads``).
2. Choose the branch to move: the one whose revisions are not yet on the base branch
   (``origin/main``, ``main``, ``origin/master``, ``master``; ``base=`` to name another)
   nor, during a ``git rebase``, in the commit being rebased onto (the upstream, whatever
   its name: the replayed commits are the ones not shared yet); when that does not
   decide, the newer one (``Create Date:`` of its first revision, then
   when git first saw the file, then the file's modification time); ``move=`` names it.
3. Set the first revision of that branch's ``down_revision`` to the other head, and its
   docstring's ``Revises:`` line too. Nothing else in the file changes; the edit is
   checked by parsing the file again before it is written (atomically).
4. Repeat while more than two heads need joining; then ``sluice lock`` rewrites the sum.

A revision that is already on the base branch (or on the upstream of a rebase in
progress) is never moved: it may have run somewhere. When every branch is, the answer is
a merge revision (``alembic merge``), and the error says so.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sluice.check.repoint import down_revision_node, text_offset
from sluice.config import SluiceConfig, load_config
from sluice.core.project import forget_modules
from sluice.errors import SluiceError
from sluice.files import write_atomic
from sluice.graph import HeadGroup, explain_heads, load_graph
from sluice.policy.services import service_labels

__all__ = ["Move", "RebaseResult", "rebase_heads", "repoint"]

BASES = ("origin/main", "main", "origin/master", "master")
_CREATE_DATE = re.compile(r"^\s*Create Date:\s*(.+?)\s*$", re.M)


@dataclass
class Move:
    """One revision re-pointed."""

    revision: str
    path: Path
    old: tuple[str, ...]
    new: str
    #: The file's text before the edit (``sluice lock`` tells a re-point from an edit by it).
    before: str = ""


@dataclass
class RebaseResult:
    moves: list[Move] = field(default_factory=list)
    #: The base branch used to tell shared revisions from new ones (None: no git).
    base: str | None = None
    #: During a ``git rebase``: the commit being rebased onto (its revisions are shared).
    onto: str | None = None

    def shared_refs(self) -> list[str]:
        """The git refs whose revisions are never moved."""
        return [r for r in (self.base, self.onto) if r is not None]

    def where(self) -> str:
        """Those refs, for messages."""
        onto = f"the commit being rebased onto ({self.onto[:12]})" if self.onto else None
        return " or ".join(w for w in (self.base, onto) if w is not None)


# --------------------------------------------------------------------------- editing


def repoint(path: Path, new_down: str) -> tuple[str, ...]:
    """Set ``down_revision`` of the revision file ``path`` to ``new_down`` (and its
    docstring's ``Revises:`` line); returns the old value. The file is rewritten
    atomically, only after the edited text parses and says what it should."""
    text = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise SluiceError(f"{path}:{exc.lineno}: cannot parse: {exc.msg}") from None
    try:
        node = down_revision_node(tree)
    except SluiceError as exc:
        raise SluiceError(f"{path}: {exc}") from None
    try:
        old_value = ast.literal_eval(node)
    except ValueError:
        raise SluiceError(f"{path}:{node.lineno}: down_revision is not a literal; "
                          "edit it by hand") from None
    old = (old_value,) if isinstance(old_value, str) else tuple(old_value or ())
    lines = text.splitlines(keepends=True)
    start = text_offset(lines, node.lineno, node.col_offset)
    end = text_offset(lines, node.end_lineno or node.lineno, node.end_col_offset or 0)
    segment = text[start:end]
    if segment[:1] in ("'", '"'):
        quote = segment[0]
    else:  # None or a tuple: quote like the file's own `revision = ...`
        m = re.search(r"""^revision\s*(?::[^=\n]*)?=\s*(['"])""", text, re.M)
        quote = m.group(1) if m else '"'
    new_text = text[:start] + f"{quote}{new_down}{quote}" + text[end:]
    doc = ast.get_docstring(tree, clean=False)
    if doc is not None and old:
        first = tree.body[0]
        d_start = text_offset(lines, first.lineno, first.col_offset)
        d_end = text_offset(lines, first.end_lineno or first.lineno, first.end_col_offset or 0)
        if d_end <= start:  # the docstring comes first: edit it in the new text
            old_doc = new_text[d_start:d_end]
            revises = re.compile(r"^(\s*Revises:[ \t]*)" + re.escape(", ".join(old))
                                 + r"[ \t]*$", re.M)
            new_doc = revises.sub(lambda m: m.group(1) + new_down, old_doc, count=1)
            new_text = new_text[:d_start] + new_doc + new_text[d_end:]
    check = ast.literal_eval(down_revision_node(ast.parse(new_text)))
    if check != new_down:  # pragma: no cover - the edit above is exact
        raise SluiceError(f"{path}: could not rewrite down_revision safely; edit it by hand")

    write_atomic(path, new_text, what="a revision file")  # keeps its mode, no symlinks
    return old


# --------------------------------------------------------------------------- choosing


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              check=False)
    except OSError:
        return None


def _base_ref(root: Path, base: str | None) -> str | None:
    for cand in [base] if base else list(BASES):
        out = _git(["rev-parse", "--verify", "--quiet", f"{cand}^{{commit}}"], root)
        if out is not None and out.returncode == 0:
            return cand
    if base:
        raise SluiceError(f"--base {base}: no such git branch, tag or commit")
    return None


def _rebase_onto(root: Path) -> str | None:
    """The commit a ``git rebase`` in progress replays onto (the upstream); None when no
    rebase is in progress."""
    for name in ("rebase-merge/onto", "rebase-apply/onto"):
        out = _git(["rev-parse", "--git-path", name], root)
        if out is None or out.returncode != 0:
            return None
        try:
            onto = (root / out.stdout.strip()).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            continue
        check = _git(["rev-parse", "--verify", "--quiet", f"{onto}^{{commit}}"], root)
        if onto and check is not None and check.returncode == 0:
            return check.stdout.strip()
    return None


def _on_base(path: Path, root: Path, ref: str | None) -> bool:
    if ref is None:
        return False
    top = _git(["rev-parse", "--show-toplevel"], root)
    if top is None or top.returncode != 0:
        return False
    rel = Path(os.path.realpath(path)).relative_to(Path(os.path.realpath(top.stdout.strip())))
    out = _git(["cat-file", "-e", f"{ref}:{rel.as_posix()}"], root)
    return out is not None and out.returncode == 0


def _created(path: Path, root: Path) -> tuple[float, float, float]:
    """(Create Date, first git commit time, mtime) as timestamps; 0 when unknown."""
    created = 0.0
    m = _CREATE_DATE.search(path.read_text(encoding="utf-8", errors="replace")[:4000])
    if m:
        try:
            created = datetime.fromisoformat(m.group(1)).replace(tzinfo=None).timestamp()
        except (ValueError, OverflowError, OSError):
            created = 0.0
    added = 0.0
    out = _git(["log", "--diff-filter=A", "--format=%ct", "--", str(path)], root)
    if out is not None and out.returncode == 0 and out.stdout.split():
        added = float(out.stdout.split()[-1])
    else:
        added = float("inf")  # not committed yet: the newest
    return created, added, path.stat().st_mtime


class _Stuck(SluiceError):
    """No safe re-point is left for the heads of a group; ``reason`` says why (no advice)."""

    def __init__(self, reason: str, merge_command: str | None) -> None:
        super().__init__(f"{reason}; join them with a merge revision: {merge_command}")
        self.reason = reason


def rebase_heads(ini: str | Path, *, move: str | None = None, base: str | None = None,
                 max_moves: int = 20, name: str = "alembic") -> RebaseResult:
    """Re-point revisions until the heads ``sluice heads`` objects to are one line.

    ``move``: a revision id (or unique prefix) on the branch to move; ``base``: the git
    ref whose revisions must stay; ``name``: the alembic.ini section (``-n``). Raises
    :class:`SluiceError` when there is nothing safe to do (every branch is on the base
    branch, a branch starts with a merge revision). All or nothing: when that happens
    after some revisions were re-pointed, their files are restored first, and the error
    names the heads (and the merge command) of the graph as it was.
    """
    ini = Path(ini)
    if not ini.is_file():
        raise SluiceError(f"{ini}: no such file (pass -c/--config PATH to alembic.ini)")
    config = load_config(ini)
    root = ini.resolve().parent
    result = RebaseResult(base=_base_ref(root, base), onto=_rebase_onto(root))
    first: list[HeadGroup] = []  # the group to join, as it was before any move
    try:
        _rebase(ini, config, root, result, first, move=move, max_moves=max_moves, name=name)
    except SluiceError as exc:
        if not result.moves:
            raise
        for done in reversed(result.moves):  # the first text of a file moved twice last
            write_atomic(done.path, done.before, what="a revision file")
        moved = ", ".join(f"{m.revision} onto {m.new}" for m in result.moves)
        why = exc.reason if isinstance(exc, _Stuck) else str(exc)
        raise SluiceError(
            f"heads {', '.join(first[0].heads)} cannot be put in one line by re-pointing "
            f"(after re-pointing {moved}: {why}); nothing was changed; join them with a "
            f"merge revision: {first[0].merge_command}") from None
    return result


def _rebase(ini: Path, config: SluiceConfig, root: Path, result: RebaseResult,
            first: list[HeadGroup], *, move: str | None, max_moves: int, name: str) -> None:
    """The moves of :func:`rebase_heads`, appended to ``result`` as they are made (and
    written); ``first`` receives the group of heads to join as it was at the start."""
    for _ in range(max_moves):
        forget_modules(root)
        graph = load_graph(ini, name=name, sluice_config=config)
        report = explain_heads(graph, config.check.expected_heads,
                               sorted(service_labels(config)))
        group = next((g for g in report.groups if len(g.heads) > 1), None)
        if group is None:
            return
        if not first:
            first.append(group)
        common = set(group.common_ancestors)
        segments: dict[str, str] = {}  # head -> first revision after the fork
        for head in group.heads:
            firsts = [r for r in group.since[head]
                      if any(p in common for p in graph.nodes[r].parents)]
            if len(firsts) != 1 or len(graph.nodes[firsts[0]].parents) != 1:
                raise _Stuck(f"{graph.rel(graph.nodes[head].path)}: the branch of head {head} "
                             "does not start with one plain revision", group.merge_command)
            segments[head] = firsts[0]
        shared = {h: any(_on_base(graph.nodes[r].path, root, ref)
                         for ref in result.shared_refs() for r in group.since[h])
                  for h in group.heads}
        if move is not None:
            chosen = [h for h in group.heads
                      if any(r == move or r.startswith(move) for r in group.since[h])]
            if len(chosen) != 1:
                raise SluiceError(f"--move {move}: not a revision of exactly one of the "
                                  f"branches to join (heads: {', '.join(group.heads)})")
            mover = chosen[0]
        else:
            movable = [h for h in group.heads if not shared[h]]
            if not movable:
                raise _Stuck(f"heads {', '.join(group.heads)} are all on {result.where()} "
                             "already: they may have run somewhere, so none is re-pointed",
                             group.merge_command)
            mover = max(movable, key=lambda h: (_created(graph.nodes[segments[h]].path, root),
                                                segments[h]))
        others = [h for h in group.heads if h != mover]
        target = max(others, key=lambda h: (not shared[h],
                                            _created(graph.nodes[segments[h]].path, root), h))
        node = graph.nodes[segments[mover]]
        before = node.path.read_text(encoding="utf-8")
        old = repoint(node.path, target)
        result.moves.append(Move(revision=node.id, path=node.path, old=old, new=target,
                                 before=before))
        move = None  # only the first choice is the caller's
    raise SluiceError(f"still more than one head after {max_moves} moves")
