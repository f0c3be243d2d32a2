"""The SQL summaries of :mod:`sluice.core.memo`, kept in ``sql.cache`` beside
``lint.cache`` (same folder, same MAC key: see :mod:`sluice.lint.cache`).

A warm lint after an edit to one call of a revision that holds SQL sqlglot must parse
(a data migration's ``INSERT ... SELECT``) re-reads that SQL; its text did not change, so
its summary comes from here and sqlglot is not imported. Keyed on the statement's text
and the dialect; the file as a whole on the code of Sluice's lint, rules and core (with
its version) and on the installed sqlglot. ``--no-cache`` neither reads nor writes it.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import sys
from functools import cache
from pathlib import Path

from sluice.core import memo as _treememo
from sluice.lint.cache import read_sealed, write_sealed
from sluice.lint.context import _rules_fingerprint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["keep", "save"]

_FILE = "sql.cache"
_FORMAT = 1
_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
#: Summaries kept at most (those of this run first, then the newest others).
LIMIT = 4096


@cache
def _fingerprint() -> str:
    """Sluice's lint, rules and core, and the installed sqlglot (found, not imported);
    computed once per process (a load and a save share it)."""
    parts = [_rules_fingerprint(), _PYTHON]
    try:
        spec = importlib.util.find_spec("sqlglot")
    except (ImportError, ValueError):
        spec = None
    origin = spec.origin if spec is not None else None
    if origin:
        try:
            st = os.stat(origin)
        except OSError:
            pass
        else:
            parts.append(f"{origin}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def keep(folder: Path | None) -> None:
    """Hand the rules the summaries kept in ``folder`` (read when first needed); None:
    keep none."""
    if folder is None:
        _treememo.install(None)
        return

    def load() -> _treememo.Entries:
        body = read_sealed(folder, _FILE)
        if body is None:
            return {}
        try:
            data: Any = marshal.loads(body)
        except (ValueError, EOFError, TypeError):
            return {}
        if not isinstance(data, dict) or data.get("format") != _FORMAT \
                or data.get("code") != _fingerprint() \
                or not isinstance(data.get("entries"), dict):
            return {}
        return dict(data["entries"])

    _treememo.install(load)


def save(folder: Path | None) -> None:
    """Write the summaries when this run added any; then keep none (the next lint in this
    process opens its own)."""
    entries = _treememo.loaded()
    added = set(_treememo.added)
    _treememo.install(None)
    if folder is None or entries is None or not added:
        return
    if len(entries) > LIMIT:
        keys = [k for k in entries if k not in added][-(LIMIT - len(added)):] \
            if len(added) < LIMIT else []
        entries = {k: entries[k] for k in [*keys, *list(added)[:LIMIT]]}
    body = marshal.dumps({"format": _FORMAT, "code": _fingerprint(), "entries": entries})
    write_sealed(folder, _FILE, body)
