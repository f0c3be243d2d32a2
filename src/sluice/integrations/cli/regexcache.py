"""Regular expressions as compiled by earlier runs, kept.

:func:`re.compile` parses a pattern and assembles the engine's program in Python
(``re._parser``, ``re._compiler``) before the C engine takes it; for the patterns Sluice's
rules and the SQL parser they load compile at import, that is a fifth of a warm ``sluice
lint`` after an edit. :func:`install` keeps each pattern's program (what ``_sre.compile``
is given: flags, code, groups) in a file beside Sluice's bytecode (``sluice/__pycache__``,
written as the interpreter writes ``.pyc`` files: not when ``sys.dont_write_bytecode`` is
set, nor when the folder is read-only), and hands the engine the kept program for a
pattern compiled before. A program is kept only when the pattern it builds is equal to the
one :mod:`re` compiled (a pattern's equality compares its text, flags and program), so a
kept pattern is the one :mod:`re` would build; a file of another Python build, or one that
cannot be read, is ignored. Each program is kept marshalled on its own and read back only
when its pattern is compiled.
"""

from __future__ import annotations

import marshal
import re
import sys
from collections.abc import Callable

from sluice.integrations.cli.keptfile import kept_path, read_kept, save_kept

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["RegexCache", "install", "uninstall"]

#: What the kept programs are valid for: the file's layout and this interpreter's build.
_STAMP = f"1|{sys.version}"
#: Patterns kept at most: past it (patterns since changed pile up), a save keeps only
#: what its process used.
LIMIT = 4000

#: The pure-Python halves of :mod:`re` (loaded with it) and its C engine; None on a Python
#: whose :mod:`re` is laid out otherwise (3.10's ``sre_compile``), where nothing is kept.
_compiler: Any = sys.modules.get("re._compiler")
_parser: Any = sys.modules.get("re._parser")
_sre: Any = sys.modules.get("_sre")
if _parser is None or _sre is None:
    _compiler = None


def _program(pattern: str | bytes, flags: int) -> tuple[Any, ...]:
    """What ``re._compiler.compile`` gives ``_sre.compile`` after the pattern itself."""
    parsed = _parser.parse(pattern, flags)
    # plain ints: the opcodes are named int constants, which marshal does not write
    code = [int(op) for op in _compiler._code(parsed, flags)]
    groupindex = parsed.state.groupdict
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    return (int(flags | parsed.state.flags), code, int(parsed.state.groups - 1),
            dict(groupindex), tuple(indexgroup))


class RegexCache:
    """Compiled programs by pattern and flags, read from and saved to ``path``."""

    def __init__(self, path: str, original: Callable[..., Any] | None = None) -> None:
        self.path = path
        self.original = original if original is not None else _compiler.compile
        #: Each pattern's program, marshalled, by (pattern, flags).
        self.kept: dict[tuple[str | bytes, int], bytes] = read_kept(path, _STAMP)
        #: The programs this process used: marshalled when they were kept.
        self.used: dict[tuple[str | bytes, int], Any] = {}
        self.misses = 0

    def compile(self, pattern: Any, flags: int = 0) -> Any:
        """``re._compiler.compile``, with the kept program of a pattern compiled before."""
        if type(pattern) not in (str, bytes) or flags & re.DEBUG:
            return self.original(pattern, flags)
        key = (pattern, int(flags))
        data = self.kept.get(key)
        if data is not None:
            try:
                compiled = _sre.compile(pattern, *marshal.loads(data))
            except Exception:  # noqa: BLE001 - a damaged entry: compiled again below
                compiled = None
            if compiled is not None:
                self.used[key] = data
                return compiled
        compiled = self.original(pattern, flags)
        try:
            program = _program(pattern, flags)
            same = _sre.compile(pattern, *program) == compiled
        except Exception:  # noqa: BLE001 - this Python assembles it otherwise: not kept
            same = False
        if same:
            self.used[key] = program
            self.misses += 1
        return compiled

    def save(self) -> None:
        """Keep the programs this process compiled (nothing when all were kept already),
        beside those kept before, up to :data:`LIMIT` patterns."""
        if not self.misses or sys.dont_write_bytecode:
            return
        save_kept(self.path, _STAMP, self.kept, self.used, LIMIT)


def default_path() -> str:
    """The file beside Sluice's bytecode."""
    return kept_path("regex-code")


def install(path: str | None = None) -> RegexCache | None:
    """Serve the programs of patterns compiled from now on from ``path`` (default:
    :func:`default_path`); None where this Python's :mod:`re` is not the one this knows."""
    if _compiler is None or not callable(getattr(_compiler, "compile", None)):
        return None
    cache = RegexCache(path if path is not None else default_path(), _compiler.compile)
    _compiler.compile = cache.compile
    return cache


def uninstall(cache: RegexCache | None) -> None:
    """Stop serving; save what was compiled."""
    if cache is None:
        return
    if getattr(_compiler, "compile", None) == cache.compile:
        _compiler.compile = cache.original
    cache.save()
