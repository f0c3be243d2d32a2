"""The file a start-up cache (:mod:`.codecache`, :mod:`.regexcache`) keeps its entries in:
a marshalled ``(stamp, {key: marshalled entry})``, each entry read back only when used."""

from __future__ import annotations

import marshal
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["kept_path", "read_kept", "save_kept", "write_kept"]


def kept_path(kind: str) -> str:
    """The file of ``kind`` beside Sluice's bytecode (``sluice/__pycache__``), for this
    interpreter's cache tag."""
    package = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    tag = sys.implementation.cache_tag or "python"
    return os.path.join(package, "__pycache__", f"{kind}.{tag}.marshal")


def read_kept(path: str, stamp: str) -> dict[Any, Any]:
    """The entries kept in ``path`` under ``stamp``; none when the file is missing,
    unreadable or of another stamp (another Python build, another layout)."""
    try:
        with open(path, "rb") as fh:
            found, kept = marshal.loads(fh.read())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return kept if found == stamp and isinstance(kept, dict) else {}


def save_kept(path: str, stamp: str, kept: dict[Any, bytes], used: dict[Any, Any],
              limit: int) -> None:
    """Write ``used`` (entries marshalled or to marshal; one marshal cannot write is left
    out) beside ``kept``, or alone past ``limit`` entries (old ones pile up); written to a
    temporary file and renamed, so a reader never sees half a file. A folder that cannot
    be written keeps nothing."""
    fresh: dict[Any, bytes] = {}
    for key, value in used.items():
        try:
            fresh[key] = value if type(value) is bytes else marshal.dumps(value)
        except ValueError:
            continue  # not marshallable on this build: made again next time
    keep = {**kept, **fresh}
    if len(keep) > limit:
        keep = fresh
    write_kept(path, stamp, keep)


def write_kept(path: str, stamp: str, entries: dict[Any, Any]) -> None:
    """Write ``(stamp, entries)`` marshalled to a temporary file and rename it to
    ``path``, so a reader never sees half a file; a folder that cannot be written (or an
    entry marshal cannot write) keeps nothing."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(marshal.dumps((stamp, entries)))
        os.replace(tmp, path)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
