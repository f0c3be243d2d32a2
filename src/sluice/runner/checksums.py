"""The SHA-256 of a revision file that the audit rows record and ``sluice history``
compares: its bytes with CRLF/CR line endings read as LF, as sluice.sum hashes them."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sluice.core.sumfile import content_digest

__all__ = ["checksum_file"]


def checksum_file(path: str | Path | None, *, raw: bool = False) -> str | None:
    """SHA-256 of a revision file's bytes with CRLF/CR line endings read as LF, as
    sluice.sum hashes them (:func:`sluice.core.sumfile.content_digest`): a checkout with other
    line endings is not an edit. ``raw``: of the bytes as they are (what rows written
    before line endings were normalised hold). None when it cannot be read."""
    if path is None:
        return None
    # the file descriptor's own reads rather than open() (a buffered file object) or
    # Path.read_bytes(): a third of the cost, for hundreds of files
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    chunks: list[bytes] = []
    try:
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return hashlib.sha256(data).hexdigest() if raw else content_digest(data)
