"""Files env.py and revision modules open at module level and never close.

Alembic loads env.py and the revision files itself (not into ``sys.modules``), so a file
such a module opens for writing and leaves open is closed only when the collector frees
the module. CPython does not order that: when the file's raw stream is finalised before
its buffer, what was buffered is lost (bpo-17852), and which comes first follows the
order the objects were made in, which any change of import order can move. Plain
``alembic upgrade`` is as exposed (with the raw file made first, it loses the line).

The runner makes it deterministic: after each run of env.py (the probe, the migration)
and after the revisions ran, the writable files left open in those modules' namespaces
are flushed, so nothing they wrote depends on the collector. They stay open (their
module may still write to them), and a flush that fails is left for their own close to
report, as it would be without Sluice.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any


def flush_left_open(namespaces: Iterable[Mapping[str, Any]]) -> int:
    """Flush every open, writable file object bound to a name in ``namespaces``; returns
    how many were flushed."""
    flushed = 0
    seen: set[int] = set()
    for namespace in namespaces:
        if id(namespace) in seen:
            continue
        seen.add(id(namespace))
        for value in list(namespace.values()):
            if not isinstance(value, io.IOBase):
                continue
            try:
                if value.closed or not value.writable():
                    continue
                value.flush()
                flushed += 1
            except (OSError, ValueError):
                continue
    return flushed


def module_namespaces(scripts: Iterable[Any]) -> list[Mapping[str, Any]]:
    """The namespaces of the revision modules of ``scripts`` (Alembic ``Script`` objects)
    that are loaded."""
    out: list[Mapping[str, Any]] = []
    for sc in scripts:
        module = getattr(sc, "module", None)
        namespace = getattr(module, "__dict__", None)
        if isinstance(namespace, dict):
            out.append(namespace)
    return out
