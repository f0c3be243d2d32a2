"""What ``sluice trace`` runs on and what it runs: the server of ``--url`` (with a driver
picked when it names none) and the revisions named on the command line, in upgrade order."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence
from typing import Any

from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import URL, make_url

from sluice.core.urls import database_url
from sluice.errors import SluiceError, mask_url

#: Backends ``sluice trace`` can run on, and the drivers tried for a bare URL.
_DRIVERS: dict[str, tuple[tuple[str, str], ...]] = {
    "postgresql": (("psycopg2", "psycopg2"), ("psycopg", "psycopg")),
    "mysql": (("MySQLdb", "mysqldb"), ("pymysql", "pymysql")),
    "mariadb": (("mariadb", "mariadbconnector"), ("pymysql", "pymysql")),
}


def server_url(url: str | URL) -> URL:
    """Validate ``--url`` and pick an installed driver when it names none."""
    u = make_url(database_url(url if isinstance(url, str)
                              else url.render_as_string(hide_password=False), origin="--url"))
    backend = u.get_backend_name()
    if backend not in _DRIVERS:
        raise SluiceError(
            f"{mask_url(u)}: sluice trace measures locks on PostgreSQL or MySQL/MariaDB, "
            f"not {backend}; pass --url postgresql://... or mysql+pymysql://..."
        )
    if "+" not in u.drivername:
        for module, driver in _DRIVERS[backend]:
            if importlib.util.find_spec(module) is not None:
                u = u.set(drivername=f"{backend}+{driver}")
                break
        else:
            wanted = " or ".join(m for m, _ in _DRIVERS[backend])
            raise SluiceError(f"{mask_url(u)}: no driver installed for {backend} "
                              f"(pip install {wanted})")
    return u


def _one(script: ScriptDirectory, spec: str) -> str | None:
    """The single revision id ``spec`` names, or None (several, none, or not a revision)."""
    try:
        revs = [r for r in script.get_revisions(spec) if r is not None]
    except Exception:
        return None
    return revs[0].revision if len(revs) == 1 else None


def _ancestors(script: ScriptDirectory, rev: str) -> set[str]:
    return {s.revision for s in script.iterate_revisions(rev, "base", implicit_base=True)
            if s is not None}


def _range_problem(script: ScriptDirectory, spec: str, lower: str, upper: str) -> str | None:
    """Why ``lower:upper`` selects nothing, when both sides name one revision each and
    ``lower`` is not at or below ``upper`` in upgrade order; None otherwise."""
    lo, hi = _one(script, lower), _one(script, upper)
    if lo is None or hi is None or lo in _ancestors(script, hi):
        return None
    if hi in _ancestors(script, lo):
        return (f"revision range {spec!r} is reversed: {lo} comes after {hi} in Alembic's "
                f"upgrade order, so the range is empty; write {hi}:{lo} (LOWER:UPPER, "
                "oldest first)")
    return (f"revision range {spec!r} is empty: {lo} is not an ancestor of {hi} (they are "
            "on different branches); name the revisions instead")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else f"{type(exc).__name__} from Alembic"


def select_revisions(script: ScriptDirectory, specs: Sequence[str]) -> list[Script]:
    """Revisions named by ``specs`` (ids, prefixes, ``head``, ``heads``, ranges
    ``LOWER:UPPER`` inclusive, either side may be empty), in upgrade order. No specs:
    every revision. A range whose lower end comes after its upper end is an error that
    names both, never an empty selection."""
    order = [s for s in reversed(list(script.walk_revisions())) if s is not None]
    if not specs:
        return order
    wanted: set[str] = set()
    for spec in specs:
        try:
            if ":" in spec:
                lower, _, upper = spec.partition(":")
                problem = _range_problem(script, spec, lower, upper) if lower and upper \
                    else None
                if problem:
                    raise SluiceError(problem)
                revs: Iterable[Any] = script.iterate_revisions(
                    upper or "heads", lower or "base", inclusive=True, implicit_base=True)
            else:
                revs = script.get_revisions(spec)
            found = {r.revision for r in revs if r is not None}
        except SluiceError:
            raise
        except Exception as exc:
            raise SluiceError(f"revision {spec!r}: {_first_line(exc)}") from None
        if not found:
            raise SluiceError(f"revision {spec!r}: no such revision")
        wanted |= found
    return [s for s in order if s.revision in wanted]
