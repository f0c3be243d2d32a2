"""The public data steps: :func:`batched_update`, :func:`batched_delete`, :func:`backfill`,
and :func:`clear_checkpoints`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sluice.config import DataConfig, SluiceConfig
from sluice.data.checkpoints import Store
from sluice.data.dialects import own_transaction
from sluice.data.model import BackfillFn, BatchInfo, KeyArg, StepResult, TableArg
from sluice.data.progress import Progress
from sluice.data.step import Step
from sluice.owned import DATA_PROGRESS_TABLE


def batched_update(
    table: TableArg,
    values: Mapping[Any, Any],
    where: Any = None,
    *,
    key: KeyArg = None,
    step: str | None = None,
    schema: str | None = None,
    batch_size: int | None = None,
    target_batch_ms: int | None = None,
    pause_ms: int | None = None,
    lock_timeout_ms: int | None = None,
    max_retries: int | None = None,
    connection: Connection | None = None,
    revision: str | None = None,
    config: SluiceConfig | DataConfig | None = None,
    on_batch: Callable[[BatchInfo], None] | None = None,
    progress: Progress | None = None,
) -> StepResult:
    """``UPDATE table SET values WHERE where``, one short transaction per batch of keys.

    ``table``: a name (reflected), a ``sa.Table`` or a ``sa.table()``. ``values``: column
    name to a Python value (sent as a bind parameter) or a SQLAlchemy expression such as
    ``users.c.n + 1``. ``where``: a SQLAlchemy expression or None. ``key``: column name(s)
    of a unique, NOT NULL, indexed key to walk on (default: the primary key). ``step``:
    the step's name in the checkpoint table (default: ``"update <table>"``, numbered when
    a revision has several). Settings left as None come from ``[tool.sluice.data]``.
    ``connection``: default ``op.get_bind()``; pass one to run outside Alembic (then
    ``step`` is required). ``progress``: where the step reports its progress and messages
    (a :class:`Progress`; default: a live bar on a terminal, log lines on stderr otherwise).
    Returns a :class:`StepResult`.
    """
    return Step(
        kind="update", table=table, values=values, where=where, key=key, step=step,
        schema=schema, connection=connection, revision=revision, config=config,
        on_batch=on_batch, progress=progress,
        settings=dict(batch_size=batch_size, target_batch_ms=target_batch_ms,
                      pause_ms=pause_ms, lock_timeout_ms=lock_timeout_ms,
                      max_retries=max_retries),
    ).run()


def batched_delete(
    table: TableArg,
    where: Any,
    *,
    key: KeyArg = None,
    step: str | None = None,
    schema: str | None = None,
    batch_size: int | None = None,
    target_batch_ms: int | None = None,
    pause_ms: int | None = None,
    lock_timeout_ms: int | None = None,
    max_retries: int | None = None,
    connection: Connection | None = None,
    revision: str | None = None,
    config: SluiceConfig | DataConfig | None = None,
    on_batch: Callable[[BatchInfo], None] | None = None,
    progress: Progress | None = None,
) -> StepResult:
    """``DELETE FROM table WHERE where`` in batches; same options as :func:`batched_update`.

    ``where`` is required; to empty a table on purpose pass ``where=sa.true()``.
    """
    return Step(
        kind="delete", table=table, values=None, where=where, key=key, step=step,
        schema=schema, connection=connection, revision=revision, config=config,
        on_batch=on_batch, progress=progress,
        settings=dict(batch_size=batch_size, target_batch_ms=target_batch_ms,
                      pause_ms=pause_ms, lock_timeout_ms=lock_timeout_ms,
                      max_retries=max_retries),
    ).run()


def backfill(
    table: TableArg,
    fn: BackfillFn,
    columns: Sequence[str] | None = None,
    where: Any = None,
    *,
    key: KeyArg = None,
    step: str | None = None,
    schema: str | None = None,
    batch_size: int | None = None,
    target_batch_ms: int | None = None,
    pause_ms: int | None = None,
    lock_timeout_ms: int | None = None,
    max_retries: int | None = None,
    connection: Connection | None = None,
    revision: str | None = None,
    config: SluiceConfig | DataConfig | None = None,
    on_batch: Callable[[BatchInfo], None] | None = None,
    progress: Progress | None = None,
) -> StepResult:
    """Transform rows with Python, in batches, for what SQL cannot express.

    For each batch, the rows in the key range that match ``where`` are read (locked with
    ``FOR UPDATE`` on PostgreSQL and MySQL) as plain dicts holding the key column(s) and
    ``columns`` (default: every column), and ``fn(rows)`` is called. It returns a sequence
    of the same length: for each row a dict of new column values, or None to leave it.
    The updates are written in the same transaction as the batch's checkpoint; a row the
    database does not write (a trigger or policy skipping it) stops the step with that
    batch rolled back. ``fn`` must not change key columns. Same options as
    :func:`batched_update`.
    """
    return Step(
        kind="backfill", table=table, values=None, where=where, key=key, step=step,
        schema=schema, connection=connection, revision=revision, config=config,
        on_batch=on_batch, fn=fn, columns=columns, progress=progress,
        settings=dict(batch_size=batch_size, target_batch_ms=target_batch_ms,
                      pause_ms=pause_ms, lock_timeout_ms=lock_timeout_ms,
                      max_retries=max_retries),
    ).run()


def clear_checkpoints(
    connection: Connection,
    revision: str | None = None,
    step: str | None = None,
    *,
    table: str = DATA_PROGRESS_TABLE,
) -> int:
    """Delete checkpoint rows (all, one revision's, or one step's) so steps run afresh.

    Inside Alembic this is done for you when a revision is stamped; use this outside
    Alembic, or to restart a step from the beginning on purpose. Commits; returns rows.
    """
    store = Store(table)
    if not sa.inspect(connection).has_table(table):
        return 0
    store.refuse_foreign(connection, f"table '{table}' is not a checkpoint table",
                         f"Pass table= naming the checkpoint table (default "
                         f"'{DATA_PROGRESS_TABLE}'). Nothing was deleted.")
    stmt = sa.delete(store.table)
    if revision is not None:
        stmt = stmt.where(store.table.c.revision == revision)
    if step is not None:
        stmt = stmt.where(store.table.c.step == step)
    with own_transaction(connection):
        return int(connection.execute(stmt).rowcount or 0)
