"""Per-file analysis cache for ``sluice lint``.

One file, ``lint.cache``, in ``[tool.sluice.lint] cache_dir`` (default ``.sluice_cache/``, relative to
the folder of alembic.ini), and beside it ``lint.recent``: the entries changed since
``lint.cache`` was written, as long as they are few (:data:`RECENT_LIMIT`), so that a
lint after editing one revision writes that entry, not the whole cache (a lint reads both;
past the limit, or when a revision is gone, ``lint.cache`` is written whole and
``lint.recent`` removed). Each revision file has one entry, valid while the file's
content hash is unchanged; the whole cache is valid while the *key* is unchanged: the
Sluice version, the source of the lint package, the configuration and the options that
change results (dialects, stub modules, ``-x`` arguments). So an incremental run after
editing one revision re-analyses that revision only.

A file whose size, modification and change times and inode match its entry is not even
read (like git's index); a file changed within :data:`RACY_NS` before the lint that stored
its entry could have changed again within one tick of a coarse clock, so its entry keeps
no such stamp and the next lint hashes the file (git's "racily clean" entries).
A ``--format json`` lint keeps the JSON text of each revision's findings and record the
same way in ``lint.json`` and ``lint.jsonrecent`` (:mod:`sluice.lint.jsonparts`), which
other lints do not read. What the cache cannot see: helper modules a revision imports. After changing one, run
``sluice lint --no-cache`` once (or delete the folder).

The entries are plain data (dicts, lists, strings, numbers) in :mod:`marshal`'s format,
which a warm lint reads back and writes several times faster than JSON; only bytes the
check below has accepted are ever unmarshalled.

A cache that says "no findings" must not be forgeable: each file starts with a
keyed BLAKE2b (BLAKE2's MAC mode) of the rest, keyed with a random secret in ``key``
beside it. The key file is
created 0600 and trusted only while it is a regular file (not a symlink) owned by the
current user and unreadable to others; a committed or copied cache therefore never
validates (git checks files out 0644), and any edit to an entry invalidates the whole
file. A cache that does not validate is ignored and rewritten, never an error. Nothing
in the folder is read or written through a symlink.

Content hashes and the MAC are BLAKE2b, which the interpreter implements itself: a warm
lint does not load OpenSSL (:mod:`hashlib` does, for SHA-1 and SHA-256).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import stat
import sys
import time
from dataclasses import fields
from pathlib import Path

from sluice.errors import SluiceError
from sluice.files import check_target, write_atomic
from sluice.lint.model import Finding

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

try:  # what hashlib and hmac hand out, without their import of OpenSSL
    from _blake2 import blake2b
    from _operator import _compare_digest as compare_digest
except ImportError:  # pragma: no cover - an interpreter without these modules
    from hashlib import blake2b
    from hmac import compare_digest  # type: ignore[no-redef]

__all__ = ["LintCache", "content_hash", "pack_findings", "pack_report", "read_sealed",
           "unpack_findings", "unpack_report", "write_sealed"]

_FORMAT = 7
#: How recent a file's mtime or ctime may be (before the lint started) for its size and
#: times to vouch for its content: 2 s, the coarsest file-time granularity in use (FAT).
RACY_NS = 2_000_000_000
_FILE = "lint.cache"
_RECENT = "lint.recent"
#: Changed entries kept in ``lint.recent`` at most; past it ``lint.cache`` is rewritten.
RECENT_LIMIT = 64
#: marshal's format of plain data is stable, but it is this Python's to promise.
_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
_KEY = "key"


def content_hash(data: bytes) -> str:
    """A 160-bit BLAKE2b of ``data``, in hex."""
    return blake2b(data, digest_size=20).hexdigest()


class LintCache:
    """Entries keyed by file path, each carrying the content hash it was computed for."""

    def __init__(self, folder: Path | None, key: str, *,
                 files: tuple[str, str] = (_FILE, _RECENT)) -> None:
        self.folder = folder
        self.key = key
        #: The file of all entries and the file of those changed since.
        self._file, self._recent_file = files
        self.entries: dict[str, dict[str, Any]] = {}
        self.hits = 0
        self.misses = 0
        self._dirty = False
        #: Entries of ``lint.recent`` as read, and the paths put or restamped since.
        self._recent: dict[str, dict[str, Any]] = {}
        self._changed: set[str] = set()
        #: ``lint.cache`` must be written whole (it did not validate, or an entry is gone).
        self._whole = True
        #: Files changed since this instant (less :data:`RACY_NS`) get no stamp.
        self.started = time.time_ns()
        if folder is not None:
            self._load()

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def _load(self) -> None:
        assert self.folder is not None
        entries = self._read(self._file)
        if entries is None:
            return
        self.entries = entries
        self._whole = False
        recent = self._read(self._recent_file)
        if recent:
            self._recent = recent
            entries.update(recent)

    def _read(self, name: str) -> dict[str, dict[str, Any]] | None:
        """The entries of ``name`` when it validates and is for this key."""
        assert self.folder is not None
        body = read_sealed(self.folder, name)
        if body is None:
            return None
        try:
            data = marshal.loads(body)
        except (ValueError, EOFError, TypeError):
            return None
        if not isinstance(data, dict) or data.get("format") != _FORMAT \
                or data.get("python") != _PYTHON or data.get("key") != self.key:
            return None
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else None

    def get(self, path: str, digest: str) -> dict[str, Any] | None:
        """The entry for ``path`` if it was computed for content ``digest``."""
        entry = self.entries.get(path)
        if entry is not None and entry.get("hash") == digest:
            self.hits += 1
            return entry
        self.misses += 1
        return None

    def peek(self, path: str, digest: str) -> dict[str, Any] | None:
        """Like :meth:`get` without counting (graph discovery)."""
        entry = self.entries.get(path)
        return entry if entry is not None and entry.get("hash") == digest else None

    def peek_stamp(self, path: str, stamp: list[int]) -> dict[str, Any] | None:
        """The entry for ``path`` if the file's size, times and inode are those it was
        stored with (so the file need not even be read)."""
        entry = self.entries.get(path)
        return entry if entry is not None and stamp and entry.get("stamp") == stamp else None

    def put(self, path: str, digest: str, stamp: list[int], entry: dict[str, Any]) -> None:
        """Store ``entry`` for content ``digest``; ``stamp`` is ``[size, mtime_ns,
        ctime_ns, inode]`` of the file as it was read."""
        self.entries[path] = {**entry, "hash": digest, "stamp": self._trusted(stamp)}
        self._changed.add(path)
        self._dirty = True

    def restamp(self, path: str, stamp: list[int]) -> None:
        """Record ``stamp`` for the entry of ``path`` (its content hash matched, its size
        or times did not: a touched or checked-out file), so the next lint need not read
        it."""
        entry = self.entries.get(path)
        trusted = self._trusted(stamp)
        if entry is not None and entry.get("stamp") != trusted:
            entry["stamp"] = trusted
            self._changed.add(path)
            self._dirty = True

    def _trusted(self, stamp: list[int]) -> list[int]:
        """``stamp``, or none when the file changed too recently to be vouched for by it."""
        if len(stamp) < 3 or max(stamp[1], stamp[2]) >= self.started - RACY_NS:
            return []
        return stamp

    def prune(self, keep: set[str]) -> None:
        """Forget entries of files that no longer exist."""
        for path in list(self.entries):
            if path not in keep:
                del self.entries[path]
                self._whole = self._dirty = True

    def save(self) -> None:
        """Write atomically; a read-only or missing folder only disables caching."""
        if self.folder is None or not self._dirty:
            return
        recent = {} if self._whole else \
            {**self._recent, **{p: self.entries[p] for p in self._changed}}
        whole = self._whole or len(recent) > RECENT_LIMIT
        body = marshal.dumps({"format": _FORMAT, "python": _PYTHON, "key": self.key,
                              "entries": self.entries if whole else recent})
        if write_sealed(self.folder, self._file if whole else self._recent_file, body):
            self._dirty = False
            if whole:
                with contextlib.suppress(OSError):
                    os.unlink(self.folder / self._recent_file)


def read_sealed(folder: Path, name: str) -> bytes | None:
    """The body of ``folder/name`` as :func:`write_sealed` wrote it, when its MAC checks
    out with the folder's trusted key; None otherwise (nothing read through a symlink)."""
    if folder.is_symlink():
        return None
    secret = _read_secret(folder)
    if secret is None:
        return None
    try:
        raw = _read_regular(folder / name)
    except OSError:
        return None
    mac, sep, body = raw.partition(b"\n")
    if not sep or not compare_digest(mac, _mac(secret, body).encode()):
        return None
    return body


def write_sealed(folder: Path, name: str, body: bytes) -> bool:
    """Write ``body`` atomically to ``folder/name`` (0600) behind its MAC, creating the
    folder, its ``.gitignore`` and its key as needed; False when that could not be done (a
    read-only or symlinked folder only disables caching)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if folder.is_symlink() or not folder.is_dir():
            return False
        ignore = folder / ".gitignore"
        if not os.path.lexists(ignore):
            write_atomic(ignore, "# created by sluice\n*\n", what="lint cache")
        secret = _read_secret(folder)
        if secret is None:
            secret = os.urandom(32)  # what secrets.token_bytes reads
            write_atomic(folder / _KEY, secret.hex(), mode=0o600, what="lint cache key")
        check_target(folder / name, what="lint cache")
        # not synced to the disk: a file a crash leaves torn fails its MAC, read as none
        write_atomic(folder / name, _mac(secret, body).encode() + b"\n" + body,
                     mode=0o600, what="lint cache", durable=False)
    except (OSError, SluiceError):
        return False
    return True


# ------------------------------------------------------------------ compact entries
# A warm lint reads every entry back, so entries are small: a finding is a list in a fixed
# order, without the file's path (unless it names another file); a report leaves out its
# path and the fields at their defaults.

_FINDING = ("rule", "name", "severity", "message", "fix", "line", "revision", "dialect",
            "suppressed")


def pack_findings(findings: list[Finding], path: str) -> list[list[Any]]:
    out = []
    for f in findings:
        row = [f.rule, f.name, f.severity, f.message, f.fix, f.line, f.revision, f.dialect,
               f.suppressed]
        if f.path != path or f.check is not None or f.details:
            row += [f.path, f.check, f.details]
        out.append(row)
    return out


def _plain_fields() -> tuple[str, ...] | None:
    """:class:`Finding`'s fields in ``__init__`` order when its ``__init__`` only stores
    its arguments (no ``__post_init__``, no slots): :func:`unpack_findings` then fills each
    new finding's namespace at once, several times faster than the frozen ``__init__``
    (one ``object.__setattr__`` per field). None: it calls ``Finding(...)``."""
    if hasattr(Finding, "__slots__") or hasattr(Finding, "__post_init__"):
        return None
    names = tuple(f.name for f in fields(Finding) if f.init)
    return names if names == _FINDING_FIELDS and len(fields(Finding)) == len(names) else None


#: The order of the values :func:`unpack_findings` builds.
_FINDING_FIELDS = ("rule", "name", "severity", "message", "fix", "path", "line", "revision",
                   "dialect", "op", "suppressed", "check", "details")
_PLAIN = _plain_fields()


def unpack_findings(rows: list[list[Any]], path: str) -> list[Finding]:
    out = []
    names, new = _PLAIN, Finding.__new__
    for row in rows:
        rule, name, severity, message, fix, line, revision, dialect, suppressed = row[:9]
        if len(row) > 9:
            values = (rule, name, severity, message, fix, row[9], line, revision, dialect,
                      None, suppressed, row[10], row[11])
        else:
            values = (rule, name, severity, message, fix, path, line, revision, dialect,
                      None, suppressed, None, "")
        if names is None:
            out.append(Finding(*values))
        else:
            finding = new(Finding)
            finding.__dict__.update(zip(names, values, strict=True))
            out.append(finding)
    return out


def pack_report(report: dict[str, Any]) -> dict[str, Any]:
    """A report's ``as_dict()`` without its path and the fields at their defaults."""
    return {k: v for k, v in report.items()
            if k != "path" and v not in (None, [], ()) and not (k == "status" and v == "static")}


def unpack_report(data: dict[str, Any], path: str) -> dict[str, Any]:
    """What :func:`pack_report` left out, back (``RevisionReport.from_dict`` reads it)."""
    return {**data, "path": path}


def _mac(secret: bytes, body: bytes) -> str:
    """The 256-bit keyed BLAKE2b of ``body`` under ``secret``, in hex."""
    return blake2b(body, digest_size=32, key=secret).hexdigest()


def _read_regular(path: Path) -> bytes:
    """The bytes of ``path``; OSError when it is a symlink or not a regular file.

    With ``os.read`` for the size ``fstat`` gave and a byte more: one read, where a file
    object asks the size again, its position, and reads once more to see the end."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path}: not a regular file")
        want = st.st_size + 1
        data = os.read(fd, want)
        if len(data) < want:  # the end of the file (what MAC checks is read whole)
            return data
        parts = [data]  # it grew since fstat: read on to its end
        while data:
            data = os.read(fd, 1 << 20)
            parts.append(data)
        return b"".join(parts)
    finally:
        os.close(fd)


def _read_secret(folder: Path) -> bytes | None:
    """The cache's MAC key, when it can be trusted: a regular file, not a symlink, owned
    by this user and not readable or writable by anyone else."""
    path = folder / _KEY
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077 \
                or (hasattr(os, "geteuid") and st.st_uid != os.geteuid()):
            return None
        secret = bytes.fromhex(_read_regular(path).decode("ascii").strip())
    except (OSError, ValueError):
        return None
    # BLAKE2b takes keys of up to 64 bytes
    return secret if 16 <= len(secret) <= 64 else None
