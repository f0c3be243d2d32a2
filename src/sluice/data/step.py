"""One data step: its inputs and identity, then its loop of batches, each in its own
transaction with its checkpoint, retried on lock timeouts, sized to a target duration."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.expression import TableClause

from sluice.config import DataConfig, SluiceConfig
from sluice.core.alembic_compat import INTERNAL_RENDER, in_external_transaction
from sluice.data.batch import BatchSql
from sluice.data.checkpoints import Store
from sluice.data.context import (
    RUNS,
    RevisionSteps,
    migration_context,
    register_cleanup,
    running_revision,
)
from sluice.data.dialects import (
    ExplicitTx,
    Tx,
    backend_of,
    estimate_rows,
    is_autocommit,
    is_lock_error,
    postgres_batch_settings,
    quiet_rollback,
    session_lock_timeout,
)
from sluice.data.expressions import check_where
from sluice.data.keys import decode_checkpoint, encode_checkpoint, encode_key
from sluice.data.model import (
    BackfillFn,
    BatchInfo,
    ConnectionLost,
    DataMigrationError,
    KeyArg,
    Kind,
    StepResult,
    TableArg,
    fail,
    first_line,
    table_name,
)
from sluice.data.progress import ConsoleProgress, Progress, plural, summary
from sluice.data.settings import load_data_config, resolve_settings
from sluice.data.sql import render_backfill, render_statement
from sluice.data.stops import (
    AT_FINISH,
    BEFORE_FIRST,
    IN_BATCH,
    beyond_bound,
    checkpoint_rewritten,
    lossy_bound,
    retries_exhausted,
    stalled,
    stopped,
)
from sluice.data.target import prepare, resolve_target

#: What one committed batch returns: upper key, rows scanned, rows changed, ms, size used.
Outcome = tuple[tuple[Any, ...], int, int, float, int]


@dataclass
class Step:
    kind: Kind
    table: TableArg
    values: Mapping[Any, Any] | None
    where: Any
    key: KeyArg
    step: str | None
    schema: str | None
    connection: Connection | None
    revision: str | None
    config: SluiceConfig | DataConfig | None
    on_batch: Callable[[BatchInfo], None] | None
    settings: dict[str, Any]
    fn: BackfillFn | None = None
    columns: Sequence[str] | None = None
    progress: Progress | None = None
    _cost: float | None = field(default=None, init=False)  # smoothed ms per row

    # ---------------------------------------------------------------- entry
    def run(self) -> StepResult:
        ctx = migration_context()
        if self.connection is None and ctx is None:
            raise fail(
                f"{self.kind} step called outside an Alembic migration: call it inside a "
                "revision's upgrade(), or pass connection=... (and step='name')"
            )
        in_migration = ctx is not None and (
            self.connection is None or self.connection is ctx.connection
        )
        if not in_migration:
            ctx = None
        data, source = load_data_config(ctx, self.config)
        self.opts = resolve_settings(data, self.settings, source)
        self._check_inputs()
        self.revision_id, self.step_name = self._identity(ctx)
        self.out: Progress = (self.progress if self.progress is not None
                              else ConsoleProgress(interval_s=self.opts.log_interval_s))
        if ctx is not None and ctx.as_sql:
            return self._render_offline(ctx)
        conn = self.connection if self.connection is not None else ctx.connection  # type: ignore[union-attr]
        return self._run_online(ctx, conn)

    # ---------------------------------------------------------------- inputs
    def _check_inputs(self) -> None:
        if not isinstance(self.table, (str, TableClause)) or isinstance(self.table, sa.Alias):
            raise fail(f"table must be a table name, sa.Table or sa.table(), got "
                       f"{type(self.table).__name__}")
        check_where(self.where, self.kind)
        if self.kind == "update":
            if not isinstance(self.values, Mapping) or not self.values:
                raise fail("batched_update needs values={'column': value, ...} with at "
                           "least one column")
            for col in self.values:
                if not isinstance(col, (str, ColumnClause)):
                    raise fail(f"values= keys must be column names, got {col!r}")
        if self.kind == "backfill":
            if not callable(self.fn):
                raise fail(f"backfill needs a function fn(rows) -> new values, got {self.fn!r}")
            if isinstance(self.columns, str):
                raise fail(f"columns= must be a list of column names, got the string "
                           f"{self.columns!r}; write columns=[{self.columns!r}]")
        if self.step is not None and (not isinstance(self.step, str) or not self.step.strip()):
            raise fail(f"step= must be a non-empty name, got {self.step!r}")
        if self.step is not None and len(self.step) > 200:
            raise fail(f"step= name is longer than 200 characters: {self.step[:40]!r}...")

    def _identity(self, ctx: Any) -> tuple[str, str]:
        base = f"{self.kind} {table_name(self.table)}"
        if ctx is None:
            if self.step is None:
                raise fail(
                    f"{base}: outside an Alembic migration, name the step (step='...'): the "
                    "name is how a rerun finds its checkpoint"
                )
            return self.revision or "", self.step
        running = running_revision(ctx)
        if running is None:
            if self.revision is None:
                raise fail(f"{base}: cannot tell which revision is running; pass "
                           "revision='...'")
            running = (self.revision, True)
        # the run is the revision Alembic stamps (its checkpoints leave with the stamp);
        # revision= changes only the id stored with the checkpoint
        running_id, is_upgrade = running
        revision = running_id if self.revision is None else self.revision
        steps = RUNS.setdefault(ctx, {}).setdefault((running_id, is_upgrade), RevisionSteps())
        steps.stored.add(revision)
        self.run_steps = steps
        self.run_key = (running_id, is_upgrade)
        if self.step is not None:
            name = self.step
        else:
            n = steps.counts.get(base, 0) + 1
            steps.counts[base] = n
            name = base if n == 1 else f"{base} #{n}"
        if not is_upgrade:
            name = f"downgrade: {name}"
        if name in steps.names:
            raise fail(f"step name '{name}' is used twice in revision {revision}; give "
                       "each step its own step='...'")
        steps.names.add(name)
        return revision, name

    @property
    def label(self) -> str:
        rev = f" (revision {self.revision_id})" if self.revision_id else ""
        return f"step '{self.step_name}'{rev}"

    def _prepare(self, target: TableClause, backend: str, key: list[str]) -> BatchSql:
        return prepare(self.kind, self.label, target, backend, key, where=self.where,
                       values=self.values, columns=self.columns, fn=self.fn)

    # ---------------------------------------------------------------- offline
    def _render_offline(self, ctx: Any) -> StepResult:
        result = StepResult(self.revision_id, self.step_name, offline=True, skipped=True)
        head = f"-- sluice.data {self.kind} {self.label} on table {table_name(self.table)}:"
        if self.kind == "backfill":
            config = getattr(ctx, "config", None)
            internal = bool(getattr(config, "attributes", {}).get(INTERNAL_RENDER))
            render_backfill(ctx, head, self.label, self.fn,
                            (lambda _message: None) if internal else self.out.say)
            return result
        target, _ = resolve_target(self.table, self.schema, self.key, self.values, self.where,
                                   None)
        render_statement(ctx, head, self.label, self.kind,
                         self._prepare(target, backend_of(ctx), []))
        return result

    # ---------------------------------------------------------------- online
    def _run_online(self, ctx: Any, conn: Connection) -> StepResult:
        backend = backend_of(conn)
        started_in_tx = conn.in_transaction()
        if ctx is None and started_in_tx:
            raise fail(
                f"{self.label}: the connection has a transaction in progress. Each batch "
                "commits on its own, which would commit your work half-way: commit or roll "
                "back first (or call this inside upgrade() without connection=)."
            )
        if ctx is not None and in_external_transaction(ctx):
            raise fail(
                f"{self.label}: env.py runs the migrations inside a transaction it opened "
                "itself (connection.begin()), which a batched step cannot commit per batch. "
                "Use 'with context.begin_transaction():' in env.py instead."
            )
        # Everything that can refuse the step happens here, before any row is touched.
        target, key = resolve_target(self.table, self.schema, self.key, self.values,
                                     self.where, conn)
        self.sql = self._prepare(target, backend, key)
        total = estimate_rows(conn, target, backend)
        store = Store(self.opts.progress_table)
        if ctx is None:
            if conn.in_transaction():  # reflection autobegan: nothing to keep
                conn.rollback()
            tx: Tx = ExplicitTx(conn, backend) if is_autocommit(conn) else Tx(conn, backend)
            block: Any = nullcontext()
        else:
            steps = self.run_steps
            if not steps.cleanup_registered:
                register_cleanup(ctx, store, self.run_key)
                steps.cleanup_registered = True
            block = ctx.autocommit_block()
            tx = ExplicitTx(conn, backend)
        #: the runner's check that the migration lock is still held, before each batch
        self.guard = ctx.opts.get("sluice_between_batches") if ctx is not None else None
        stopped: BaseException | None = None
        try:
            with block:
                if ctx is not None:
                    conn = ctx.connection  # autocommit_block swaps in an AUTOCOMMIT connection
                    tx.conn = conn
                try:
                    return self._walk(conn, tx, store, total, backend)
                except BaseException as exc:
                    stopped = exc
                    raise
        except BaseException as exc:
            if stopped is not None and exc is not stopped:
                # leaving the block failed too (on a connection that is gone: SQLAlchemy's
                # PendingRollbackError): the step's own error says what happened
                raise stopped from None
            raise

    def _walk(self, conn: Connection, tx: Tx, store: Store, total: int | None,
              backend: str) -> StepResult:
        opts = self.opts
        rev, name = self.revision_id, self.step_name
        row = self._open_checkpoint(conn, tx, store)
        result = StepResult(rev, name)
        if row is not None and row.finished is not None:
            result.skipped = True
            result.rows_scanned, result.rows_changed = row.rows_done, row.rows_changed
            result.batches = row.batches
            when = row.finished.strftime("%Y-%m-%d %H:%M:%S")
            self.out.say(f"sluice.data: {self.label} already finished at {when} UTC "
                         f"({row.rows_done:,} rows); skipping")
            return result
        last, self.upto = self._resume_after(row, store)
        if row is not None and row.batches > 0:
            result.resumed = True
            result.rows_scanned, result.rows_changed = row.rows_done, row.rows_changed
            result.batches = row.batches
        reporter = self.out
        reporter.start(self.label, total, result.rows_scanned)
        if result.resumed:
            reporter.say(f"sluice.data: {self.label}: resuming from the checkpoint after key "
                         f"{list(last or ())!r} ({result.rows_scanned:,} rows done in "
                         f"{plural(result.batches, 'batch')})")
        else:
            about = f"~{total:,}" if total is not None else "an unknown number of"
            reporter.say(f"sluice.data: {self.label}: starting, {about} rows, batches of "
                         f"{opts.batch_size:,}, keys up to {list(self.upto or ())!r}")
        size = opts.batch_size
        t_start = time.monotonic()
        run_rows = run_batches = 0
        try:
            restore = session_lock_timeout(conn, tx, backend, opts.lock_timeout_ms)
        except Exception as exc:
            quiet_rollback(tx)
            reporter.close()
            raise stopped(self.label, exc, "while setting its lock wait timeouts, before "
                          "its first batch", result, last, BEFORE_FIRST) from exc
        try:
            while True:
                self._check_guard(result)
                outcome = self._batch_with_retries(conn, tx, store, backend, last, size, result)
                if outcome is None:
                    break
                last, scanned, changed, ms, size_used = outcome
                run_rows += scanned
                run_batches += 1
                result.rows_scanned += scanned
                result.rows_changed += changed
                result.batches += 1
                if ms > result.slowest_batch_ms:
                    result.slowest_batch_ms, result.slowest_batch = ms, result.batches
                size = self._next_size(size, size_used, scanned, ms)
                reporter.update(result.rows_scanned, result.rows_changed, size)
                self._after_batch(result, outcome)
            try:
                tx.begin()
                store.finish(conn, rev, name, result.batches)
                beyond = self.sql.beyond(conn, backend, self.upto)
                tx.commit()
            except BaseException as exc:
                quiet_rollback(tx)
                if isinstance(exc, Exception):
                    self._if_checkpoint_gone(conn, tx, store, result, last, exc, AT_FINISH)
                if not isinstance(exc, Exception) or isinstance(exc, DataMigrationError):
                    raise
                raise stopped(self.label, exc, "while marking the step finished", result,
                              last, AT_FINISH) from exc
        except KeyboardInterrupt:
            reporter.close()
            reporter.say(f"sluice.data: {self.label} interrupted; the checkpoint keeps "
                         f"{result.rows_scanned:,} rows done. Rerun the upgrade to resume.")
            raise
        finally:
            reporter.close()
            restore()
        result.seconds = time.monotonic() - t_start
        reporter.say(summary(self.label, result, run_batches, run_rows))
        if beyond:
            reporter.say(beyond_bound(self.label, beyond, self.upto,
                                      self.sql.where_expr is not None))
        return result

    def _resume_after(self, row: Any, store: Store
                      ) -> tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]:
        """The checkpoint's key and the bound the step walks to (fixed when it started;
        now for a checkpoint written without one), refused when they are no keys of the
        columns walked now."""
        cols = [c.name for c in self.sql.key_cols]
        try:
            if row is None or row.last_key is None and row.batches == 0:
                after, upto, known = None, None, False
            else:
                after, upto, known = decode_checkpoint(row.last_key or "", len(cols))
            return after, (upto if known else self.bound_now)
        except ValueError:
            raise fail(
                f"{self.label}: its checkpoint in {store.name} holds last_key "
                f"{row.last_key!r}, which is not a key of ({', '.join(cols)}): the step was "
                "changed since (another table or key=) or the row was edited. Nothing was "
                "changed. Restore the step as it was to resume, or start it over: "
                f"clear_checkpoints(connection, revision={self.revision_id!r}, "
                f"step={self.step_name!r}) or delete that row.") from None

    def _check_guard(self, result: StepResult) -> None:
        """Stop before the next batch when the runner says the migration lock is gone."""
        if self.guard is None:
            return
        try:
            self.guard()
        except Exception as exc:
            self.out.close()
            self.out.say(f"sluice.data: {self.label} stopped before batch {result.batches + 1}"
                         f": {first_line(exc)}; the checkpoint keeps {result.rows_scanned:,} "
                         "rows done. Rerun the upgrade to resume.")
            raise

    def _after_batch(self, result: StepResult, outcome: Outcome) -> None:
        """``on_batch``, then the pause between batches."""
        last, scanned, changed, ms, size_used = outcome
        if self.on_batch is not None:
            info = BatchInfo(result.batches, scanned, changed, ms, size_used, last)
            try:
                self.on_batch(info)
            except Exception as exc:
                raise stopped(self.label, exc, "in on_batch", result, last) from exc
        if self.opts.pause_ms:
            time.sleep(self.opts.pause_ms / 1000)

    def _open_checkpoint(self, conn: Connection, tx: Tx, store: Store) -> Any:
        """The step's checkpoint row (None when this run created it); sets
        ``bound_now``, the largest key now, read when the step starts (or resumes from a
        checkpoint without its bound)."""
        row, self.bound_now = store.open(conn, tx, self.label, self.revision_id,
                                         self.step_name, lambda: self._bound(conn))
        return row

    def _if_checkpoint_gone(self, conn: Connection, tx: Tx, store: Store,
                            result: StepResult, last: tuple[Any, ...] | None,
                            exc: Exception, undone: tuple[str, str]) -> None:
        """Raise the step's error when it was refused its checkpoint table (with the
        GRANT), or the checkpoint vanished (then it is written again)."""
        if isinstance(exc, ConnectionLost) or getattr(exc, "connection_invalidated", False):
            return  # nothing to ask a connection that is gone
        refused = store.refusal(
            conn, exc, self.label, "write its checkpoint in",
            f". {undone[1]}; the checkpoint keeps {plural(result.rows_scanned, 'row')} "
            f"done (after key {list(last or ())!r}). Have the privilege granted again and "
            "rerun the upgrade to resume from there.")
        if refused is not None:
            raise refused from exc
        if store.rewrite_if_gone(conn, tx, self.label, self.revision_id, self.step_name,
                                 encode_checkpoint(last, self.upto), result.rows_scanned,
                                 result.rows_changed, result.batches):
            raise checkpoint_rewritten(self.label, store.name, exc, result, last,
                                       undone[1]) from exc

    def _bound(self, conn: Connection) -> tuple[Any, ...] | None:
        """The largest key, refused when it does not come back as the database stores it:
        the row it was read from would lie beyond the step's bound."""
        bound: tuple[Any, ...] = ()
        for _ in (1, 2):  # twice: that row may have been deleted in between
            read = self.sql.bound(conn)
            if read is None or self.sql.finds(conn, read):
                return read
            bound = read
        raise lossy_bound(self.label, self.sql.target.name,
                          [c.name for c in self.sql.key_cols], bound)

    def _next_size(self, size: int, used: int, scanned: int, ms: float) -> int:
        """The next batch size, steering batch duration towards ``target_batch_ms``.

        The cost per row is smoothed over batches (an exponential moving average), so one
        lucky fast batch does not double the next one. Growth is at most 1.5x per batch;
        a batch slower than the target shrinks the next one at once (down to half), since
        long batches are what hurt concurrent writers.
        """
        target = self.opts.target_batch_ms
        if not target or scanned < used or scanned == 0:  # fixed, or the last partial batch
            return size
        cost = ms / scanned
        self._cost = cost if self._cost is None else 0.5 * cost + 0.5 * self._cost
        ideal = target / max(self._cost, 1e-6)
        if ms > target:
            ideal = min(ideal, used * target / ms)
        new = min(max(ideal, used * 0.5), used * 1.5)
        return int(min(self.opts.max_batch_size, max(1, round(new))))

    # ---------------------------------------------------------------- one batch
    def _batch_with_retries(
        self, conn: Connection, tx: Tx, store: Store, backend: str,
        last: tuple[Any, ...] | None, size: int, result: StepResult,
    ) -> Outcome | None:
        attempt = 0
        while True:
            t0 = time.perf_counter()
            try:
                tx.begin()
                if backend == "postgresql":
                    postgres_batch_settings(conn, self.opts.lock_timeout_ms)
                found = (None if self.upto is None else
                         self.sql.next_range(conn, backend, last, size, self.upto))
                if found is None:
                    tx.rollback()
                    return None
                upper, scanned = found
                last_key = encode_checkpoint(upper, self.upto)
                if last is not None and encode_key(upper) == encode_key(last):
                    raise stalled(self.label, self.sql.target.name,
                                  [c.name for c in self.sql.key_cols], upper, result,
                                  self.revision_id, self.step_name)
                changed = self.sql.apply(conn, backend, last, upper)
                store.advance(conn, self.revision_id, self.step_name,
                              expected_batches=result.batches, last_key=last_key,
                              scanned=scanned, changed=changed)
                tx.commit()
                return upper, scanned, changed, (time.perf_counter() - t0) * 1000, size
            except BaseException as exc:
                # Roll back on anything, Ctrl-C included: whoever commits the connection
                # next (Alembic, at the end of autocommit_block) must not commit half a batch.
                quiet_rollback(tx)
                if not isinstance(exc, Exception):
                    raise
                if not is_lock_error(exc):
                    self._if_checkpoint_gone(conn, tx, store, result, last, exc, IN_BATCH)
                    if isinstance(exc, DataMigrationError):
                        raise
                    raise stopped(self.label, exc, f"in batch {result.batches + 1}", result,
                                  last) from exc
                attempt += 1
                if attempt > self.opts.max_retries:
                    raise retries_exhausted(self.label, exc, result, last,
                                            self.opts.lock_timeout_ms,
                                            self.opts.max_retries) from exc
                size = max(1, size // 2)
                backoff = min(10.0, 0.05 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
                time.sleep(backoff)
