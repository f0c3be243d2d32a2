"""Batched, throttled, resumable data migrations for use inside a revision's ``upgrade()``.

::

    import sqlalchemy as sa
    from alembic import op
    from sluice.data import backfill, batched_delete, batched_update

    users = sa.table("users", sa.column("status"), sa.column("full_name"),
                     sa.column("first_name"))

    def upgrade() -> None:
        batched_update(users, {"status": "active"}, where=users.c.status.is_(None))
        batched_delete("sessions", where=sa.column("expires_at") < sa.func.now())
        backfill(users, split_first_name, columns=["full_name"])

    def split_first_name(rows):
        return [{"first_name": r["full_name"].split(" ")[0]} for r in rows]

How a step runs (online):

1. Everything is validated first (table, key, ``where``, ``values``, settings); a bad
   input is a one-line :class:`DataMigrationError` before any row is touched.
2. The step walks the table in key order (keyset pagination on the primary key or on
   ``key=``, composite keys included). A batch is the next ``batch_size`` keys after the
   checkpoint: ``key > last AND key <= upper`` (plus ``where``).
3. Each batch runs in its own short transaction, together with the update of its
   checkpoint row in ``sluice_data_progress``. Both commit, or neither does.
4. Inside an Alembic migration the batches run in :meth:`MigrationContext.autocommit_block`:
   the revision's transaction so far is **committed** before the first batch, each batch
   then commits on its own, and a new transaction is opened for the rest of ``upgrade()``
   and the ``alembic_version`` update. The revision is stamped only after ``upgrade()``
   returns, so it is never stamped with a step unfinished; the step's checkpoint rows are
   deleted in that same stamping transaction.
5. Rerunning the upgrade after a crash resumes each step from its checkpoint; a finished
   step is skipped.

In ``--sql`` (offline) mode nothing can be batched: an update or delete is rendered as one
statement under a comment that says so, and a :func:`backfill` (Python code) is rendered
as a comment saying that it must run online. ``docs/data-migrations.md`` has the details
and the exact guarantees.

The package, by responsibility: ``api`` (the public functions), ``step`` (one step's loop:
batches, retries, adaptive size), ``batch`` (the SQL of one batch), ``target`` (the table and
the statements resolved against it), ``keys`` (the key walked and its codec),
``expressions`` (checks of ``where``/``values``), ``checkpoints`` (the progress table),
``context`` (the running Alembic migration), ``settings``, ``dialects`` (per-database
transactions, lock errors and lock timeouts, rowcounts), ``sql`` (``--sql`` rendering),
``progress`` (where a step reports), ``stops`` (why a step stopped, in one line) and
``model`` (results and errors).
"""

from __future__ import annotations

from sluice.data.api import backfill, batched_delete, batched_update, clear_checkpoints
from sluice.data.model import BatchInfo, DataMigrationError, LockRetriesExhausted, StepResult
from sluice.data.progress import ConsoleProgress, Progress

__all__ = [
    "BatchInfo",
    "ConsoleProgress",
    "DataMigrationError",
    "LockRetriesExhausted",
    "Progress",
    "StepResult",
    "backfill",
    "batched_delete",
    "batched_update",
    "clear_checkpoints",
]
