"""``sluice check``: the CI gate that proves models, migrations and database agree.

Every check is a :class:`~sluice.check.model.Check` (a name, a title, one function whose
docstring documents it) registered in :data:`CHECKS`, the one place checks are listed;
they run in this order::

    from sluice.check import CheckOptions, run_checks

    report = run_checks("alembic.ini", CheckOptions(only=["graph", "drift"]))
    report.exit_code     # 0 pass, 1 a check failed, 2 a check could not run

Database checks run on a temporary SQLite file unless ``url`` is given; with
``scratch=True`` Sluice creates a uniquely named database on that server and drops it
afterwards, whatever happens.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sluice.check.checksums import LockResult, lock
    from sluice.check.context import CheckContext, CheckOptions
    from sluice.check.gate import CHECKS, check_names, run_checks, select_checks
    from sluice.check.model import Check, CheckReport, CheckResult
    from sluice.core.findings import Finding

#: Where each public name lives; each module is imported on first use (PEP 562), so that
#: importing ``sluice.check.model`` does not import every check and its dependencies.
_HOME = {
    "CHECKS": "gate", "check_names": "gate", "run_checks": "gate", "select_checks": "gate",
    "LockResult": "checksums", "lock": "checksums",
    "CheckContext": "context", "CheckOptions": "context",
    "Check": "model", "CheckReport": "model", "CheckResult": "model", "Finding": "model",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CHECKS",
    "Check",
    "CheckContext",
    "CheckOptions",
    "CheckReport",
    "CheckResult",
    "Finding",
    "LockResult",
    "check_names",
    "lock",
    "run_checks",
    "select_checks",
]
