"""A revision file changed only in where it sits in the history: a re-point.

Two branches that each add a revision on the same head are put in sequence by setting
the newer revision's ``down_revision`` to the other head (``sluice lock --rebase`` does it,
or the developer by hand after ``git rebase``). That changes the file's checksum, but not
one statement of ``upgrade()`` or ``downgrade()``: what was reviewed (and linted) when
``sluice.sum`` recorded the file is still what it holds. ``sluice lock`` therefore does not
lint a re-pointed revision again. It only counts as re-pointed when the version that
``sluice.sum`` records is at hand (what ``--rebase`` read before its edit, else a version
in git whose checksum is the recorded one) and the two texts are the same apart from the
``down_revision`` value and the docstring's ``Revises:`` line; any other difference is an
edit, linted as before.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from sluice.core.source import decode_source
from sluice.core.sumfile import content_digest
from sluice.errors import SluiceError

__all__ = ["down_revision_node", "only_repointed", "recorded_text", "repointed_files",
           "text_offset"]

_REVISES = re.compile(r"^([ \t]*Revises:)[^\n]*$", re.M)
#: Commits searched (newest first) for the version of a file that sluice.sum records.
_SEARCHED = 50


def down_revision_node(tree: ast.Module) -> ast.expr:
    """The value of the module-level ``down_revision = ...`` assignment."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value  # type: ignore[assignment]
        else:
            continue
        if isinstance(target, ast.Name) and target.id == "down_revision" and value is not None:
            return value
    raise SluiceError("no module-level `down_revision = ...` assignment")


def text_offset(lines: list[str], line: int, col: int) -> int:
    """Character offset of (1-based line, UTF-8 byte column) in the text."""
    before = sum(len(x) for x in lines[: line - 1])
    return before + len(lines[line - 1].encode("utf-8")[:col].decode("utf-8"))


def _masked(text: str) -> str | None:
    """``text`` with its ``down_revision`` value and its docstring's ``Revises:`` value
    blanked out; None when it does not parse or ``down_revision`` is not a literal."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        tree = ast.parse(text)
        node = down_revision_node(tree)
        ast.literal_eval(node)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError, SluiceError):
        return None
    lines = text.splitlines(keepends=True)
    spans: list[tuple[int, int, str | None]] = [
        (text_offset(lines, node.lineno, node.col_offset),
         text_offset(lines, node.end_lineno or node.lineno, node.end_col_offset or 0), "\0")]
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):  # the module docstring
        spans.append((text_offset(lines, first.lineno, first.col_offset),
                      text_offset(lines, first.end_lineno or first.lineno,
                              first.end_col_offset or 0), None))
    for start, end, replacement in sorted(spans, reverse=True):
        part = _REVISES.sub(r"\1", text[start:end]) if replacement is None else replacement
        text = text[:start] + part + text[end:]
    return text


def only_repointed(before: str, after: str) -> bool:
    """Whether ``after`` is ``before`` with another ``down_revision`` (and ``Revises:``
    line) and nothing else changed."""
    masked = _masked(before)
    return masked is not None and masked == _masked(after)


def _git(args: list[str], cwd: Path, data: bytes | None = None) -> bytes | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=data, capture_output=True,
                              check=False)
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def recorded_text(path: Path, digest: str) -> str | None:
    """The version of the file ``path`` whose checksum is ``digest`` (what sluice.sum
    records), from git: the index, ``HEAD`` or a recent commit of any branch that changed
    the file (during a rebase the branch being rebased still points at it). None when git
    has no such version."""
    folder = path.parent
    top = _git(["rev-parse", "--show-toplevel"], folder)
    if top is None:
        return None
    toplevel = Path(top.decode("utf-8", "surrogateescape").strip())
    try:
        rel = Path(os.path.realpath(path)).relative_to(os.path.realpath(toplevel)).as_posix()
    except ValueError:
        return None
    log = _git(["log", "--all", "--format=%H", f"-n{_SEARCHED}", "--", rel], toplevel) or b""
    specs = [f":{rel}", f"HEAD:{rel}", *(f"{c}:{rel}" for c in log.decode().split())]
    out = _git(["cat-file", "--batch"], toplevel, "\n".join(specs).encode() + b"\n")
    pos = 0
    while out is not None and pos < len(out):
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3:  # "<spec> missing"
            continue
        size = int(header[2])
        blob = out[pos:pos + size]
        pos += size + 1
        if content_digest(blob) == digest:
            return decode_source(blob)
    return None


def repointed_files(modified: list[str], recorded: Mapping[str, str], root: Path,
                    pre_images: Mapping[Path, str] | None = None) -> list[str]:
    """The files of ``modified`` (paths relative to ``root`` that ``recorded`` maps to
    the checksum sluice.sum records) that changed only by a re-point. ``pre_images``:
    texts known from before an edit (what ``sluice lock --rebase`` read), by real path;
    used when their checksum is the recorded one, else git is asked."""
    known = {os.path.realpath(p): text for p, text in (pre_images or {}).items()}
    out = []
    for rel in modified:
        path = root / rel
        try:
            now = decode_source(path.read_bytes())
        except OSError:
            continue
        if now is None:
            continue
        before = known.get(os.path.realpath(path))
        if before is None or content_digest(before.encode("utf-8")) != recorded[rel]:
            before = recorded_text(path, recorded[rel])
        if before is not None and only_repointed(before, now):
            out.append(rel)
    return out
