"""The data step's vocabulary: argument types, results, and the errors it raises."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.sql.expression import TableClause

from sluice.errors import SluiceError

TableArg = str | sa.Table | TableClause
KeyArg = str | Sequence[str] | None
BackfillFn = Callable[[list[dict[str, Any]]], Sequence[Mapping[str, Any] | None]]
Kind = Literal["update", "delete", "backfill"]


class DataMigrationError(SluiceError):
    """A data step refused its input or stopped; the message says where the checkpoint is."""

    #: Nothing in the revision needs fixing: once the cause is gone, rerunning the upgrade
    #: resumes the step from its checkpoint.
    resumable = False


class LockRetriesExhausted(DataMigrationError):
    """A batch could not get its locks within ``lock_timeout_ms``, ``max_retries`` times."""

    resumable = True


class ConnectionLost(DataMigrationError):
    """The step's database connection was lost (the server ended the session, a network
    failure); the batch in flight was not committed, the checkpoint is kept."""

    resumable = True


@dataclass(frozen=True)
class BatchInfo:
    """One committed batch, as passed to ``on_batch``."""

    number: int
    rows_scanned: int
    rows_changed: int
    ms: float
    batch_size: int
    last_key: tuple[Any, ...]


@dataclass
class StepResult:
    """What a step did. Row and batch counts include earlier (interrupted) runs."""

    revision: str
    step: str
    rows_scanned: int = 0
    rows_changed: int = 0
    batches: int = 0
    seconds: float = 0.0
    slowest_batch_ms: float = 0.0
    slowest_batch: int = 0
    resumed: bool = False
    skipped: bool = False
    offline: bool = False


def fail(message: str) -> DataMigrationError:
    return DataMigrationError(f"sluice.data: {message}")


def first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def table_name(table: TableArg) -> str:
    """The name of the table a step was given (a name, ``sa.Table`` or ``sa.table()``)."""
    return table if isinstance(table, str) else table.name
