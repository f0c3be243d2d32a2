"""Sluice's own modules, and the SQL parser's, as ``sluice lint`` imports them, kept in
one file.

A warm lint imports some seventy of Sluice's modules, a cold one sqlglot's forty besides;
for each, the import system looks for the file along its package's path, checks and
reads its ``.pyc`` and unmarshals it: a twentieth of a warm run. :func:`install` serves
the submodules of those packages a run imported before from one file beside Sluice's
bytecode (``sluice/__pycache__``, written as the interpreter writes ``.pyc`` files: not
when ``sys.dont_write_bytecode`` is set, nor when the folder is read-only), read in one
piece: the modules of one run share their names and constants there, which makes it
quicker to read than the files one by one. The file holds the modules of the last run
that imported one it did not hold, or that used less than :data:`USED` of it (a cold
lint imports more than a warm one: the warm runs after it write their own).

An entry is the code Python compiled from the module's source (read from its own ``.pyc``
when the entry was made), with the source file's absolute path, size and modification
time in nanoseconds: it is served only while the file has both and lies in the folder the
import system would search (its parent package's ``__path__``), so an edited module, or
another installation of the package, is imported as usual and its entry made again. A
module served from the file is the one the import system would give: the same spec (an
ordinary :class:`~importlib.machinery.SourceFileLoader` for its file, whose source,
bytecode path and data it reads as usual), ``__file__``, ``__cached__`` and ``__path__``.
A file of another Python build or optimisation level, or one that cannot be read, is
ignored.
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import ModuleSpec, SourceFileLoader

from sluice.integrations.cli.keptfile import kept_path, read_kept, write_kept

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import CodeType, ModuleType
    from typing import Any

__all__ = ["KeptModules", "install", "uninstall"]

#: What the kept code is valid for: the file's layout, this interpreter's build and its
#: optimisation level (``-O`` compiles other code).
_STAMP = f"1|{sys.version}|{sys.flags.optimize}"
#: The share of the kept modules a run must import for the file to stay as it is.
USED = 0.8


class KeptLoader(SourceFileLoader):
    """The loader of a module's source file, handing out the kept code once."""

    def __init__(self, fullname: str, path: str, code: CodeType) -> None:
        super().__init__(fullname, path)
        self._kept: CodeType | None = code

    def get_code(self, fullname: str) -> CodeType:
        code, self._kept = self._kept, None
        if code is not None and fullname == self.name:
            return code
        return super().get_code(fullname)  # type: ignore[return-value]  # never None here


class KeptModules:
    """A finder (first on ``sys.meta_path``) for the submodules of ``packages``, from the
    code kept in ``path``."""

    def __init__(self, path: str, packages: Sequence[str]) -> None:
        self.path = path
        self.prefixes = tuple(f"{p}." for p in packages)
        #: Each module's entry: (its file, is a package, the file's size and modification
        #: time in ns, code).
        self.kept: dict[str, tuple[Any, ...]] = read_kept(path, _STAMP)
        self.served: set[str] = set()
        #: The modules imported before: never served, so not kept.
        self.before = set(sys.modules)

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        entry = self.kept.get(name)
        if entry is None or path is None:
            return None
        try:
            origin, package, size, mtime, code = entry
            # where the import system looks for it: its parent package's path
            folder = os.path.dirname(os.path.dirname(origin) if package else origin)
            if folder not in path:
                return None
            st = os.stat(origin)
        except (OSError, ValueError, TypeError):
            return None
        if (st.st_size, st.st_mtime_ns) != (size, mtime) or type(code).__name__ != "code":
            return None
        spec = ModuleSpec(name, KeptLoader(name, origin, code), origin=origin,
                          is_package=package)
        if package:
            spec.submodule_search_locations = [os.path.dirname(origin)]
        spec.has_location = True
        self.served.add(name)
        return spec

    def save(self) -> None:
        """Keep the modules of the packages this run imported, when one was not served or
        the run used less than :data:`USED` of the file."""
        if sys.dont_write_bytecode:
            return
        imported = [n for n in sys.modules
                    if n.startswith(self.prefixes) and n not in self.before]
        if set(imported) <= self.served and len(self.served) >= USED * len(self.kept):
            return
        keep: dict[str, tuple[Any, ...]] = {}
        for name in imported:
            entry = self.kept[name] if name in self.served else \
                self._entry(name, sys.modules[name])
            if entry is not None:
                keep[name] = entry
        write_kept(self.path, _STAMP, keep)

    def _entry(self, name: str, module: ModuleType) -> tuple[Any, ...] | None:
        """The entry of an imported module (None for one that is not an ordinary source
        file at an absolute path)."""
        spec = getattr(module, "__spec__", None)
        origin = getattr(spec, "origin", None)
        if spec is None or not isinstance(origin, str) or not origin.endswith(".py") \
                or not os.path.isabs(origin) \
                or type(spec.loader) is not SourceFileLoader:
            return None
        try:
            st = os.stat(origin)
            code = spec.loader.get_code(name)  # its .pyc, written by this import
        except (OSError, ImportError, SyntaxError):
            return None
        if code is None:
            return None
        return (origin, spec.submodule_search_locations is not None, st.st_size,
                st.st_mtime_ns, code)


def default_path() -> str:
    """The file beside Sluice's bytecode."""
    return kept_path("modules")


def install(path: str | None = None,
            packages: Sequence[str] = ("sluice", "sqlglot")) -> KeptModules:
    """Serve the submodules of ``packages`` imported from now on from ``path`` (default:
    :func:`default_path`)."""
    finder = KeptModules(path if path is not None else default_path(), packages)
    sys.meta_path.insert(0, finder)
    return finder


def uninstall(finder: KeptModules) -> None:
    """Stop serving; save the modules imported that were not kept."""
    if finder in sys.meta_path:
        sys.meta_path.remove(finder)
    finder.save()
