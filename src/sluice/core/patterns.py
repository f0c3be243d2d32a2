"""Glob patterns over table and schema names (``exclude_tables``, ``protected_tables``)."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase


def matches_any(name: str | None, patterns: Iterable[str]) -> str | None:
    """The first glob pattern ``name`` matches (case-insensitive), or None."""
    if not name:
        return None
    low = name.lower()
    for pattern in patterns:
        if fnmatchcase(low, pattern.lower()):
            return pattern
    return None
