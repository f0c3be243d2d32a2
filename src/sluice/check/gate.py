"""``sluice check``'s checks (:data:`CHECKS`) and :func:`run_checks`.

The checks are rules of the one registry (:mod:`sluice.rules.check`: name, title, whether
they need a database, documentation, order); :data:`CHECKS` is that registry's view with
the function that runs each. Imported through :mod:`sluice.check` when a name of it is
first used, so that commands reading only ``sluice.sum`` (``sluice lint``) do not load the
database checks.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from sluice.check.checksums import check_checksums
from sluice.check.context import CheckContext, CheckOptions
from sluice.check.drift import check_drift
from sluice.check.graph import check_graph
from sluice.check.model import Check, CheckReport, CheckResult
from sluice.check.roundtrip import check_roundtrip
from sluice.check.upgrade import check_upgrade
from sluice.errors import SluiceError
from sluice.rules.registry import all_rules

#: The function that runs each check rule, by name.
RUNS: dict[str, Callable[[CheckContext], CheckResult]] = {
    "graph": check_graph,
    "upgrade": check_upgrade,
    "drift": check_drift,
    "roundtrip": check_roundtrip,
    "checksums": check_checksums,
}

#: The check rules in the order they run, each with its function.
CHECKS: list[Check] = [Check(r.name, r.title, RUNS[r.name], needs_database=r.needs_database)
                       for r in all_rules("check").values()]


def check_names() -> list[str]:
    return [c.name for c in CHECKS]


def select_checks(names: list[str] | None, *, origin: str = "--only") -> list[Check]:
    """The registered checks named in ``names`` (in registry order); unknown names are an
    error listing the valid ones."""
    if names is None:
        return list(CHECKS)
    known = {c.name: c for c in CHECKS}
    wanted: list[str] = []
    for raw in names:
        for name in (n.strip() for n in raw.split(",")):
            if not name:
                continue
            if name not in known:
                close = difflib.get_close_matches(name, list(known), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise SluiceError(f"{origin}: unknown check '{name}'{hint} "
                                  f"(valid: {', '.join(known)})")
            wanted.append(name)
    if not wanted:
        raise SluiceError(f"{origin}: name at least one check ({', '.join(known)})")
    return [c for c in CHECKS if c.name in wanted]


def run_checks(ini: str | Path = "alembic.ini", options: CheckOptions | None = None
               ) -> CheckReport:
    """Run the selected checks on the project of ``ini`` and return the report.

    Raises :class:`~sluice.errors.SluiceError` (exit 2) for unusable input: a missing
    alembic.ini, a bad config, an unreachable or non-empty database, an env.py that
    connects somewhere else than it was told. A scratch database the server refuses to
    drop at the end does not replace the report: it is in ``report.left_behind`` (and
    makes the exit code 2 when every check passed).
    """
    options = options or CheckOptions()
    with ExitStack() as stack:
        ctx = CheckContext.open(ini, options, stack)
        if options.only is not None:
            selected = select_checks(options.only)
        else:
            selected = select_checks(ctx.config.check.checks,
                                     origin=ctx.config.where("check.checks"))
        results: list[CheckResult] = []
        for check in selected:
            if options.progress is not None:
                options.progress(f"{check.name}: {check.title}...")
            started = time.perf_counter()
            result = check.run(ctx)
            result.duration = time.perf_counter() - started
            ctx.results[check.name] = result
            results.append(result)
        database = ctx.db.describe() if any(c.needs_database for c in selected) else ""
        report = CheckReport(results=results, config_file=str(ctx.ini), database=database)
    # the scratch databases are dropped as the stack closes; one the server refused to
    # drop is told after the report, which it never replaces
    report.left_behind = list(ctx.db.left_behind)
    return report
