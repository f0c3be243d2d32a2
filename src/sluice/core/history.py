"""A project's revision history, read the one way every command reads it.

* :func:`revision_files` lists the revision files of the version locations as Alembic's
  ``ScriptDirectory`` does (``recursive_version_locations``, ``sourceless``; the
  ``file_template`` only names new files, Alembic lists every ``*.py``).
* :func:`read_header` reads a file's header from its ``ast``, never importing it:
  ``revision``, ``down_revision``, ``branch_labels``, ``depends_on`` with their lines, the
  docstring and ``sluice_phase``.
* :func:`build_history` builds Alembic's own :class:`~alembic.script.revision.RevisionMap`
  from the headers, and :meth:`History.resolve` resolves a revision spec (ids, prefixes,
  ``head``/``heads``, branch labels, ``label@head``, relative ``ae10+2``/``head-1``/``-1``)
  with it, the way ``alembic upgrade`` and ``alembic show`` do.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sluice.core.alembic_compat import (
    all_down_revisions,
    own_branch_labels,
    relative_spec,
    script_version_locations,
    upgrade_targets,
)
from sluice.core.errors import SluiceError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from alembic.script import ScriptDirectory
    from alembic.script.revision import RevisionMap

# --------------------------------------------------------------------------- files

_SOURCE_FILE = re.compile(r"^(?!\.#|__init__)(.*\.py)$")
_SOURCELESS_FILE = r"^(?!\.#|__init__)(.*\.py)(c|o)?$"  # compiled where used (rare)


def revision_files(locations: Iterable[str | os.PathLike[str]], *, recursive: bool = False,
                   sourceless: bool = False) -> list[Path]:
    """Every revision file of ``locations``, in the order Alembic lists them (each folder's
    files sorted by name, then its sub-folders when ``recursive``), each once by its real
    path. With ``sourceless``, ``.pyc`` files count too (also those in ``__pycache__``
    without a source beside them), as Alembic's ``sourceless = true``."""
    out: list[Path] = []
    folder, folder_path = "", Path()
    for root, name, real in _revision_entries(locations, recursive, sourceless):
        if root is not folder:
            folder, folder_path = root, Path(root)
        # (joining a name to the folder's Path parses less than a whole path)
        out.append(folder_path / name if name else Path(real))
    return out


def revision_paths(locations: Iterable[str | os.PathLike[str]], *, recursive: bool = False,
                   sourceless: bool = False) -> list[str]:
    """:func:`revision_files` as path strings (a lint of thousands of files builds no
    ``Path`` for the files its cache vouches for)."""
    return [real for _, _, real in _revision_entries(locations, recursive, sourceless)]


def _revision_entries(locations: Iterable[str | os.PathLike[str]], recursive: bool,
                      sourceless: bool) -> Iterable[tuple[str, str, str]]:
    """``(folder, name, real path)`` of each revision file; ``name`` is empty when the real
    path is not ``folder/name`` (a symlink, a cached-only ``.pyc``)."""
    pattern = re.compile(_SOURCELESS_FILE) if sourceless else _SOURCE_FILE
    match = pattern.match
    seen: set[str] = set()
    for location in locations:
        if not os.path.isdir(location):
            continue
        for root, files in _walk(os.path.realpath(location), recursive):
            names = sorted(files)
            if sourceless:
                names += _cached_only(root, names)
            prefix = root.rstrip(os.sep) + os.sep
            for name in names:
                if not match(os.path.basename(name) if sourceless else name):
                    continue
                path = prefix + name
                entry = files.get(name)
                if entry is not None and not entry.is_symlink():
                    # a plain entry of a folder whose path is real: its path is real too
                    real, is_file = path, entry.is_file()
                else:
                    real = os.path.realpath(path)
                    is_file = os.path.isfile(real)
                if real in seen or not is_file:
                    continue
                seen.add(real)
                yield root, (name if real is path else ""), real


def _walk(top: str, recursive: bool) -> Iterable[tuple[str, dict[str, os.DirEntry[str]]]]:
    """``os.walk(top)`` (top-down, symlinked folders listed but not entered, unreadable
    folders skipped, ``__pycache__`` left out, sub-folders in name order) with each
    folder's files as their ``os.DirEntry``, whose type needs no ``stat``."""
    try:
        with os.scandir(top) as listing:
            entries = list(listing)
    except OSError:
        return
    dirs: list[str] = []
    files: dict[str, os.DirEntry[str]] = {}
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            dirs.append(entry.name)
        else:
            files[entry.name] = entry
    dirs = sorted(d for d in dirs if d != "__pycache__")
    yield top, files
    if recursive:
        for name in dirs:
            sub = os.path.join(top, name)
            if not os.path.islink(sub):
                yield from _walk(sub, recursive)


def _cached_only(root: str, names: list[str]) -> list[str]:
    """``__pycache__/*.pyc`` of ``root`` whose module has no file in ``root``."""
    cache = os.path.join(root, "__pycache__")
    if not os.path.isdir(cache):
        return []
    stems = {n.split(".")[0] for n in names}
    return [os.path.join("__pycache__", n) for n in sorted(os.listdir(cache))
            if n.split(".")[0] not in stems]


def script_revision_files(script: ScriptDirectory) -> list[Path]:
    """:func:`revision_files` of a ScriptDirectory's version locations and options."""
    return revision_files(script_version_locations(script),
                          recursive=bool(getattr(script, "recursive_version_locations", False)),
                          sourceless=bool(getattr(script, "sourceless", False)))


# --------------------------------------------------------------------------- headers


@dataclass
class RevisionHeader:
    """What a revision file says about its place in the history, read without importing it."""

    path: Path
    revision: str | None = None
    #: ``down_revision`` as written (a string, a tuple, or None for a base or not a literal).
    down_revision: str | tuple[str, ...] | None = None
    down_revisions: tuple[str, ...] = ()
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    revision_line: int | None = None
    down_revision_line: int | None = None
    branch_labels_line: int | None = None
    #: ``revision`` or ``down_revision`` is missing or not a literal (only an import tells).
    dynamic: bool = False
    #: ``branch_labels`` or ``depends_on`` is not a literal (only an import tells).
    dynamic_links: bool = False
    #: (line, message) when the file is not valid Python; ids then come from single-line
    #: assignments.
    syntax_error: tuple[int | None, str] | None = None
    #: The module docstring (Alembic's ``Script.longdoc``), and ``sluice_phase``.
    doc: str | None = None
    phase: str | None = None

    @property
    def message(self) -> str:
        """The first line of the docstring's first paragraph, as Alembic's ``Script.doc``."""
        text = (self.doc or "").strip()
        return text.split("\n\n")[0].splitlines()[0] if text else ""


class _UnknownType:
    pass


_UNKNOWN: Any = _UnknownType()
_HEADER_NAMES = frozenset({"revision", "down_revision", "branch_labels", "depends_on",
                           "sluice_phase"})


def _literal(node: ast.AST | None) -> Any:
    if node is None:
        return None
    kind = type(node)
    if kind is ast.Constant:  # what ast.literal_eval gives, without its set-up per call
        return node.value  # type: ignore[attr-defined]
    if (kind is ast.Tuple or kind is ast.List) and all(
            type(e) is ast.Constant for e in node.elts):  # type: ignore[attr-defined]
        values = [e.value for e in node.elts]  # type: ignore[attr-defined]
        return tuple(values) if kind is ast.Tuple else values
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _UNKNOWN


def _as_tuple(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def read_header(path: str | os.PathLike[str]) -> RevisionHeader:
    """The header of the revision file ``path`` (unreadable: ``dynamic``)."""
    try:
        source = Path(path).read_bytes()
    except OSError:
        return RevisionHeader(path=Path(path), dynamic=True)
    return header_from_source(source, path)


def header_from_source(source: str | bytes, path: str | os.PathLike[str]) -> RevisionHeader:
    """The header of a revision file's text (a syntax error is recorded, not raised)."""
    try:
        tree = ast.parse(source, filename=os.fspath(path))
    except SyntaxError as exc:
        return header_from_lines(source, path, (exc.lineno, f"{type(exc).__name__}: {exc.msg}"))
    except (ValueError, RecursionError, MemoryError) as exc:
        return header_from_lines(source, path, (None, f"{type(exc).__name__}: {exc}"))
    return header_from_tree(tree, path)


def header_from_tree(tree: ast.Module, path: str | os.PathLike[str]) -> RevisionHeader:
    """The header of an already parsed revision file (module-level assignments)."""
    info = RevisionHeader(path=Path(path), doc=ast.get_docstring(tree, clean=False))
    for node in tree.body:
        kind = type(node)  # (a parsed tree holds these exact types)
        if kind is ast.Assign:
            targets, value = node.targets, node.value  # type: ignore[attr-defined]
        elif kind is ast.AnnAssign and node.value is not None:  # type: ignore[attr-defined]
            targets, value = [node.target], node.value  # type: ignore[attr-defined]
        else:
            continue
        for target in targets:
            if type(target) is ast.Name and target.id in _HEADER_NAMES:  # what _assign reads
                _assign(info, target.id, value, node.lineno)
    if info.revision is None:
        info.dynamic = True
    return info


def _assign(info: RevisionHeader, name: str, value: ast.AST, line: int) -> None:
    if name == "revision":
        info.revision_line = line
        lit = _literal(value)
        if isinstance(lit, str):
            info.revision = lit
        else:
            info.dynamic = True
    elif name == "down_revision":
        info.down_revision_line = line
        lit = _literal(value)
        tup = _as_tuple(lit)
        info.down_revision = lit if tup is not None and (lit is None or isinstance(lit, str)) \
            else tup
        if tup is None:
            info.dynamic = True
        else:
            info.down_revisions = tup
    elif name in ("branch_labels", "depends_on"):
        links = _as_tuple(_literal(value))
        info.dynamic_links = info.dynamic_links or links is None
        if name == "branch_labels":
            info.branch_labels_line = line
            info.branch_labels = links or ()
        else:
            info.depends_on = links or ()
    elif name == "sluice_phase":
        phase = _literal(value)
        info.phase = phase if isinstance(phase, str) else None


_ASSIGN = r"(?m)^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*(?:#.*)?$"  # rarely used


def header_from_lines(source: str | bytes, path: str | os.PathLike[str],
                      syntax_error: tuple[int | None, str]) -> RevisionHeader:
    """Ids from single-line module assignments, for a file that does not parse."""
    info = RevisionHeader(path=Path(path), syntax_error=syntax_error)
    text = source.decode("utf-8", errors="replace") if isinstance(source, bytes) else source
    for m in re.finditer(_ASSIGN, text):
        line = text.count("\n", 0, m.start()) + 1
        try:
            value = ast.literal_eval(m.group(2))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            info.dynamic = True
            continue
        if m.group(1) == "revision" and isinstance(value, str):
            info.revision, info.revision_line = value, line
        elif m.group(1) == "down_revision" and _as_tuple(value) is not None:
            info.down_revisions, info.down_revision_line = _as_tuple(value) or (), line
            info.down_revision = value if value is None or isinstance(value, str) \
                else info.down_revisions
    if info.revision is None:
        info.dynamic = True
    return info


# --------------------------------------------------------------------------- the graph


def _shown(path: Path, root: Path | None, line: int | None = None) -> str:
    """``path`` relative to ``root`` (when below it), with ``:line`` when known."""
    try:
        shown = str(path.resolve().relative_to(root)) if root is not None else str(path)
    except ValueError:
        shown = str(path)
    return f"{shown}:{line}" if line else shown


def build_map(headers: Sequence[RevisionHeader], *, strict: bool = True,
              root: Path | None = None) -> RevisionMap:
    """Alembic's RevisionMap of ``headers`` (those with a revision id), loaded.

    ``strict``: a duplicate id, a missing parent or a cycle is a one-line
    :class:`SluiceError` naming the files (``root`` shortens their paths). Otherwise the
    first file of a duplicate id wins and links to unknown revisions are left out, so a
    history under repair still resolves (lint scopes it); a cycle is an error either way."""
    from alembic.script.revision import (  # lazy: lint starts without Alembic
        CycleDetected,
        Revision,
        RevisionError,
        RevisionMap,
    )

    seen: dict[str, RevisionHeader] = {}
    for header in headers:
        if not header.revision:
            continue
        if header.revision in seen:
            if strict:
                raise SluiceError(
                    f"{_shown(header.path, root, header.revision_line)}: revision id '"
                    f"{header.revision}' is also declared by {_shown(seen[header.revision].path, root)}; give one of them a new id")
            continue
        seen[header.revision] = header
    labels = {label for h in seen.values() for label in h.branch_labels}
    links: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for rev, header in seen.items():
        missing = [p for p in header.down_revisions if p not in seen]
        if missing and strict:
            raise SluiceError(
                f"{_shown(header.path, root, header.down_revision_line)}: down_revision "
                f"'{missing[0]}' of revision {rev} does not exist (no revision file "
                "declares it)")
        links[rev] = (tuple(p for p in header.down_revisions if p in seen),
                      header.depends_on if strict else tuple(
                          d for d in header.depends_on if d in seen or d in labels))
    rmap = RevisionMap(lambda: (Revision(rev, down or None, dependencies=deps or None,
                                         branch_labels=seen[rev].branch_labels or None)
                                for rev, (down, deps) in links.items()))
    try:
        rmap.heads  # noqa: B018 - loads the map
    except CycleDetected as exc:
        files = ", ".join(_shown(seen[r].path, root) for r in exc.revisions if r in seen)
        raise SluiceError(f"{files}: {exc}; one of their down_revision (or depends_on) values "
                          "points back into the cycle") from None
    except (RevisionError, KeyError) as exc:
        where = root if root is not None else "the project"
        raise SluiceError(f"{where}: the revision graph does not load: {exc}") from None
    return rmap


class History:
    """Questions about a loaded RevisionMap, answered by Alembic's own walks."""

    def __init__(self, rmap: RevisionMap) -> None:
        self.map = rmap

    @property
    def ids(self) -> list[str]:
        return [r.revision for r in self.map.iterate_revisions("heads", "base")
                if r is not None]

    def heads(self) -> list[str]:
        return list(self.map.heads)

    def bases(self) -> list[str]:
        return list(self.map.bases)

    def labels(self) -> dict[str, str]:
        """Each declared branch label and the revision declaring it."""
        out: dict[str, str] = {}
        for rev in self.map.iterate_revisions("heads", "base"):
            if rev is not None:
                for label in own_branch_labels(rev):
                    out.setdefault(label, rev.revision)
        return out

    def descendants(self, rev: str) -> set[str]:
        """Every revision that builds on ``rev`` (down_revision or depends_on), not itself."""
        out: set[str] = set()
        start = self.map.get_revision(rev)
        stack = list(start.nextrev) if start is not None else []
        while stack:
            cur = stack.pop()
            if cur in out:
                continue
            out.add(cur)
            node = self.map.get_revision(cur)
            if node is not None:
                stack.extend(node.nextrev)
        return out

    def ancestors(self, rev: str, *, dependencies: bool = True) -> set[str]:
        """Every revision ``rev`` builds on (down_revision, and depends_on unless
        ``dependencies`` is False), not itself."""
        from alembic.util import to_tuple  # lazy: lint starts without Alembic

        def downs(node: Any) -> tuple[str, ...]:
            if dependencies:
                return all_down_revisions(node)
            return tuple(to_tuple(node.down_revision, default=()))

        out: set[str] = set()
        start = self.map.get_revision(rev)
        stack = list(downs(start)) if start is not None else []
        while stack:
            cur = stack.pop()
            if cur in out:
                continue
            out.add(cur)
            node = self.map.get_revision(cur)
            if node is not None:
                stack.extend(downs(node))
        return out

    def branches(self, rev: str) -> set[str]:
        """The branch labels ``rev`` belongs to, as Alembic sees them (declared on it or
        on the revisions it builds on, down to the branch point)."""
        node = self.map.get_revision(rev)
        return set(node.branch_labels) if node is not None else set()

    def resolve(self, spec: str, what: str = "revision", current: Sequence[str] = ()) -> list[str]:
        """The revision ids ``spec`` names, as ``alembic upgrade SPEC`` would end at from
        ``current`` (ids, unique prefixes of four or more characters, ``head``, ``heads``,
        branch labels, ``label@head``, ``ae10+2``, ``head-1``; ``+2`` counts from
        ``current``, base when empty). Two forms that ``alembic upgrade`` refuses resolve
        as ``alembic show`` does: ``-1`` (and ``label@-1``) counts down from the heads,
        and ``base`` is the first revision(s) instead of none. An empty, unknown or
        ambiguous spec is a one-line :class:`SluiceError` starting with ``WHAT 'SPEC'``."""
        from alembic.script.revision import RevisionError  # lazy: lint starts without Alembic

        s = spec.strip()
        if not s:  # what an unset variable gives (Alembic asserts on it)
            raise SluiceError(f"{what} '{spec}': the revision is empty (an unset variable?)")
        try:
            if s == "base":
                return self.bases()
            rel = relative_spec(s)
            if rel is not None and rel[1] is None and rel[2] < 0 and not current:
                found = self.map.get_revisions(s)
            else:
                found = upgrade_targets(self.map, s, current)
        except RevisionError as exc:  # ResolutionError, MultipleHeads, a walk too far
            raise self._unknown(s, spec, what, exc) from None
        ids = [r.revision for r in found if r is not None and not isinstance(r, str)]
        if not ids and s not in ("head", "heads"):
            raise SluiceError(f"{what} '{spec}': names no revision")
        return ids

    def _unknown(self, s: str, spec: str, what: str, exc: Exception) -> SluiceError:
        ids = self.ids
        prefixed = sorted(i for i in ids if len(i) > 3 and i.startswith(s))
        if len(prefixed) > 1:
            return SluiceError(f"{what} '{spec}' is ambiguous: it matches "
                               f"{', '.join(prefixed[:5])}")
        message = " ".join(str(exc).split())
        if message.startswith("Multiple heads are present"):
            heads = ", ".join(sorted(self.heads()))
            return SluiceError(f"{what} '{spec}': the history has several heads ({heads}); "
                               "name one of them, or use 'heads' (`alembic upgrade head` "
                               "refuses too)")
        if message.startswith("No such revision or branch"):
            import difflib  # lazy: only for an unknown revision; start-up

            close = difflib.get_close_matches(s, ids + list(self.labels()), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            return SluiceError(f"{what} '{spec}': no such revision{hint}")
        return SluiceError(f"{what} '{spec}': {message}")


def build_history(headers: Sequence[RevisionHeader], *, strict: bool = True,
                  root: Path | None = None) -> History:
    """:class:`History` of :func:`build_map`."""
    return History(build_map(headers, strict=strict, root=root))
