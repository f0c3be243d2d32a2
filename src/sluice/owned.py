"""The tables Sluice itself creates in a project's database, named in one place.

The audit table (``sluice history``), the lock-holder table of the migration lock, and the
checkpoint table of ``sluice.data`` (``[tool.sluice.data] progress_table``) are Sluice's
bookkeeping, not the project's schema: autogenerate never proposes to drop them, and
``sluice check`` (drift, round trip) never reports them as differences.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sluice.config import SluiceConfig

#: The audit table: one row per revision per run (``sluice history``).
HISTORY_TABLE = "sluice_history"
#: Who holds the migration lock right now.
LOCK_HOLDER_TABLE = "sluice_lock_holder"
#: Default name of the ``sluice.data`` checkpoint table.
DATA_PROGRESS_TABLE = "sluice_data_progress"


def sluice_tables(config: SluiceConfig | None = None) -> frozenset[str]:
    """Names of every table Sluice creates, with the checkpoint table as ``config`` names
    it (the default name too, so a renamed table's old copy is not schema either)."""
    names = {HISTORY_TABLE, LOCK_HOLDER_TABLE, DATA_PROGRESS_TABLE}
    if config is not None:
        names.add(config.data.progress_table)
    return frozenset(names)
