"""Alembic's own log lines under Sluice's commands.

A project made by ``alembic init`` or ``sluice init`` calls ``fileConfig`` in env.py and
logs the ``alembic`` logger at INFO: plain ``alembic upgrade`` shows ``Context impl ...``
once and ``Running upgrade A -> B`` for each revision. Sluice runs env.py for itself too
(the probe that reads the current heads, the plan's and the failure report's offline
rendering); those runs stay quiet (:func:`quiet_alembic`), so a ``sluice upgrade`` shows
Alembic's lines as plain ``alembic upgrade`` does. Where Alembic already writes each
revision's line to this process's standard error, the command line leaves out its own
progress line (:func:`alembic_reports_steps`); the report at the end has the durations.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: The logger of Alembic's ``Context impl``, ``Running upgrade`` and ``Generating static
#: SQL`` lines.
MIGRATION_LOGGER = "alembic.runtime.migration"


class _DropInfo(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO


@contextmanager
def quiet_alembic() -> Iterator[None]:
    """Alembic's INFO lines dropped (warnings kept) while Sluice runs env.py or reads the
    database for itself; the run that follows shows them."""
    logger = logging.getLogger(MIGRATION_LOGGER)
    drop = _DropInfo()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def alembic_reports_steps() -> bool:
    """Alembic writes a ``Running upgrade ...`` line per revision to this process's
    standard error: its migration logger is enabled for INFO and a handler on the way up
    writes to ``sys.stderr``."""
    logger: logging.Logger | None = logging.getLogger(MIGRATION_LOGGER)
    assert logger is not None
    if not logger.isEnabledFor(logging.INFO):
        return False
    streams = (sys.stderr, sys.__stderr__)
    while logger is not None:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.level <= logging.INFO \
                    and any(handler.stream is s for s in streams if s is not None):
                return True
        if not logger.propagate:
            break
        logger = logger.parent
    return False
