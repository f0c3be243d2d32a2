"""Durations as users write them in config and revision scripts: ``"500ms"``, ``"5s"``,
``"15min"``, ``"2h"``, ``"1d"`` (PostgreSQL's units). A bare integer means milliseconds,
like PostgreSQL's ``lock_timeout``; ``0`` or ``"0"`` turns a timeout off."""

from __future__ import annotations

import re

from sluice.core.errors import ConfigError

_UNITS_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)?\s*$")


def parse_duration(value: str | int | float | None, *, key: str) -> int | None:
    """Milliseconds for ``value`` (None stays None); a bad value is a :class:`ConfigError`
    naming ``key``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{key}: expected a duration like \"5s\" or \"500ms\", got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ConfigError(f"{key}: a duration cannot be negative, got {value!r}")
        return int(value)
    m = _RE.match(str(value))
    if not m:
        raise ConfigError(
            f"{key}: expected a duration like \"500ms\", \"5s\", \"15min\", \"2h\" or \"1d\", "
            f"got {value!r}"
        )
    number, unit = float(m.group(1)), m.group(2) or "ms"
    return int(round(number * _UNITS_MS[unit]))


def format_duration(ms: int | float | None) -> str:
    """Short human form: ``850ms``, ``4.2s``, ``3min 5s``."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms:.0f}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}min {sec}s" if sec else f"{minutes}min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}min" if minutes else f"{hours}h"
