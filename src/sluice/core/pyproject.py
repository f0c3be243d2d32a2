"""A project's TOML files: read one (:func:`read_toml`, errors naming the file, line and
column), and tell whether a ``pyproject.toml`` may hold a tool's table (``[tool.sluice]``,
``[tool.alembic]``) from its bytes, without parsing it (:func:`may_hold_tool`).

Most pyproject.toml files hold no table for Sluice: parsing one only to find that out
(the TOML parser and its import) was a twentieth of a warm ``sluice lint``. The look here
never passes over a table the parser would find; it may let through a file that has
none (a string that looks like a key), which is then parsed and found empty.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left
from functools import lru_cache
from pathlib import Path

from sluice.core.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["file_may_hold_tool", "may_hold_tool", "read_toml"]

#: A table header line's name (``[tool]``, ``[[servers]]``).
_HEADER = re.compile(rb"^[ \t]*\[\[?([^\]\n]*)\]", re.M)
#: A key line that starts at ``tool`` (``tool.sluice.x = 1``, ``tool = { sluice = ... }``).
_TOOL_KEY = re.compile(rb"""["']?tool["']?\s*[.=]""")


@lru_cache(maxsize=4)
def _key(tool: str) -> re.Pattern[bytes]:
    """``tool`` as a TOML key: bare or quoted, after the start of a line, a space, a dot,
    a brace, a bracket or a comma, and before a dot, an ``=`` or a bracket. A package
    name such as ``"alembic-sluice>=1"`` is not one."""
    name = re.escape(tool.encode())
    return re.compile(rb"""(?:^|[\s.{\[,])(["']?""" + name + rb""")["']?\s*[.=\]]""", re.M)


def may_hold_tool(data: bytes, tool: str) -> bool:
    """Whether the TOML ``data`` may define ``tool.<tool>``: ``tool`` is a key in a table
    header, on a key line that starts at ``tool``, or on one under a ``[tool]`` header
    (every way TOML can spell it, quoted or dotted, but an escape sequence in a quoted
    key)."""
    headers: list[re.Match[bytes]] | None = None  # read once, at the first key elsewhere
    for match in _key(tool).finditer(data):
        start = data.rfind(b"\n", 0, match.start(1)) + 1
        line = data[start:match.end()].lstrip()
        if line.startswith(b"[") or _TOOL_KEY.match(line):
            return True
        if headers is None:
            headers = list(_HEADER.finditer(data))
        # the last header above the key's line (each header lies on a line of its own)
        above = bisect_left(headers, start, key=_start) - 1
        if above >= 0 and headers[above][1].translate(None, b" \t\"'") == b"tool":
            return True
    return False


def _start(match: re.Match[bytes]) -> int:
    return match.start()


def file_may_hold_tool(path: Path, tool: str) -> bool:
    """:func:`may_hold_tool` for the file ``path``; True for a file that cannot be read
    (its parse reports why)."""
    try:
        return may_hold_tool(path.read_bytes(), tool)
    except OSError:
        return True


def read_toml(path: Path, raw: bytes | None = None) -> dict[str, Any]:
    """The TOML file ``path`` (its bytes ``raw`` when read already) parsed;
    :class:`ConfigError` naming the file (and the line and column of a syntax error) when
    it cannot be read or parsed."""
    if sys.version_info >= (3, 11):
        import tomllib  # lazy: only a project with a TOML file parses one (start-up of lint)
    else:  # pragma: no cover
        import tomli as tomllib  # lazy: as above
    try:
        text = path.read_bytes() if raw is None else raw
        data: dict[str, Any] = tomllib.loads(text.decode("utf-8"))
        return data
    except UnicodeDecodeError as exc:
        line = text.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte {text[exc.start]:#04x}); "
                          "TOML files are UTF-8: save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        where = f"{path}:{m.group(1)}:{m.group(2)}" if m else str(path)
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        raise ConfigError(f"{where}: invalid TOML: {reason}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
