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
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import random
import sys
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ClauseElement, ColumnClause, TextClause
from sqlalchemy.sql.expression import TableClause

from sluice.config import DataConfig, SluiceConfig, load_config
from sluice.core.alembic_compat import in_external_transaction
from sluice.errors import SluiceError
from sluice.owned import DATA_PROGRESS_TABLE

__all__ = [
    "BatchInfo",
    "DataMigrationError",
    "LockRetriesExhausted",
    "StepResult",
    "backfill",
    "batched_delete",
    "batched_update",
    "clear_checkpoints",
]

TableArg = str | sa.Table | TableClause
KeyArg = str | Sequence[str] | None
BackfillFn = Callable[[list[dict[str, Any]]], Sequence[Mapping[str, Any] | None]]
Kind = Literal["update", "delete", "backfill"]


class DataMigrationError(SluiceError):
    """A data step refused its input or stopped; the message says where the checkpoint is."""


class LockRetriesExhausted(DataMigrationError):
    """A batch could not get its locks within ``lock_timeout_ms``, ``max_retries`` times."""


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


# =========================================================================== public API


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
) -> StepResult:
    """``UPDATE table SET values WHERE where``, one short transaction per batch of keys.

    ``table``: a name (reflected), a ``sa.Table`` or a ``sa.table()``. ``values``: column
    name to a Python value (sent as a bind parameter) or a SQLAlchemy expression such as
    ``users.c.n + 1``. ``where``: a SQLAlchemy expression or None. ``key``: column name(s)
    of a unique, NOT NULL, indexed key to walk on (default: the primary key). ``step``:
    the step's name in the checkpoint table (default: ``"update <table>"``, numbered when
    a revision has several). Settings left as None come from ``[tool.sluice.data]``.
    ``connection``: default ``op.get_bind()``; pass one to run outside Alembic (then
    ``step`` is required). Returns a :class:`StepResult`.
    """
    return _Step(
        kind="update", table=table, values=values, where=where, key=key, step=step,
        schema=schema, connection=connection, revision=revision, config=config,
        on_batch=on_batch,
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
) -> StepResult:
    """``DELETE FROM table WHERE where`` in batches; same options as :func:`batched_update`.

    ``where`` is required; to empty a table on purpose pass ``where=sa.true()``.
    """
    return _Step(
        kind="delete", table=table, values=None, where=where, key=key, step=step,
        schema=schema, connection=connection, revision=revision, config=config,
        on_batch=on_batch,
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
) -> StepResult:
    """Transform rows with Python, in batches, for what SQL cannot express.

    For each batch, the rows in the key range that match ``where`` are read (locked with
    ``FOR UPDATE`` on PostgreSQL and MySQL) as plain dicts holding the key column(s) and
    ``columns`` (default: every column), and ``fn(rows)`` is called. It returns a sequence
    of the same length: for each row a dict of new column values, or None to leave it.
    The updates are written in the same transaction as the batch's checkpoint. ``fn``
    must not change key columns. Same options as :func:`batched_update`.
    """
    return _Step(
        kind="backfill", table=table, values=None, where=where, key=key, step=step,
        schema=schema, connection=connection, revision=revision, config=config,
        on_batch=on_batch, fn=fn, columns=columns,
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
    store = _Store(table)
    if not sa.inspect(connection).has_table(table):
        return 0
    stmt = sa.delete(store.table)
    if revision is not None:
        stmt = stmt.where(store.table.c.revision == revision)
    if step is not None:
        stmt = stmt.where(store.table.c.step == step)
    with _own_transaction(connection):
        return int(connection.execute(stmt).rowcount or 0)


# =========================================================================== settings


@dataclass(frozen=True)
class _Settings:
    batch_size: int
    max_batch_size: int
    target_batch_ms: int
    pause_ms: int
    lock_timeout_ms: int | None
    max_retries: int
    progress_table: str
    log_interval_s: float


def _settings(data: DataConfig, overrides: Mapping[str, Any], source: str) -> _Settings:
    def pick(name: str) -> Any:
        value = overrides.get(name)
        return getattr(data, name) if value is None else value

    def where_from(name: str) -> str:
        return f"{name}=" if overrides.get(name) is not None else f"{source}: tool.sluice.data.{name}"

    minimums = {"batch_size": 1, "target_batch_ms": 0, "pause_ms": 0, "max_retries": 0,
                "max_batch_size": 1, "lock_timeout_ms": 1}
    values: dict[str, Any] = {}
    for name, low in minimums.items():
        value = pick(name)
        if value is None:
            values[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise DataMigrationError(
                f"{where_from(name)}: expected an integer >= {low}, got {value!r}"
            )
        values[name] = value
    values["max_batch_size"] = max(values["max_batch_size"], values["batch_size"])
    return _Settings(
        progress_table=data.progress_table,
        log_interval_s=max(0.0, float(data.log_interval_s)),
        **values,
    )


def _load_data_config(ctx: Any, config: SluiceConfig | DataConfig | None) -> tuple[DataConfig, str]:
    if isinstance(config, DataConfig):
        return config, "config"
    if isinstance(config, SluiceConfig):
        return config.data, str(config.source or "[tool.sluice]")
    if ctx is not None:
        cfg = ctx.opts.get("sluice_config")
        if isinstance(cfg, SluiceConfig):
            return cfg.data, str(cfg.source or "[tool.sluice]")
        ini = getattr(getattr(ctx, "config", None), "config_file_name", None)
        cfg = load_config(Path(ini) if ini else None)
        return cfg.data, str(cfg.source or "[tool.sluice]")
    cfg = load_config()
    return cfg.data, str(cfg.source or "[tool.sluice]")


# =========================================================================== Alembic context


def _migration_context() -> Any | None:
    """The running Alembic MigrationContext, or None outside a migration."""
    try:
        from alembic import op

        return op.get_context()
    except Exception:
        return None


def _running_revision(ctx: Any) -> tuple[str, bool] | None:
    """(revision id, is_upgrade) of the script Alembic is running right now."""
    frame = sys._getframe(1)
    fallback: tuple[str, bool] | None = None
    while frame is not None:
        if frame.f_code.co_name == "run_migrations" and frame.f_locals.get("self") is ctx:
            step = frame.f_locals.get("step")
            rev = getattr(getattr(step, "revision", None), "revision", None)
            if isinstance(rev, str):
                return rev, bool(getattr(step, "is_upgrade", True))
        g = frame.f_globals
        if fallback is None and isinstance(g.get("revision"), str) and "down_revision" in g:
            fallback = (g["revision"], frame.f_code.co_name != "downgrade")
        frame = frame.f_back  # type: ignore[assignment]
    return fallback


@dataclass
class _RevisionSteps:
    names: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    cleanup_registered: bool = False


# MigrationContext -> {(revision, is_upgrade): step bookkeeping for that run}
_RUNS: weakref.WeakKeyDictionary[Any, dict[tuple[str, bool], _RevisionSteps]] = (
    weakref.WeakKeyDictionary()
)


def _register_cleanup(ctx: Any, revision: str, store: _Store,
                      run: tuple[str, bool]) -> None:
    """Delete the revision's checkpoints in the transaction that stamps it.

    Alembic calls ``on_version_apply`` callbacks right after updating ``alembic_version``
    for a step, in the same transaction. Deleting the checkpoints there means a revision
    that is later downgraded and upgraded again runs its steps again, while a crash
    before the stamp keeps them for the rerun. The run's step names are forgotten too:
    the same revision may run again on this connection (``sluice check``'s round trip
    upgrades, downgrades and upgrades it again in one session).
    """

    def cleanup(*, ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        if revision not in tuple(getattr(step, "up_revision_ids", ()) or ()):
            return
        ctx.on_version_apply_callbacks = tuple(
            cb for cb in ctx.on_version_apply_callbacks if cb is not cleanup
        )
        _RUNS.get(ctx, {}).pop(run, None)
        conn = ctx.connection
        if sa.inspect(conn).has_table(store.name):
            conn.execute(sa.delete(store.table).where(store.table.c.revision == revision))

    ctx.on_version_apply_callbacks = (*tuple(ctx.on_version_apply_callbacks or ()), cleanup)


# =========================================================================== validation


def _fail(message: str) -> DataMigrationError:
    return DataMigrationError(f"sluice.data: {message}")


def _check_text_literals(element: Any, dialect_name: str, where: str) -> None:
    """Refuse raw SQL text carrying literal values (most often interpolated from Python)."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokens import TokenType

    literal_types = {TokenType.STRING, TokenType.NUMBER, TokenType.NATIONAL_STRING,
                     TokenType.BYTE_STRING, TokenType.HEX_STRING, TokenType.BIT_STRING,
                     TokenType.RAW_STRING}
    glot = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql",
            "sqlite": "sqlite"}.get(dialect_name, "")
    for el in visitors.iterate(element):
        if isinstance(el, TextClause):
            sql = el.text
        elif isinstance(el, ColumnClause) and el.is_literal:
            sql = el.name
        else:
            continue
        try:
            tokens = Dialect.get_or_raise(glot or None).tokenize(sql)
        except Exception:
            tokens = []
            found = ["unparseable SQL"]
        else:
            found = [t.text for t in tokens if t.token_type in literal_types]
        if found:
            raise _fail(
                f"{where}: raw SQL {sql!r} contains the literal value {found[0]!r}. Values "
                "pasted into SQL text are how injection and quoting bugs get into migrations. "
                "Use a SQLAlchemy expression (users.c.status == 'x'), or bind the value: "
                "sa.text('status = :s').bindparams(s='x')."
            )


def _check_where(where: Any, kind: Kind) -> None:
    if where is None:
        if kind == "delete":
            raise _fail(
                "batched_delete without where= would delete every row. If that is really "
                "what you want, say so with where=sa.true()."
            )
        return
    if isinstance(where, str):
        raise _fail(
            f"where= got a string ({where[:60]!r}); pass a SQLAlchemy expression such as "
            "users.c.status == 'x' (or sa.text('status = :s').bindparams(s='x')). Strings "
            "cannot carry bind parameters, so values end up pasted into SQL."
        )
    if isinstance(where, bool) or not isinstance(where, ClauseElement):
        raise _fail(
            f"where= must be a SQLAlchemy expression, got {type(where).__name__} {where!r}"
            + ("; use sa.true() or sa.false()" if isinstance(where, bool) else "")
        )
    if isinstance(where, (sa.Select, TableClause)):
        raise _fail(f"where= must be a condition, got a {type(where).__name__}")


def _unique_keys(table: sa.Table) -> list[tuple[str, list[str]]]:
    """(description, column names) of every usable unique key of a reflected table."""
    found: list[tuple[str, list[str]]] = []
    if table.primary_key.columns:
        found.append(("primary key", [c.name for c in table.primary_key.columns]))
    for cons in table.constraints:
        if isinstance(cons, sa.UniqueConstraint) and cons.columns:
            found.append((f"unique constraint {cons.name or ''}".strip(),
                          [c.name for c in cons.columns]))
    for index in table.indexes:
        if not index.unique or any(not isinstance(e, sa.Column) for e in index.expressions):
            continue
        if any(k.endswith("_where") and v is not None for k, v in index.dialect_kwargs.items()):
            continue  # a partial index does not cover every row
        found.append((f"unique index {index.name}", [c.name for c in index.columns]))
    return found


def _choose_key(table: sa.Table, key: KeyArg) -> list[str]:
    name = table.name
    keys = _unique_keys(table)

    def not_null(cols: list[str]) -> bool:
        return all(not table.c[c].nullable for c in cols)

    if key is None:
        pk = [c.name for c in table.primary_key.columns]
        if pk:
            return pk
        candidates = [", ".join(cols) for _, cols in keys if not_null(cols)]
        hint = (f" Candidates here: {'; '.join(candidates)}." if candidates else
                " It has no unique NOT NULL index either: add a primary key in an earlier "
                "revision, then run this step.")
        raise _fail(
            f"table '{name}' has no primary key, so there is no safe way to walk it in "
            "batches (rows could be skipped or visited twice). Pass key='column' naming a "
            f"unique, NOT NULL, indexed column or list of columns.{hint}"
        )
    wanted = [key] if isinstance(key, str) else list(key)
    if not wanted:
        raise _fail("key= is empty; name the column(s) of a unique index")
    for col in wanted:
        if col not in table.c:
            raise _fail(f"key column '{col}' is not a column of table '{name}' "
                        f"(columns: {', '.join(table.c.keys())})")
    for what, cols in keys:
        if set(cols) == set(wanted) and len(cols) == len(wanted):
            if what != "primary key" and not not_null(cols):
                nullable = [c for c in cols if table.c[c].nullable]
                raise _fail(
                    f"key column(s) {', '.join(nullable)} of table '{name}' allow NULL: rows "
                    "with NULL there would never be visited. Make the column NOT NULL first, "
                    "or use the primary key."
                )
            return cols  # the index's order, so the index serves ORDER BY
    raise _fail(
        f"key={wanted!r} is not a unique, indexed key of table '{name}': walking a "
        "non-unique key can skip rows or visit them twice, and an unindexed one makes every "
        "batch scan the table. Use the primary key, or add a unique index on these columns "
        "in an earlier revision."
    )


def _adapt(expr: Any, target: TableClause, what: str) -> Any:
    """Point columns of ``expr`` that belong to the step's table at ``target``.

    Columns from any object naming the same table (a ``sa.Table``, ``sa.table()`` or a
    bare ``sa.column()``) are rebound, so ``where`` can be written against whatever the
    script has at hand; columns of other tables (subqueries) are left alone.
    """

    def replace(el: Any) -> Any:
        if isinstance(el, ColumnClause) and not el.is_literal:
            owner = el.table
            same = owner is None or (
                isinstance(owner, TableClause)
                and owner.name == target.name
                and (owner.schema or None) in (None, target.schema)
            )
            if same:
                col = target.c.get(el.name)
                if col is None:
                    raise _fail(
                        f"{what} refers to column '{el.name}', which table '{target.name}' "
                        f"does not have (columns: {', '.join(target.c.keys())})"
                    )
                return col
        return None

    return visitors.replacement_traverse(expr, {}, replace)  # type: ignore[call-overload]


# =========================================================================== key codec


def _encode_value(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, decimal.Decimal):
        return {"decimal": str(v)}
    if isinstance(v, dt.datetime):
        return {"datetime": v.isoformat()}
    if isinstance(v, dt.date):
        return {"date": v.isoformat()}
    if isinstance(v, dt.time):
        return {"time": v.isoformat()}
    if isinstance(v, uuid.UUID):
        return {"uuid": str(v)}
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"bytes": base64.b64encode(bytes(v)).decode("ascii")}
    raise _fail(f"cannot checkpoint a key value of type {type(v).__name__} ({v!r}); use a "
                "key of integer, string, decimal, date/time, UUID or bytes columns")


def _decode_value(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    ((tag, raw),) = v.items()
    decoders: dict[str, Callable[[Any], Any]] = {
        "decimal": decimal.Decimal,
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "time": dt.time.fromisoformat,
        "uuid": uuid.UUID,
        "bytes": base64.b64decode,
    }
    return decoders[tag](raw)


def encode_key(values: Sequence[Any]) -> str:
    """A key tuple as the JSON stored in ``last_key``."""
    return json.dumps([_encode_value(v) for v in values])


def decode_key(text: str) -> tuple[Any, ...]:
    return tuple(_decode_value(v) for v in json.loads(text))


# =========================================================================== dialect specifics


def _backend(conn: Any) -> str:
    name = conn.dialect.name
    return "mysql" if name in ("mysql", "mariadb") else name


def _keyset_after(cols: Sequence[Any], values: Sequence[Any] | None, backend: str) -> Any:
    """``(cols) > (values)``; the expanded OR form on MySQL, whose optimizer ranges it."""
    if values is None:
        return sa.true()
    binds = [sa.literal(v, c.type) for c, v in zip(cols, values, strict=True)]
    if len(cols) == 1:
        return cols[0] > binds[0]
    if backend != "mysql":
        return sa.tuple_(*cols) > sa.tuple_(*binds)
    return sa.or_(*[
        sa.and_(*[cols[j] == binds[j] for j in range(i)], cols[i] > binds[i])
        for i in range(len(cols))
    ])


def _keyset_upto(cols: Sequence[Any], values: Sequence[Any], backend: str) -> Any:
    """``(cols) <= (values)``."""
    binds = [sa.literal(v, c.type) for c, v in zip(cols, values, strict=True)]
    if len(cols) == 1:
        return cols[0] <= binds[0]
    if backend != "mysql":
        return sa.tuple_(*cols) <= sa.tuple_(*binds)
    return sa.or_(
        *[sa.and_(*[cols[j] == binds[j] for j in range(i)], cols[i] < binds[i])
          for i in range(len(cols))],
        sa.and_(*[c == b for c, b in zip(cols, binds, strict=True)]),
    )


def _is_lock_error(exc: BaseException) -> bool:
    """A lock wait that timed out, a deadlock or a serialization failure: worth a retry."""
    if not isinstance(exc, sa_exc.DBAPIError) or exc.connection_invalidated:
        return False
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state in ("55P03", "40P01", "40001"):
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in (1205, 1213):  # MySQL lock wait timeout, deadlock
        return True
    return "database is locked" in str(orig) or "database table is locked" in str(orig)


def _estimate_rows(conn: Connection, table: TableClause, backend: str) -> int | None:
    """Rows in the table: planner statistics where cheap, else a count."""
    try:
        if backend == "postgresql":
            qualified = conn.dialect.identifier_preparer.format_table(table)
            n = conn.execute(sa.text(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"
            ), {"t": qualified}).scalar()
            if n is not None and n >= 0:
                return int(n)
        elif backend == "mysql":
            n = conn.execute(sa.text(
                "SELECT TABLE_ROWS FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = COALESCE(:s, DATABASE()) AND TABLE_NAME = :t"
            ), {"s": table.schema, "t": table.name}).scalar()
            if n is not None:
                return int(n)
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)
    except sa_exc.DBAPIError:
        return None


# =========================================================================== transactions


class _Tx:
    """Begin/commit/rollback of one batch transaction."""

    def __init__(self, conn: Connection, backend: str) -> None:
        self.conn = conn
        self.backend = backend
        self._sa: sa.Transaction | None = None

    def begin(self) -> None:
        self._sa = self.conn.begin()

    def commit(self) -> None:
        assert self._sa is not None
        self._sa.commit()
        self._sa = None

    def rollback(self) -> None:
        trans, self._sa = self._sa, None
        if trans is not None and trans.is_active:
            trans.rollback()


class _ExplicitTx(_Tx):
    """Explicit BEGIN/COMMIT on a connection in AUTOCOMMIT mode (Alembic's autocommit_block).

    The driver sends each statement on its own, so the batch's statements are grouped
    into one transaction with explicit statements. SQLite takes the write lock up front
    (BEGIN IMMEDIATE) so that a batch never fails half-way on a lock upgrade.
    """

    _BEGIN = {"postgresql": "BEGIN", "mysql": "START TRANSACTION", "sqlite": "BEGIN IMMEDIATE"}

    def __init__(self, conn: Connection, backend: str) -> None:
        super().__init__(conn, backend)
        self.open = False

    def begin(self) -> None:
        self.conn.exec_driver_sql(self._BEGIN.get(self.backend, "BEGIN"))
        self.open = True

    def commit(self) -> None:
        self.conn.exec_driver_sql("COMMIT")
        self.open = False

    def rollback(self) -> None:
        if self.open:
            self.open = False
            self.conn.exec_driver_sql("ROLLBACK")


def _autocommit(conn: Connection) -> bool:
    """Whether the connection runs in AUTOCOMMIT mode (set on it or on its engine)."""
    level = conn.get_execution_options().get("isolation_level")
    if level is None:
        level = getattr(conn.dialect, "_on_connect_isolation_level", None)
    return level == "AUTOCOMMIT"


@contextmanager
def _own_transaction(conn: Connection) -> Iterator[None]:
    """A transaction on a plain (non-migration) connection, committed on success."""
    if conn.in_transaction():
        trans = conn.get_transaction()
        yield
        if trans is not None and trans.is_active:
            trans.commit()
    else:
        with conn.begin():
            yield


# =========================================================================== checkpoints


class _Store:
    """The checkpoint table (``[tool.sluice.data] progress_table``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.table = sa.Table(
            name,
            sa.MetaData(),
            sa.Column("revision", sa.String(128), primary_key=True),
            sa.Column("step", sa.String(255), primary_key=True),
            sa.Column("last_key", sa.Text, nullable=True),
            sa.Column("rows_done", sa.BigInteger, nullable=False),
            sa.Column("rows_changed", sa.BigInteger, nullable=False),
            sa.Column("batches", sa.Integer, nullable=False),
            sa.Column("started", sa.DateTime, nullable=False),
            sa.Column("updated", sa.DateTime, nullable=False),
            sa.Column("finished", sa.DateTime, nullable=True),
            mysql_engine="InnoDB",
        )

    def ensure(self, conn: Connection) -> None:
        if sa.inspect(conn).has_table(self.name):
            return
        try:
            self.table.create(conn, checkfirst=True)
        except sa_exc.DBAPIError:
            # another process created it in between: fine if it is there now
            if not sa.inspect(conn).has_table(self.name):
                raise

    def load(self, conn: Connection, revision: str, step: str) -> Any:
        t = self.table
        return conn.execute(
            sa.select(t).where(t.c.revision == revision, t.c.step == step)
        ).first()

    def insert(self, conn: Connection, revision: str, step: str) -> None:
        now = _utcnow()
        conn.execute(sa.insert(self.table).values(
            revision=revision, step=step, last_key=None, rows_done=0, rows_changed=0,
            batches=0, started=now, updated=now, finished=None,
        ))

    def advance(self, conn: Connection, revision: str, step: str, *, expected_batches: int,
                last_key: str, scanned: int, changed: int) -> None:
        """Record a batch; the batch count guards against a concurrent runner."""
        t = self.table
        res = conn.execute(
            sa.update(t)
            .where(t.c.revision == revision, t.c.step == step, t.c.batches == expected_batches)
            .values(last_key=last_key, rows_done=t.c.rows_done + scanned,
                    rows_changed=t.c.rows_changed + changed, batches=t.c.batches + 1,
                    updated=_utcnow())
        )
        if res.rowcount != 1:
            raise _fail(
                f"the checkpoint of step '{step}' (revision {revision}) moved under this "
                "process: another process is running the same step. This batch was rolled "
                "back; let the other run finish, or stop it and rerun."
            )

    def finish(self, conn: Connection, revision: str, step: str, expected_batches: int) -> None:
        t = self.table
        res = conn.execute(
            sa.update(t)
            .where(t.c.revision == revision, t.c.step == step, t.c.batches == expected_batches)
            .values(finished=_utcnow(), updated=_utcnow())
        )
        if res.rowcount != 1:
            raise _fail(f"the checkpoint of step '{step}' (revision {revision}) moved under "
                        "this process: another process is running the same step")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# =========================================================================== feedback


class _Reporter:
    """A rich progress display on a terminal, plain log lines otherwise, and a summary.

    The display takes two lines so that it fits an 80-column terminal: the step, its
    batch size and the time elapsed, then the bar with the share done, rows done of the
    total, the rate and the ETA.
    """

    def __init__(self, label: str, total: int | None, done: int, *, interval_s: float,
                 console: Any = None) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self.label = label
        self.total = total
        self.start_done = done
        self.done = done
        self.rate = 0.0
        self.batch = 0
        self.interval_s = interval_s
        self.started = time.monotonic()
        self.last_log = self.started
        self.progress: Any = None
        if self.console.is_terminal:
            from rich.live import Live

            self.progress = Live(console=self.console, get_renderable=self._frame,
                                 refresh_per_second=4, transient=False)
            self.progress.start()

    def _total_text(self) -> str:
        return f"~{self.total:,}" if self.total is not None else "?"

    def _frame(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        elapsed = _clock(time.monotonic() - self.started)
        head = Text(f"{self.label}  batch {self.batch:,}  {elapsed} elapsed",
                    style="bold", no_wrap=True, overflow="ellipsis")
        left = max(0, self.total - self.done) if self.total is not None else None
        eta = _seconds(left / self.rate) if left is not None and self.rate > 0 else "?"
        pct = f"{100 * self.done / self.total:3.0f}%" if self.total else "  ?%"
        row = Table.grid(padding=(0, 1), expand=True)
        row.add_column(ratio=1, min_width=10)
        for _ in range(4):
            row.add_column(no_wrap=True, justify="right")
        row.add_row(ProgressBar(total=self.total, completed=self.done), pct,
                    f"{self.done:,}/{self._total_text()} rows", f"{self.rate:,.0f} rows/s",
                    f"ETA {eta}")
        return Group(head, row)

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.console.print(message, markup=False, highlight=False)
        else:
            print(message, file=sys.stderr, flush=True)

    def update(self, done: int, changed: int, batch_size: int, *, force: bool = False) -> None:
        now = time.monotonic()
        elapsed = max(now - self.started, 1e-9)
        rate = (done - self.start_done) / elapsed
        if self.total is not None and done > self.total:
            self.total = done
        self.done, self.rate, self.batch = done, rate, batch_size
        if self.progress is not None:
            return  # the display reads these on its next refresh
        if not force and now - self.last_log < self.interval_s:
            return
        self.last_log = now
        pct = f" ({100 * done / self.total:.1f}%)" if self.total else ""
        eta = ""
        if self.total and rate > 0:
            eta = f", ETA {_seconds(max(0, self.total - done) / rate)}"
        self.say(f"sluice.data: {self.label}: {done:,} of {self._total_text()} rows{pct}, "
                 f"{changed:,} changed, {rate:,.0f} rows/s{eta}, batch size {batch_size:,}")

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _clock(s: float) -> str:
    """``h:mm:ss``."""
    m, sec = divmod(int(s), 60)
    return f"{m // 60}:{m % 60:02d}:{sec:02d}"


def _seconds(s: float) -> str:
    if s < 90:
        return f"{s:.1f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}es" if word.endswith("ch") else \
        f"{n:,} {word}s"


def _summary(label: str, r: StepResult, run_batches: int, run_rows: int) -> str:
    rate = run_rows / r.seconds if r.seconds > 0 else 0.0
    text = (f"sluice.data: {label} done: {r.rows_scanned:,} rows scanned, "
            f"{r.rows_changed:,} changed, {_plural(r.batches, 'batch')}")
    if r.resumed:
        text += f" (this run: {run_rows:,} rows in {_plural(run_batches, 'batch')})"
    text += f", {_seconds(r.seconds)} ({rate:,.0f} rows/s)"
    if run_batches:
        text += f", slowest batch {r.slowest_batch_ms:,.0f} ms (#{r.slowest_batch})"
    return text


# =========================================================================== the step


@dataclass
class _Step:
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
    _cost: float | None = field(default=None, init=False)  # smoothed ms per row

    # ---------------------------------------------------------------- entry
    def run(self) -> StepResult:
        ctx = _migration_context()
        if self.connection is None and ctx is None:
            raise _fail(
                f"{self.kind} step called outside an Alembic migration: call it inside a "
                "revision's upgrade(), or pass connection=... (and step='name')"
            )
        in_migration = ctx is not None and (
            self.connection is None or self.connection is ctx.connection
        )
        if not in_migration:
            ctx = None
        data, source = _load_data_config(ctx, self.config)
        self.opts = _settings(data, self.settings, source)
        self._check_inputs()
        self.revision_id, self.step_name = self._identity(ctx)
        if ctx is not None and ctx.as_sql:
            return self._render_offline(ctx)
        conn = self.connection if self.connection is not None else ctx.connection  # type: ignore[union-attr]
        return self._run_online(ctx, conn)

    # ---------------------------------------------------------------- inputs
    def _table_name(self) -> str:
        return self.table if isinstance(self.table, str) else self.table.name

    def _check_inputs(self) -> None:
        if not isinstance(self.table, (str, TableClause)) or isinstance(self.table, sa.Alias):
            raise _fail(f"table must be a table name, sa.Table or sa.table(), got "
                        f"{type(self.table).__name__}")
        _check_where(self.where, self.kind)
        if self.kind == "update":
            if not isinstance(self.values, Mapping) or not self.values:
                raise _fail("batched_update needs values={'column': value, ...} with at "
                            "least one column")
            for col in self.values:
                if not isinstance(col, (str, ColumnClause)):
                    raise _fail(f"values= keys must be column names, got {col!r}")
        if self.kind == "backfill":
            if not callable(self.fn):
                raise _fail(f"backfill needs a function fn(rows) -> new values, got {self.fn!r}")
            if isinstance(self.columns, str):
                raise _fail(f"columns= must be a list of column names, got the string "
                            f"{self.columns!r}; write columns=[{self.columns!r}]")
        if self.step is not None and (not isinstance(self.step, str) or not self.step.strip()):
            raise _fail(f"step= must be a non-empty name, got {self.step!r}")
        if self.step is not None and len(self.step) > 200:
            raise _fail(f"step= name is longer than 200 characters: {self.step[:40]!r}...")

    def _identity(self, ctx: Any) -> tuple[str, str]:
        base = f"{self.kind} {self._table_name()}"
        if ctx is None:
            if self.step is None:
                raise _fail(
                    f"{base}: outside an Alembic migration, name the step (step='...'): the "
                    "name is how a rerun finds its checkpoint"
                )
            return self.revision or "", self.step
        running = _running_revision(ctx)
        if self.revision is not None:
            running = (self.revision, running[1] if running else True)
        if running is None:
            raise _fail(f"{base}: cannot tell which revision is running; pass revision='...'")
        revision, is_upgrade = running
        steps = _RUNS.setdefault(ctx, {}).setdefault((revision, is_upgrade), _RevisionSteps())
        self.run_steps = steps
        self.run_key = (revision, is_upgrade)
        if self.step is not None:
            name = self.step
        else:
            n = steps.counts.get(base, 0) + 1
            steps.counts[base] = n
            name = base if n == 1 else f"{base} #{n}"
        if not is_upgrade:
            name = f"downgrade: {name}"
        if name in steps.names:
            raise _fail(f"step name '{name}' is used twice in revision {revision}; give "
                        "each step its own step='...'")
        steps.names.add(name)
        return revision, name

    @property
    def label(self) -> str:
        rev = f" (revision {self.revision_id})" if self.revision_id else ""
        return f"step '{self.step_name}'{rev}"

    # ---------------------------------------------------------------- resolution
    def _target(self, conn: Connection | None) -> tuple[TableClause, list[str]]:
        """The table to work on, with the types the script gave, and the key to walk."""
        user = None if isinstance(self.table, str) else self.table
        name = self._table_name()
        schema = self.schema if self.schema is not None else getattr(user, "schema", None)
        user_cols: dict[str, Any] = {c.name: c.type for c in user.c} if user is not None else {}
        if conn is None:  # offline: no database to reflect
            names = dict(user_cols)
            for col in (self.values or {}):
                names.setdefault(col if isinstance(col, str) else col.name, sa.types.NullType())
            if self.where is not None:
                for el in visitors.iterate(self.where):
                    if isinstance(el, ColumnClause) and not el.is_literal and (
                        el.table is None or getattr(el.table, "name", None) == name
                    ):
                        names.setdefault(el.name, el.type)
            target = sa.table(name, *[sa.column(n, t) for n, t in names.items()], schema=schema)
            return target, []
        try:
            reflected = sa.Table(name, sa.MetaData(), autoload_with=conn, schema=schema)
        except sa_exc.NoSuchTableError:
            where = f" in schema '{schema}'" if schema else ""
            raise _fail(f"table '{name}' does not exist{where}") from None
        key = _choose_key(reflected, self.key)
        cols = []
        for col in reflected.columns:
            type_ = user_cols.get(col.name)
            if type_ is None or isinstance(type_, sa.types.NullType):
                type_ = col.type
            cols.append(sa.column(col.name, type_))
        return sa.table(name, *cols, schema=schema), key

    def _statement_parts(self, target: TableClause, backend: str, key: list[str]) -> None:
        self.target = target
        self.key_cols = [target.c[k] for k in key]
        self.where_expr = None
        if self.where is not None:
            _check_text_literals(self.where, backend, "where=")
            self.where_expr = _adapt(self.where, target, "where=")
        self.set_values: dict[str, Any] = {}
        for col, value in (self.values or {}).items():
            cname = col if isinstance(col, str) else col.name
            if cname not in target.c:
                raise _fail(f"values= sets column '{cname}', which table '{target.name}' does "
                            f"not have (columns: {', '.join(target.c.keys())})")
            if cname in key:
                raise _fail(
                    f"values= changes key column '{cname}'. Changing the key the batches walk "
                    "on moves rows ahead of the cursor, so they are processed twice or "
                    "skipped. Walk on another unique key (key=...) instead."
                )
            if isinstance(value, ClauseElement):
                _check_text_literals(value, backend, f"values['{cname}']")
                value = _adapt(value, target, f"values['{cname}']")
            elif not isinstance(target.c[cname].type, sa.types.NullType):
                value = sa.literal(value, target.c[cname].type)
            else:
                value = sa.literal(value)
            self.set_values[cname] = value
        if self.kind == "backfill":
            wanted = list(self.columns) if self.columns is not None else list(target.c.keys())
            for cname in wanted:
                if cname not in target.c:
                    raise _fail(f"columns= names '{cname}', which table '{target.name}' does "
                                f"not have (columns: {', '.join(target.c.keys())})")
            self.read_cols = [target.c[k] for k in key] + [
                target.c[c] for c in wanted if c not in key
            ]

    # ---------------------------------------------------------------- offline
    def _render_offline(self, ctx: Any) -> StepResult:
        out = ctx.impl.static_output
        result = StepResult(self.revision_id, self.step_name, offline=True, skipped=True)
        head = f"-- sluice.data {self.kind} {self.label} on table {self._table_name()}:"
        if self.kind == "backfill":
            fn_name = getattr(self.fn, "__qualname__", repr(self.fn))
            out("\n".join([
                head,
                f"-- NOT RENDERED: it runs the Python function {fn_name}() over the rows, "
                "which cannot be expressed as SQL.",
                "-- This step must run online (alembic upgrade without --sql). Applying this "
                "script alone leaves the step undone.",
            ]))
            print(f"sluice.data: WARNING: {self.label}: backfill cannot be rendered in --sql "
                  "mode; run this revision online (alembic upgrade) or the data stays as is",
                  file=sys.stderr)
            return result
        target, _ = self._target(None)
        self._statement_parts(target, _backend(ctx), [])
        if self.kind == "update":
            stmt: Any = sa.update(target).values(self.set_values)
        else:
            stmt = sa.delete(target)
        if self.where_expr is not None:
            stmt = stmt.where(self.where_expr)
        try:
            sql = str(stmt.compile(dialect=ctx.dialect,
                                   compile_kwargs={"literal_binds": True}))
        except sa_exc.CompileError as exc:
            raise _fail(f"{self.label}: cannot render as SQL for --sql: {exc}") from None
        out("\n".join([
            head,
            "-- Batching, throttling and checkpoints need an online run (alembic upgrade "
            "without --sql).",
            "-- Rendered as ONE statement: it locks every row it changes until the "
            "transaction commits.",
            " ".join(sql.split()) + ctx.impl.command_terminator,
        ]))
        return result

    # ---------------------------------------------------------------- online
    def _run_online(self, ctx: Any, conn: Connection) -> StepResult:
        backend = _backend(conn)
        started_in_tx = conn.in_transaction()
        if ctx is None and started_in_tx:
            raise _fail(
                f"{self.label}: the connection has a transaction in progress. Each batch "
                "commits on its own, which would commit your work half-way: commit or roll "
                "back first (or call this inside upgrade() without connection=)."
            )
        if ctx is not None and in_external_transaction(ctx):
            raise _fail(
                f"{self.label}: env.py runs the migrations inside a transaction it opened "
                "itself (connection.begin()), which a batched step cannot commit per batch. "
                "Use 'with context.begin_transaction():' in env.py instead."
            )
        # Everything that can refuse the step happens here, before any row is touched.
        target, key = self._target(conn)
        self._statement_parts(target, backend, key)
        total = _estimate_rows(conn, target, backend)
        store = _Store(self.opts.progress_table)
        if ctx is None:
            if conn.in_transaction():  # reflection autobegan: nothing to keep
                conn.rollback()
            tx: _Tx = _ExplicitTx(conn, backend) if _autocommit(conn) else _Tx(conn, backend)
            block: Any = nullcontext()
        else:
            steps = self.run_steps
            if not steps.cleanup_registered:
                _register_cleanup(ctx, self.revision_id, store, self.run_key)
                steps.cleanup_registered = True
            block = ctx.autocommit_block()
            tx = _ExplicitTx(conn, backend)
        with block:
            if ctx is not None:
                conn = ctx.connection  # autocommit_block swaps in an AUTOCOMMIT connection
                tx.conn = conn
            return self._walk(conn, tx, store, total, backend)

    def _walk(self, conn: Connection, tx: _Tx, store: _Store, total: int | None,
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
            print(f"sluice.data: {self.label} already finished at {when} UTC "
                  f"({row.rows_done:,} rows); skipping", file=sys.stderr)
            return result
        last: tuple[Any, ...] | None = None
        if row is not None:
            result.resumed = row.batches > 0
            result.rows_scanned, result.rows_changed = row.rows_done, row.rows_changed
            result.batches = row.batches
            last = decode_key(row.last_key) if row.last_key else None
        reporter = _Reporter(self.label, total, result.rows_scanned,
                             interval_s=opts.log_interval_s)
        if result.resumed:
            reporter.say(f"sluice.data: {self.label}: resuming from the checkpoint after key "
                         f"{list(last or ())!r} ({result.rows_scanned:,} rows done in "
                         f"{_plural(result.batches, 'batch')})")
        else:
            about = f"~{total:,}" if total is not None else "an unknown number of"
            reporter.say(f"sluice.data: {self.label}: starting, {about} rows, batches of "
                         f"{opts.batch_size:,}")
        size = opts.batch_size
        t_start = time.monotonic()
        run_rows = run_batches = 0
        restore = self._session_lock_timeout(conn, tx, backend)
        try:
            while True:
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
                if self.on_batch is not None:
                    info = BatchInfo(result.batches, scanned, changed, ms, size_used, last)
                    try:
                        self.on_batch(info)
                    except Exception as exc:
                        raise self._stopped(exc, "in on_batch", result, last) from exc
                if opts.pause_ms:
                    time.sleep(opts.pause_ms / 1000)
            tx.begin()
            try:
                store.finish(conn, rev, name, result.batches)
                tx.commit()
            except BaseException:
                _quiet_rollback(tx)
                raise
        except KeyboardInterrupt:
            reporter.close()
            print(f"sluice.data: {self.label} interrupted; the checkpoint keeps "
                  f"{result.rows_scanned:,} rows done. Rerun the upgrade to resume.",
                  file=sys.stderr)
            raise
        finally:
            reporter.close()
            restore()
        result.seconds = time.monotonic() - t_start
        reporter.say(_summary(self.label, result, run_batches, run_rows))
        return result

    def _open_checkpoint(self, conn: Connection, tx: _Tx, store: _Store) -> Any:
        """The step's checkpoint row (None when this run created it).

        Two runs of the same step that start together both find no table or no row and
        both create it: one of them gets a duplicate (or, on PostgreSQL, an aborted
        transaction). It looks again once; what it finds then is a resume, which the
        batch count in the checkpoint guards. A second failure is one line, never a
        traceback."""
        rev, name = self.revision_id, self.step_name
        for attempt in (1, 2):
            tx.begin()
            try:
                store.ensure(conn)
                row = store.load(conn, rev, name)
                if row is None:
                    store.insert(conn, rev, name)
                tx.commit()
                return row
            except sa_exc.DBAPIError as exc:
                _quiet_rollback(tx)
                if attempt == 1:
                    continue
                if isinstance(exc, sa_exc.IntegrityError):
                    raise _fail(
                        f"the checkpoint of step '{name}' (revision {rev}) was created by "
                        "another process at the same moment: another process is running "
                        "the same step. Nothing was changed; let the other run finish, or "
                        "stop it and rerun.") from None
                raise _fail(f"{self.label}: cannot open its checkpoint in "
                            f"{store.name}: {_first_line(exc)}") from None
            except BaseException:
                _quiet_rollback(tx)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

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

    # ---------------------------------------------------------------- lock timeouts
    def _session_lock_timeout(self, conn: Connection, tx: _Tx,
                              backend: str) -> Callable[[], None]:
        """MySQL's lock wait timeouts are per session: set them for the step, restore after."""
        ms = self.opts.lock_timeout_ms
        if ms is None or backend != "mysql":
            return lambda: None
        seconds = max(1, math.ceil(ms / 1000))

        def set_timeouts(innodb: int, mdl: int) -> None:
            tx.begin()
            try:
                conn.exec_driver_sql(f"SET SESSION innodb_lock_wait_timeout = {int(innodb)}")
                conn.exec_driver_sql(f"SET SESSION lock_wait_timeout = {int(mdl)}")
                tx.commit()
            except BaseException:
                _quiet_rollback(tx)
                raise

        tx.begin()
        old = conn.exec_driver_sql(
            "SELECT @@SESSION.innodb_lock_wait_timeout, @@SESSION.lock_wait_timeout"
        ).one()
        tx.commit()
        set_timeouts(seconds, seconds)

        def restore() -> None:
            try:
                set_timeouts(int(old[0]), int(old[1]))
            except sa_exc.DBAPIError:
                pass

        return restore

    # ---------------------------------------------------------------- one batch
    def _batch_with_retries(
        self, conn: Connection, tx: _Tx, store: _Store, backend: str,
        last: tuple[Any, ...] | None, size: int, result: StepResult,
    ) -> tuple[tuple[Any, ...], int, int, float, int] | None:
        attempt = 0
        while True:
            t0 = time.perf_counter()
            tx.begin()
            try:
                if backend == "postgresql":
                    self._postgres_batch_settings(conn)
                found = self._next_range(conn, backend, last, size)
                if found is None:
                    tx.rollback()
                    return None
                upper, scanned = found
                changed = self._apply(conn, backend, last, upper)
                store.advance(conn, self.revision_id, self.step_name,
                              expected_batches=result.batches, last_key=encode_key(upper),
                              scanned=scanned, changed=changed)
                tx.commit()
                return upper, scanned, changed, (time.perf_counter() - t0) * 1000, size
            except BaseException as exc:
                # Roll back on anything, Ctrl-C included: whoever commits the connection
                # next (Alembic, at the end of autocommit_block) must not commit half a batch.
                _quiet_rollback(tx)
                if not isinstance(exc, Exception):
                    raise
                if not _is_lock_error(exc):
                    if isinstance(exc, DataMigrationError):
                        raise
                    raise self._stopped(exc, f"in batch {result.batches + 1}", result,
                                        last) from exc
                attempt += 1
                if attempt > self.opts.max_retries:
                    raise LockRetriesExhausted(
                        f"sluice.data: {self.label}: batch {result.batches + 1} could not get "
                        f"its row locks within {self.opts.lock_timeout_ms or 'the lock'} ms "
                        f"after {self.opts.max_retries} retries ({_first_line(exc)}). The "
                        f"checkpoint is kept: {result.rows_scanned:,} rows done, resuming "
                        f"after key {list(last or ())!r}. Find what holds the locks (on "
                        "PostgreSQL: SELECT pid, state, query FROM pg_stat_activity WHERE "
                        "wait_event_type = 'Lock' OR state = 'idle in transaction'; on MySQL: "
                        "SHOW ENGINE INNODB STATUS), let it finish, then rerun the upgrade. "
                        "Raise lock_timeout_ms or max_retries only if the blocker is expected."
                    ) from exc
                size = max(1, size // 2)
                backoff = min(10.0, 0.05 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
                time.sleep(backoff)

    def _postgres_batch_settings(self, conn: Connection) -> None:
        """Per-batch settings, reset by COMMIT/ROLLBACK.

        ``synchronous_commit = off``: a batch's COMMIT does not wait for the WAL flush.
        That is safe here: the batch and its checkpoint are one transaction, and a server
        crash can only lose a suffix of the WAL, so the lost batches lose their
        checkpoints too and are redone by the rerun. It saves an fsync per batch.
        """
        sql = "SET LOCAL synchronous_commit = off"
        if self.opts.lock_timeout_ms is not None:
            sql += f"; SET LOCAL lock_timeout = '{int(self.opts.lock_timeout_ms)}ms'"
        conn.exec_driver_sql(sql)

    def _stopped(self, exc: BaseException, where: str, result: StepResult,
                 last: tuple[Any, ...] | None) -> DataMigrationError:
        origin = ""
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None and not isinstance(exc, sa_exc.DBAPIError):
            origin = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        return DataMigrationError(
            f"sluice.data: {self.label} stopped {where}: {type(exc).__name__}: "
            f"{_first_line(exc)}{origin}. The failed batch was rolled back; the checkpoint "
            f"keeps {result.rows_scanned:,} rows done (after key {list(last or ())!r}). Fix "
            "the cause and rerun the upgrade to resume from there."
        )

    def _next_range(self, conn: Connection, backend: str, last: tuple[Any, ...] | None,
                    size: int) -> tuple[tuple[Any, ...], int] | None:
        """The upper key of the next batch and how many keys the batch spans."""
        cols = self.key_cols
        after = _keyset_after(cols, last, backend)
        row = conn.execute(
            sa.select(*cols).where(after).order_by(*cols).limit(1).offset(size - 1)
        ).first()
        if row is not None:
            return tuple(row), size
        row = conn.execute(
            sa.select(*cols).where(after).order_by(*[c.desc() for c in cols]).limit(1)
        ).first()
        if row is None:
            return None
        upper = tuple(row)
        count = conn.execute(
            sa.select(sa.func.count()).select_from(self.target)
            .where(after, _keyset_upto(cols, upper, backend))
        ).scalar()
        return upper, int(count or 0)

    def _apply(self, conn: Connection, backend: str, last: tuple[Any, ...] | None,
               upper: tuple[Any, ...]) -> int:
        cols = self.key_cols
        cond = sa.and_(_keyset_after(cols, last, backend), _keyset_upto(cols, upper, backend))
        if self.where_expr is not None:
            cond = sa.and_(cond, self.where_expr)
        if self.kind == "update":
            res = conn.execute(sa.update(self.target).where(cond).values(self.set_values))
            return int(res.rowcount or 0)
        if self.kind == "delete":
            res = conn.execute(sa.delete(self.target).where(cond))
            return int(res.rowcount or 0)
        return self._apply_backfill(conn, cond)

    def _apply_backfill(self, conn: Connection, cond: Any) -> int:
        assert self.fn is not None
        rows = [dict(r._mapping) for r in conn.execute(
            sa.select(*self.read_cols).where(cond).order_by(*self.key_cols).with_for_update()
        )]
        if not rows:
            return 0
        out = self.fn([dict(r) for r in rows])
        if isinstance(out, (str, bytes, Mapping)) or not isinstance(out, Sequence):
            raise _fail(f"{self.label}: fn must return a list with one entry per row (a dict "
                        f"of new values or None), got {type(out).__name__}")
        if len(out) != len(rows):
            raise _fail(f"{self.label}: fn got {len(rows)} rows and returned {len(out)} "
                        "entries; return one entry per row (a dict of new values or None)")
        key_names = [c.name for c in self.key_cols]
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row, new in zip(rows, out, strict=True):
            if new is None:
                continue
            if not isinstance(new, Mapping):
                raise _fail(f"{self.label}: fn returned {type(new).__name__} {new!r} for a "
                            "row; return a dict of new values or None")
            changes: dict[str, Any] = {}
            for cname, value in new.items():
                if cname not in self.target.c:
                    raise _fail(f"{self.label}: fn returned column '{cname}', which table "
                                f"'{self.target.name}' does not have")
                if cname in key_names:
                    if value != row[cname]:
                        raise _fail(f"{self.label}: fn changed key column '{cname}' "
                                    f"({row[cname]!r} -> {value!r}); keys cannot change")
                    continue
                changes[cname] = value
            if not changes:
                continue
            cols = tuple(sorted(changes))
            params = {f"v_{i}": changes[c] for i, c in enumerate(cols)}
            params.update({f"k_{i}": row[k] for i, k in enumerate(key_names)})
            groups.setdefault(cols, []).append(params)
        changed = 0
        for cols, params_list in groups.items():
            stmt = (
                sa.update(self.target)
                .where(*[c == sa.bindparam(f"k_{i}", type_=c.type)
                         for i, c in enumerate(self.key_cols)])
                .values({c: sa.bindparam(f"v_{i}", type_=self.target.c[c].type)
                         for i, c in enumerate(cols)})
            )
            conn.execute(stmt, params_list)
            changed += len(params_list)
        return changed


def _quiet_rollback(tx: _Tx) -> None:
    try:
        tx.rollback()
    except Exception:
        pass


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
