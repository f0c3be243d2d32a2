"""``sluice trace``: run revisions on a scratch database and report the locks they really take.

Static rules guess which locks a statement takes; this measures them. Each traced
revision runs, statement by statement, on a scratch database created on the server of
``--url`` (PostgreSQL, or MySQL/MariaDB where ``performance_schema`` exposes metadata
locks); after each statement the backend's own lock table is read. The report says which
relation was locked in which mode, whether the mode blocks reads or writes, whether the
table was rewritten, how long the statement ran and how long the lock was held until
commit; then it compares the measurements with lint's findings on the same lines.

::

    from sluice.trace import trace

    result = trace("alembic.ini", "postgresql://postgres@localhost/postgres",
                   revisions=["head"], seed_rows=10_000)
    for f in result.findings:
        print(f.path, f.line, f.rule, f.message)

Modules: :mod:`~sluice.trace.runner` (scratch database, Alembic runs, cursor events),
:mod:`~sluice.trace.pg` and :mod:`~sluice.trace.mysql` (reading locks),
:mod:`~sluice.trace.seed` (``--seed-rows``), :mod:`~sluice.trace.findings` (TR rules and
their fixes), :mod:`~sluice.trace.crosscheck` (lint comparison),
:mod:`~sluice.trace.render` (text, JSON, SARIF, GitHub).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sluice.trace.findings import (
    crosscheck_findings,
    display_path,
    fails,
    trace_findings,
    untraced,
)
from sluice.trace.model import CrossCheck, Lock, RevisionTrace, Statement, TraceResult
from sluice.trace.runner import Log, trace_project

__all__ = [
    "CrossCheck",
    "FAIL_ON",
    "Lock",
    "RevisionTrace",
    "Statement",
    "TraceResult",
    "fails",
    "trace",
    "untraced",
]

#: ``--fail-on`` values: ``writes`` (any lock blocking writes or reads of an existing
#: table), ``reads`` (only locks that block reads too), ``never``.
FAIL_ON: tuple[str, ...] = ("writes", "reads", "never")


def trace(
    ini: str | Path,
    url: str,
    revisions: Sequence[str] = (),
    *,
    x_args: Sequence[str] = (),
    env: str | None = None,
    seed_rows: int = 0,
    crosscheck: bool = True,
    log: Log | None = None,
    ini_section: str = "alembic",
) -> TraceResult:
    """Trace ``revisions`` (default: all) of the project at ``ini`` on a scratch database
    on the server of ``url``; fills ``findings`` and, unless disabled, ``crosscheck``.

    Raises :class:`~sluice.errors.SluiceError` for unusable input (not PostgreSQL or
    MySQL/MariaDB, unknown revision, missing alembic.ini) and
    :class:`~sluice.errors.DatabaseUnavailable` when the server cannot be reached. A
    revision that fails on the scratch database is reported in ``result.failure``.
    """
    x = [a for a in x_args if not (env and a.startswith("env="))]
    if env:
        x.append(f"env={env}")
    result = trace_project(ini, url, revisions, x_args=x, seed_rows=seed_rows, log=log,
                           ini_section=ini_section)
    display = {rt.path: display_path(rt.path) for rt in result.revisions}
    result.findings = trace_findings(result, display)
    if crosscheck:
        from sluice.trace.crosscheck import (
            crosscheck as run_crosscheck,  # lazy: lint, for --crosscheck
        )

        result.crosscheck = run_crosscheck(result, ini, x_args=x, ini_section=ini_section)
        result.findings += crosscheck_findings(result.crosscheck)
    return result
