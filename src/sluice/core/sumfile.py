"""``sluice.sum``: the SHA-256 of every revision file, and the current head(s).

Format (one line per revision file, sorted by path, then the heads)::

    # sluice.sum: SHA-256 of every revision file and the current head(s). ...
    3f0a...e1  migrations/versions/0001_users_and_products.py
    9b7c...04  migrations/versions/0002_orders_and_demo_data.py
    heads: 0002

Paths are relative to the folder of alembic.ini, with forward slashes. Each Alembic
environment of alembic.ini has its own sum file: ``sluice.sum`` for ``[alembic]``,
``sluice.NAME.sum`` for section ``[NAME]`` (``sluice lock -n NAME``; :func:`section_sum_file`). Line endings are
normalised to ``\\n`` before hashing, so a Windows checkout hashes like a Linux one.

The final ``heads:`` line is what turns two branches that each add a revision on the
same head into a merge conflict in this file (both rewrite that line), at merge time,
instead of a "multiple heads" error after the merge.

Reading never needs to import a revision: ids come from each file's ``ast``; only files
whose ``revision``/``down_revision`` are not literals fall back to importing the history.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sluice.core.history import RevisionHeader, read_header, script_revision_files
from sluice.core.project import display_path

HEADER = ("# sluice.sum: SHA-256 of every revision file and the current head(s). "
          "Regenerate with `sluice lock`; commit it with the migrations.")
#: Compiled when a sum file is read (``re.compile`` keeps them), not at import.
_LINE = r"^([0-9a-f]{64})  (.+)$"
_CONFLICT = r"^(<{7}|={7}|>{7}|\|{7})( |$)"


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes with CRLF/CR line endings normalised to LF."""
    return content_digest(path.read_bytes())


def content_digest(data: bytes) -> str:
    """SHA-256 of a revision file's bytes ``data`` with CRLF/CR line endings normalised to
    LF: a checkout with other line endings is the same file (sluice.sum, the audit rows)."""
    import hashlib  # lazy: loads OpenSSL; a lint without a sum file hashes nothing with it

    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return hashlib.sha256(data).hexdigest()


@dataclass
class SumState:
    """The checksums and heads of a project, as recorded or as on disk."""

    #: relative path -> sha256
    files: dict[str, str] = field(default_factory=dict)
    heads: list[str] = field(default_factory=list)
    #: line number of each recorded path (parsed files only)
    lines: dict[str, int] = field(default_factory=dict)
    heads_line: int | None = None
    #: (line, message) for lines that are not checksum lines
    errors: list[tuple[int, str]] = field(default_factory=list)
    #: first line of an unresolved git merge conflict
    conflict_line: int | None = None
    #: revision files whose ids could not be read (left out of ``heads``)
    unreadable: list[str] = field(default_factory=list)
    #: what each revision file says without importing it (files on disk only)
    static: dict[str, RevisionHeader] = field(default_factory=dict)
    #: (revision, down_revisions) of files whose ids had to be imported
    imported: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    #: revision files on disk that were not read (``current_state(keep=...)``)
    left_out: list[str] = field(default_factory=list)

    def render(self, section: str = "alembic") -> str:
        """The sum file's text; ``section``: the ini section it records (its header says
        how to regenerate it)."""
        lines = [HEADER if section == "alembic" else HEADER.replace(
            "`sluice lock`", f"`sluice lock -n {section}`").replace(
            "# sluice.sum:", f"# {section_sum_file('sluice.sum', section)}:")]
        lines += [f"{digest}  {path}" for path, digest in sorted(self.files.items())]
        lines.append("heads: " + " ".join(sorted(self.heads)))
        return "\n".join(lines) + "\n"


def parse_sum(text: str) -> SumState:
    """Read a sum file; bad lines and merge-conflict markers are recorded, not raised."""
    state = SumState()
    line_re, conflict_re = re.compile(_LINE), re.compile(_CONFLICT)
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        if conflict_re.match(line):
            if state.conflict_line is None:
                state.conflict_line = no
            continue
        if line.startswith("heads:"):
            state.heads = line[len("heads:"):].split()
            state.heads_line = no
            continue
        m = line_re.match(line)
        if not m:
            state.errors.append((no, f"not a checksum line: {line[:60]!r}"))
            continue
        state.files[m.group(2)] = m.group(1)
        state.lines[m.group(2)] = no
    return state


def heads_of(ids: dict[str, tuple[str, ...]]) -> list[str]:
    """Heads of a graph given as {revision: down_revisions}: ids nobody builds on."""
    referenced = {p for parents in ids.values() for p in parents}
    return sorted(i for i in ids if i not in referenced)


def current_state(script: object, root: Path, *,
                  import_fallback: Callable[[], dict[str, tuple[str, tuple[str, ...]]]]
                  | None = None, keep: Callable[[Path], bool] | None = None) -> SumState:
    """Checksums and heads of the revision files on disk.

    ``script`` is the project's ScriptDirectory. Ids come from each file's source; only
    for files where that fails (ids computed at import time) ``import_fallback`` is
    asked: it returns ``{relative path: (revision, down_revisions)}`` for the files that
    import. Files whose id stays unknown are listed in ``unreadable`` and left out of
    the heads. ``keep``: only the revision files it accepts (``sluice lock --staged``: the
    ones the commit records); the others are in ``left_out``, relative paths.
    """
    state = SumState()
    ids: dict[str, tuple[str, ...]] = {}
    unknown: list[str] = []
    for path in script_revision_files(script):  # type: ignore[arg-type]
        rel = display_path(path, root)
        if keep is not None and not keep(path):
            state.left_out.append(rel)
            continue
        state.files[rel] = file_digest(path)
        info = read_header(path)
        state.static[rel] = info
        if info.dynamic or info.revision is None:
            unknown.append(rel)
            continue
        ids[info.revision] = info.down_revisions
    if unknown and import_fallback is not None:
        imported = import_fallback()
        for rel in list(unknown):
            if rel in imported:
                rev, downs = imported[rel]
                ids[rev] = downs
                state.imported[rel] = (rev, downs)
                unknown.remove(rel)
    state.unreadable = unknown
    state.heads = heads_of(ids)
    return state


def sum_path(root: Path, sum_file: str, section: str = "alembic") -> Path:
    """The sum file of ini section ``section`` (see :func:`section_sum_file`)."""
    return (root / section_sum_file(sum_file, section)).resolve()


def section_sum_file(sum_file: str, section: str = "alembic") -> str:
    """``check.sum_file`` for the Alembic environment in ini section ``section``: the file
    itself for ``[alembic]``, else the section's name before its suffix
    (``sluice.sum`` -> ``sluice.reporting.sum``).

    Each environment (``alembic -n NAME``) has its own graph, heads and version table, so
    each has its own sum file: locking one never rewrites another's, and checking one
    compares every revision of that environment with the file that records them."""
    if section == "alembic":
        return sum_file
    path = Path(sum_file)
    safe = section_slug(section)
    name = f"{path.stem}.{safe}{path.suffix}" if path.suffix else f"{path.name}.{safe}"
    return path.with_name(name).as_posix()


def section_slug(section: str) -> str:
    """An ini section's name as part of a file name (characters other than letters,
    digits, ``_``, ``.`` and ``-`` become ``_``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", section)
