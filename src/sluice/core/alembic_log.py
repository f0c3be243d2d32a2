"""Alembic's own log lines under Sluice's commands.

A project made by ``alembic init`` or ``sluice init`` calls ``fileConfig`` in env.py and
logs the ``alembic`` logger at INFO: plain ``alembic upgrade`` shows ``Context impl ...``
once and ``Running upgrade A -> B`` for each revision. Sluice runs env.py for itself too
(the probe that reads the current heads, the plan's and the failure report's offline
rendering, ``sluice trace`` on its scratch database); those runs stay quiet
(:func:`quiet_alembic`), so a ``sluice upgrade`` shows Alembic's lines as plain
``alembic upgrade`` does. Where Alembic already writes each
revision's line to the terminal, the command line leaves out its own progress line; the
report at the end has the durations.
"""

from __future__ import annotations

import logging
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
