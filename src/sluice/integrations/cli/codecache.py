"""The methods :mod:`dataclasses` writes for each dataclass, compiled once and kept.

A dataclass's ``__init__``, ``__repr__``, ``__eq__`` ... are Python source that
:mod:`dataclasses` (3.11) builds as text and runs through ``exec`` when the class is
defined, so every process that imports Sluice's dataclasses parses and compiles that text
again: a quarter of a warm ``sluice lint``. :func:`install` keeps the compiled code by its
source text in a file beside Sluice's bytecode (``sluice/__pycache__``, written as the
interpreter writes ``.pyc`` files: not when ``sys.dont_write_bytecode`` is set, nor when
the folder is read-only), and hands ``exec`` the kept code for a text it has compiled
before. The code is what ``exec`` would compile from the text (same file name, no
inherited ``__future__`` flags), so the classes are the same; a file of another Python
build, or one that cannot be read, is ignored. Each text's code is kept marshalled on its
own and read back only when that text is executed: the file holds the classes of every
command, a process reads the code of those it builds.
"""

from __future__ import annotations

import builtins
import marshal
import sys
from types import CodeType

from sluice.integrations.cli.keptfile import kept_path, read_kept, save_kept

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["install", "uninstall"]

#: What the kept code is valid for: the file's layout (2: each text's code marshalled on
#: its own), this interpreter's build and optimisation level.
_STAMP = f"2|{sys.version}|{sys.flags.optimize}"
#: Texts kept at most: past it (old texts of classes since changed pile up), a save keeps
#: only what its process used. Sluice's commands together define a few hundred.
LIMIT = 2000


class CodeCache:
    """Compiled code by source text, read from and saved to ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        #: Each text's code, marshalled.
        self.kept: dict[str, bytes] = read_kept(path, _STAMP)
        #: The texts this process executed: their code, marshalled when it was kept.
        self.used: dict[str, Any] = {}
        self.misses = 0

    def exec(self, source: Any, globals: Any = None, locals: Any = None) -> None:
        """``exec`` with the kept code of a source text compiled before."""
        if type(source) is str:
            code = None
            data = self.kept.get(source)
            if data is not None:
                try:
                    code = marshal.loads(data)
                except (EOFError, ValueError, TypeError):
                    pass
                if type(code) is not CodeType:
                    code = data = None
            if code is None:
                # as exec compiles a text called from dataclasses: no __future__ flags
                code = compile(source, "<string>", "exec", dont_inherit=True)
                self.misses += 1
            self.used[source] = data if data is not None else code
            source = code
        builtins.exec(source, globals, locals)

    def save(self) -> None:
        """Keep the code this process compiled (nothing when all was kept already), beside
        what was kept before (another command's classes), up to :data:`LIMIT` texts."""
        if not self.misses or sys.dont_write_bytecode:
            return
        save_kept(self.path, _STAMP, self.kept, self.used, LIMIT)


def default_path() -> str:
    """The file beside Sluice's bytecode."""
    return kept_path("dataclass-code")


def install(path: str | None = None) -> CodeCache:
    """Serve the compiled methods of dataclasses defined from now on from ``path``
    (default: :func:`default_path`)."""
    import dataclasses  # lazy: the caller installs this before anything imports it

    cache = CodeCache(path if path is not None else default_path())
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]  # the module's global, not builtins
    return cache


def uninstall(cache: CodeCache) -> None:
    """Stop serving; save what was compiled."""
    import dataclasses  # lazy: imported by install already

    if getattr(dataclasses, "exec", None) == cache.exec:
        del dataclasses.exec  # type: ignore[attr-defined]
    cache.save()
