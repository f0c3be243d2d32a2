"""The configuration files ``sluice lint`` parsed, kept beside Sluice's bytecode
(:mod:`sluice.config_kept` serves them while a file's bytes are the same).

Each file is kept by its absolute path with its bytes and its parse as plain data; the
whole is valid for this interpreter's build and for the code that parses (Sluice's
version and the time and size of each module that reads a configuration): after an
upgrade or an edit of that code every file is parsed again. A file that cannot be read
or written keeps nothing.
"""

from __future__ import annotations

import marshal
import os
import sys

from sluice import _version
from sluice.integrations.cli.keptfile import kept_path, read_kept, save_kept

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ConfigCache", "install", "uninstall"]

#: Files kept at most (a save past it keeps only what its run read).
LIMIT = 64

#: The modules whose code decides what a configuration file parses to.
_READERS = ("config.py", "config_checks.py", "config_kept.py", "typed_toml.py",
            os.path.join("core", "pyproject.py"), os.path.join("core", "literals.py"),
            "owned.py")


#: The folder of the ``sluice`` package.
_PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _stamp(package: str) -> str:
    parts = [f"1|{sys.version}|{_version.__version__}"]
    for name in _READERS:
        try:
            st = os.stat(os.path.join(package, name))
        except OSError:
            parts.append(f"{name}:-")
        else:
            parts.append(f"{name}:{st.st_mtime_ns}:{st.st_size}")
    return ";".join(parts)


class ConfigCache:
    """Parsed configurations by file, read from and saved to ``path`` (read at the first
    look, so a project without a configuration file reads nothing)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.stamp = _stamp(_PACKAGE)
        self._kept: dict[Any, bytes] | None = None
        self.fresh: dict[str, tuple[bytes, Any, bool]] = {}

    @property
    def kept(self) -> dict[Any, bytes]:
        if self._kept is None:
            self._kept = read_kept(self.path, self.stamp)
        return self._kept

    def get(self, key: str, raw: bytes) -> tuple[Any, bool] | None:
        """The parse kept for the file ``key`` when its bytes were ``raw``."""
        entry: Any = self.fresh.get(key)
        if entry is None:
            data = self.kept.get(key)
            if data is None:
                return None
            try:
                entry = marshal.loads(data)
            except (EOFError, ValueError, TypeError):
                return None
        if not (type(entry) is tuple and len(entry) == 3 and entry[0] == raw
                and type(entry[2]) is bool):
            return None
        return entry[1], entry[2]

    def put(self, key: str, raw: bytes, encoded: Any, nested: bool) -> None:
        """Keep the parse of the file ``key`` (bytes ``raw``)."""
        self.fresh[key] = (raw, encoded, nested)

    def save(self) -> None:
        """Write what this run parsed beside what was kept (nothing when all was kept)."""
        if not self.fresh or sys.dont_write_bytecode:
            return
        save_kept(self.path, self.stamp, self.kept, dict(self.fresh), LIMIT)


def default_path() -> str:
    """The file beside Sluice's bytecode."""
    return kept_path("config")


def install(path: str | None = None) -> ConfigCache:
    """Serve configuration files parsed before from ``path`` (default:
    :func:`default_path`) until :func:`uninstall`."""
    from sluice import config_kept  # lazy: after the stand-ins of :mod:`.deferred`

    cache = ConfigCache(path if path is not None else default_path())
    config_kept.store = cache
    return cache


def uninstall(cache: ConfigCache) -> None:
    """Stop serving; save what was parsed."""
    from sluice import config_kept  # lazy: imported by install already

    if config_kept.store is cache:
        config_kept.store = None
    cache.save()
