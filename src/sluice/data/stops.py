"""Why a step stopped, as the one line of its error: what failed, what the checkpoint
keeps, and what to do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import exc as sa_exc

from sluice.data.model import (
    ConnectionLost,
    DataMigrationError,
    LockRetriesExhausted,
    StepResult,
    first_line,
)
from sluice.data.progress import plural

#: What a stop leaves uncommitted: (after a lost connection, after any other error).
IN_BATCH = ("That batch was not committed", "The failed batch was rolled back")
AT_FINISH = ("Every batch was committed, only the mark that the step is finished was not",
             "Every batch was committed, only the mark that the step is finished was not")
BEFORE_FIRST = ("No batch ran, nothing was changed", "No batch ran, nothing was changed")


def stopped(label: str, exc: BaseException, where: str, result: StepResult,
            last: tuple[Any, ...] | None,
            undone: tuple[str, str] = IN_BATCH) -> DataMigrationError:
    """``exc`` stopped the step ``where`` (``in batch 3``, ``in on_batch``, ...)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return ConnectionLost(
            f"sluice.data: {label} lost its database connection {where}: "
            f"{first_line(exc)}. {undone[0]}; the checkpoint keeps "
            f"{result.rows_scanned:,} rows done in {plural(result.batches, 'batch')} "
            f"(after key {list(last or ())!r}). Rerun the upgrade to resume from there.")
    origin = ""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None and not isinstance(exc, sa_exc.DBAPIError):
        origin = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
    return DataMigrationError(
        f"sluice.data: {label} stopped {where}: {type(exc).__name__}: "
        f"{first_line(exc)}{origin}. {undone[1]}; the checkpoint "
        f"keeps {result.rows_scanned:,} rows done (after key {list(last or ())!r}). Fix "
        "the cause and rerun the upgrade to resume from there."
    )


def retries_exhausted(label: str, exc: BaseException, result: StepResult,
                      last: tuple[Any, ...] | None, lock_timeout_ms: int | None,
                      max_retries: int) -> LockRetriesExhausted:
    return LockRetriesExhausted(
        f"sluice.data: {label}: batch {result.batches + 1} could not get "
        f"its row locks within {lock_timeout_ms or 'the lock'} ms "
        f"after {max_retries} retries ({first_line(exc)}). The "
        f"checkpoint is kept: {result.rows_scanned:,} rows done, resuming "
        f"after key {list(last or ())!r}. Find what holds the locks (on "
        "PostgreSQL: SELECT pid, state, query FROM pg_stat_activity WHERE "
        "wait_event_type = 'Lock' OR state = 'idle in transaction'; on MySQL: "
        "SHOW ENGINE INNODB STATUS), let it finish, then rerun the upgrade. "
        "Raise lock_timeout_ms or max_retries only if the blocker is expected."
    )


def stalled(label: str, table: str, columns: Sequence[str], upper: Sequence[Any],
            result: StepResult, revision: str, step: str) -> DataMigrationError:
    """The next batch would end on the key the last one ended on: the key's values do not
    come back as the database stored them, so the walk would repeat that batch forever."""
    key = ", ".join(f"{c}={v!r}" for c, v in zip(columns, upper, strict=True))
    batch = result.batches + 1
    return DataMigrationError(
        f"sluice.data: {label}: batch {batch} on table '{table}' does not get past key "
        f"{key}, where batch {batch - 1} ended: the key's values come back from the "
        "database changed (a type that rounds or truncates them, text stored in another "
        "format than its type writes), so each batch would start before the row it ended "
        f"on, forever. That batch was rolled back; {plural(result.batches, 'batch')} "
        f"committed ({plural(result.rows_scanned, 'row')} scanned, "
        f"{result.rows_changed:,} changed) and the checkpoint is kept. Give the key a "
        "type that reads the stored values back unchanged (or rewrite them in its "
        "format) and rerun to resume, or walk on another unique key (key=, an integer or "
        "UUID one) from the start: clear_checkpoints(connection, "
        f"revision={revision!r}, step={step!r}) first (the committed batches run again)."
    )


def beyond_bound(label: str, rows: int, upto: Sequence[Any] | None, filtered: bool) -> str:
    """The step is done up to its bound; ``rows`` rows (matching its ``where``:
    ``filtered``) lie beyond it."""
    where = (f"with keys after {list(upto)!r}, the largest when the step started,"
             if upto is not None else "in the table, which was empty when the step started,")
    if filtered:
        where = f"{where[:-1]}, that its where= matches,"
    return (f"sluice.data: {label}: {plural(rows, 'row')} {where} were not visited: rows "
            "inserted since, or moved there by a trigger that changes keys (a step walks "
            "the keys there when it started, so it changes no row twice). The application "
            "must write new rows in the new form itself (deploy it before the step); to "
            "cover them anyway, run the step again under a new step= name.")


def lossy_bound(label: str, table: str, columns: Sequence[str],
                upper: Sequence[Any]) -> DataMigrationError:
    """The largest key, read into Python, no longer finds its row: the step would walk to
    a bound below it and leave it out."""
    key = ", ".join(f"{c}={v!r}" for c, v in zip(columns, upper, strict=True))
    return DataMigrationError(
        f"sluice.data: {label}: the largest key of table '{table}' comes back from the "
        f"database as {key}, which finds no row: the key's values come back changed (a "
        "type that rounds or truncates them, text stored in another format than its type "
        "writes), so batches bounded by them would skip rows or never end. Nothing was "
        "changed. Give the key a type that reads the stored values back unchanged (or "
        "rewrite them in its format), or walk on another unique key (key=, an integer or "
        "UUID one)."
    )


def checkpoint_rewritten(label: str, table: str, exc: BaseException, result: StepResult,
                         last: tuple[Any, ...] | None, undone: str) -> DataMigrationError:
    """The checkpoint table (or the step's row) vanished while the step ran; the step
    wrote it again from what it committed."""
    return DataMigrationError(
        f"sluice.data: {label}: its checkpoint in {table} was dropped or deleted while it "
        f"ran ({first_line(exc)}). {undone}; the step wrote its checkpoint again: "
        f"{result.rows_scanned:,} rows done in {plural(result.batches, 'batch')}, after "
        f"key {list(last or ())!r}, so a rerun resumes there instead of applying the "
        "change a second time to rows already done. Find what dropped it (a cleanup of "
        "tables it does not know, a DELETE) and rerun the upgrade."
    )
