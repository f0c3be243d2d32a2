"""The checkpoint table (``[tool.sluice.data] progress_table``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from sluice.data.dialects import quiet_rollback
from sluice.data.keys import encode_checkpoint, has_bound
from sluice.data.model import DataMigrationError, fail, first_line
from sluice.owned import DATA_PROGRESS_TABLE, refusal_hint, refused_table


class Store:
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

    def ensure(self, conn: Connection, label: str) -> None:
        if sa.inspect(conn).has_table(self.name):
            self.refuse_foreign(
                conn, f"{label}: its checkpoint table '{self.name}' ([tool.sluice.data] "
                "progress_table) is not one",
                "Set progress_table to a table of its own (default "
                f"'{DATA_PROGRESS_TABLE}'), which Sluice creates. Nothing was changed.")
            return
        try:
            self.table.create(conn, checkfirst=True)
        except sa_exc.DBAPIError:
            # another process created it in between: fine if it is there now
            if not sa.inspect(conn).has_table(self.name):
                raise

    def refuse_foreign(self, conn: Connection, head: str, advice: str) -> None:
        """Refuse the table of this name when it is not a checkpoint table (Alembic's
        version table, a table of the project): ``head`` names it, ``advice`` what to do."""
        have = {str(c["name"]).lower() for c in sa.inspect(conn).get_columns(self.name)}
        missing = [c.name for c in self.table.columns if c.name.lower() not in have]
        if missing:
            raise fail(f"{head}: it has no column {', '.join(missing)}; a checkpoint table "
                       f"has the columns {', '.join(self.table.columns.keys())}. {advice}")

    def may_update(self, conn: Connection) -> None:
        """Changes no row, but is refused to a role that may not update the checkpoints:
        every batch does, so such a role is refused before the first one."""
        t = self.table
        conn.execute(sa.update(t).where(sa.false()).values(batches=t.c.batches))

    def refusal(self, conn: Connection, exc: BaseException, label: str,
                doing: str = "open its checkpoint in", then: str = ""
                ) -> DataMigrationError | None:
        """``exc`` as the one-line error of a role refused a privilege on this table, with
        the GRANT that lets it (worked out on a connection of its own: ``conn`` is the
        migration's); None when ``exc`` is no such refusal."""
        if refused_table(exc, [self.name]) is None:
            return None
        hint = None
        try:
            with conn.engine.connect() as other:
                hint = refusal_hint(other, self.name, [self.name])
        except Exception:  # noqa: BLE001 - the message names the table anyway
            pass
        return DataMigrationError(f"sluice.data: {label}: cannot {doing} {self.name}: "
                                  f"{first_line(exc)}{then}", hint=hint)

    def load(self, conn: Connection, revision: str, step: str) -> Any:
        t = self.table
        return conn.execute(
            sa.select(t).where(t.c.revision == revision, t.c.step == step)
        ).first()

    def insert(self, conn: Connection, revision: str, step: str, last_key: str) -> None:
        now = utcnow()
        conn.execute(sa.insert(self.table).values(
            revision=revision, step=step, last_key=last_key, rows_done=0, rows_changed=0,
            batches=0, started=now, updated=now, finished=None,
        ))

    def open(self, conn: Connection, tx: Any, label: str, revision: str, step: str,
             bound: Callable[[], tuple[Any, ...] | None]
             ) -> tuple[Any, tuple[Any, ...] | None]:
        """The step's checkpoint row (None when this run created it) and ``bound()``, read
        in the same transaction when the step starts or its checkpoint has no bound (else
        None).

        Two runs of the same step that start together both find no table or no row and
        both create it: one of them gets a duplicate (or, on PostgreSQL, an aborted
        transaction). It looks again once; what it finds then is a resume, which the
        batch count in the checkpoint guards. A second failure is one line, never a
        traceback."""
        for attempt in (1, 2):
            tx.begin()
            try:
                self.ensure(conn, label)
                row = self.load(conn, revision, step)
                now = None
                if row is None or row.finished is None and not has_bound(row.last_key):
                    now = bound()
                if row is None:
                    self.insert(conn, revision, step, encode_checkpoint(None, now))
                self.may_update(conn)
                tx.commit()
                return row, now
            except sa_exc.DBAPIError as exc:
                quiet_rollback(tx)
                if attempt == 1:
                    continue
                if isinstance(exc, sa_exc.IntegrityError):
                    raise fail(
                        f"the checkpoint of step '{step}' (revision {revision}) was created "
                        "by another process at the same moment: another process is running "
                        "the same step. Nothing was changed; let the other run finish, or "
                        "stop it and rerun.") from None
                raise self.refusal(conn, exc, label) or fail(
                    f"{label}: cannot open its checkpoint in {self.name}: "
                    f"{first_line(exc)}") from None
            except BaseException:
                quiet_rollback(tx)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def rewrite_if_gone(self, conn: Connection, tx: Any, label: str, revision: str,
                        step: str, last_key: str, rows_done: int, rows_changed: int,
                        batches: int) -> bool:
        """After a failed batch: when the checkpoint table or the step's row is gone (a
        cleanup dropped it, someone deleted the row), write it again as this process knows
        it (its committed batches), so that a rerun resumes instead of applying the change
        to those rows a second time. True when it was written again."""
        try:
            tx.begin()
            self.ensure(conn, label)
            if self.load(conn, revision, step) is not None:
                tx.rollback()
                return False
            now = utcnow()
            conn.execute(sa.insert(self.table).values(
                revision=revision, step=step, last_key=last_key, rows_done=rows_done,
                rows_changed=rows_changed, batches=batches, started=now, updated=now,
                finished=None))
            tx.commit()
            return True
        except Exception:  # noqa: BLE001 - the step's own error says what happened
            try:
                tx.rollback()
            except Exception:  # noqa: BLE001 - a connection that is gone
                pass
            return False

    def advance(self, conn: Connection, revision: str, step: str, *, expected_batches: int,
                last_key: str, scanned: int, changed: int) -> None:
        """Record a batch; the batch count guards against a concurrent runner."""
        t = self.table
        res = conn.execute(
            sa.update(t)
            .where(t.c.revision == revision, t.c.step == step, t.c.batches == expected_batches)
            .values(last_key=last_key, rows_done=t.c.rows_done + scanned,
                    rows_changed=t.c.rows_changed + changed, batches=t.c.batches + 1,
                    updated=utcnow())
        )
        if res.rowcount != 1:
            raise fail(
                f"the checkpoint of step '{step}' (revision {revision}) moved under this "
                "process: another process is running the same step. This batch was rolled "
                "back; let the other run finish, or stop it and rerun."
            )

    def finish(self, conn: Connection, revision: str, step: str, expected_batches: int) -> None:
        t = self.table
        res = conn.execute(
            sa.update(t)
            .where(t.c.revision == revision, t.c.step == step, t.c.batches == expected_batches)
            .values(finished=utcnow(), updated=utcnow())
        )
        if res.rowcount != 1:
            raise fail(f"the checkpoint of step '{step}' (revision {revision}) moved under "
                        "this process: another process is running the same step")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
