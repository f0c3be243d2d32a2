"""Per-file analysis cache for ``sluice lint``.

One JSON file in ``[tool.sluice.lint] cache_dir`` (default ``.sluice_cache/``, relative to
the folder of alembic.ini). Each revision file has one entry, valid while the file's
content hash is unchanged; the whole cache is valid while the *key* is unchanged: the
Sluice version, the source of the lint package, the configuration and the options that
change results (dialects, stub modules, ``-x`` arguments). So an incremental run after
editing one revision re-analyses that revision only.

A file whose size and modification time match its entry is not even read (like git's index).
What the cache cannot see: helper modules a revision imports. After changing one, run
``sluice lint --no-cache`` once (or delete the folder).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["LintCache", "content_hash"]

_FORMAT = 1
_FILE = "lint.json"


def content_hash(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


class LintCache:
    """Entries keyed by file path, each carrying the content hash it was computed for."""

    def __init__(self, folder: Path | None, key: str) -> None:
        self.folder = folder
        self.key = key
        self.entries: dict[str, dict[str, Any]] = {}
        self.hits = 0
        self.misses = 0
        self._dirty = False
        if folder is not None:
            self._load()

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def _load(self) -> None:
        assert self.folder is not None
        try:
            with (self.folder / _FILE).open("r", encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return
        if not isinstance(data, dict) or data.get("format") != _FORMAT \
                or data.get("key") != self.key:
            return
        entries = data.get("entries")
        if isinstance(entries, dict):
            self.entries = entries

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
        """The entry for ``path`` if the file's size and mtime are those it was stored with
        (so the file need not even be read)."""
        entry = self.entries.get(path)
        return entry if entry is not None and entry.get("stamp") == stamp else None

    def put(self, path: str, digest: str, stamp: list[int], entry: dict[str, Any]) -> None:
        """Store ``entry`` for content ``digest``; ``stamp`` is ``[size, mtime_ns]``."""
        self.entries[path] = {**entry, "hash": digest, "stamp": stamp}
        self._dirty = True

    def prune(self, keep: set[str]) -> None:
        """Forget entries of files that no longer exist."""
        for path in list(self.entries):
            if path not in keep:
                del self.entries[path]
                self._dirty = True

    def save(self) -> None:
        """Write atomically; a read-only or missing folder only disables caching."""
        if self.folder is None or not self._dirty:
            return
        tmp: str | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# created by sluice\n*\n", encoding="utf-8")
            text = json.dumps({"format": _FORMAT, "key": self.key, "entries": self.entries},
                              separators=(",", ":"))
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".lint-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, self.folder / _FILE)
        except OSError:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            return
        self._dirty = False
