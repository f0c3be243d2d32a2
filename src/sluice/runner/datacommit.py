"""What the ``sluice.data`` steps of a revision committed, as their checkpoint table says.

A revision with a data step is not atomic: each batch commits with its checkpoint, and a
rerun resumes after the last one. When such a revision fails, is interrupted or loses the
migration lock, the report and its audit row say what the checkpoints hold (rows and
batches of which step, finished or not) and that a rerun resumes: never "nothing was
applied", and never the DDL advice to stamp the revision by hand.

Read on Sluice's own (audit) connection, which outlives the migration's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import column, inspect, select, table
from sqlalchemy.engine import Connection

from sluice.owned import DATA_PROGRESS_TABLE


@dataclass(frozen=True)
class StepProgress:
    step: str
    rows_done: int
    batches: int
    finished: bool

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "rows_done": self.rows_done, "batches": self.batches,
                "finished": self.finished}


def committed_steps(conn: Connection, revision: str,
                    progress_table: str = DATA_PROGRESS_TABLE, *,
                    fresh: bool = True) -> list[StepProgress]:
    """The checkpoints of ``revision``'s steps (empty when there are none, or the table
    cannot be read). ``fresh``: ends the transaction ``conn`` is in first (no stale MySQL
    snapshot), and the read's; else reads inside it, leaving it open (a caller that has
    written in it, as :func:`~sluice.runner.audit.reconcile_stale` has)."""
    began = fresh or not conn.in_transaction()
    try:
        if fresh and conn.in_transaction():
            conn.rollback()
        if not inspect(conn).has_table(progress_table):
            return []
        t = table(progress_table, column("revision"), column("step"), column("rows_done"),
                  column("batches"), column("finished"), column("started"))
        rows = conn.execute(select(t.c.step, t.c.rows_done, t.c.batches, t.c.finished)
                            .where(t.c.revision == revision).order_by(t.c.started)).all()
    except Exception:  # noqa: BLE001 - a report without the checkpoints, never a traceback
        rows = []
    finally:
        try:
            if began and conn.in_transaction():
                conn.rollback()
        except Exception:  # noqa: BLE001 - a connection that is gone: nothing to end
            pass
    return [StepProgress(str(r.step), int(r.rows_done or 0), int(r.batches or 0),
                         r.finished is not None) for r in rows]


def from_record(statements: dict[str, Any] | None) -> list[StepProgress]:
    """The steps an audit row's ``statements`` recorded (see :func:`as_record`)."""
    out = []
    for s in (statements or {}).get("data_steps") or []:
        if isinstance(s, dict) and "step" in s:
            out.append(StepProgress(str(s["step"]), int(s.get("rows_done") or 0),
                                    int(s.get("batches") or 0), bool(s.get("finished"))))
    return out


def as_record(steps: list[StepProgress],
              statements: dict[str, Any] | None = None) -> dict[str, Any]:
    """``statements`` of an audit row with the data steps' checkpoints added."""
    return {**(statements or {}), "committed_part": True,
            "data_steps": [s.as_dict() for s in steps]}


def describe(steps: list[StepProgress], *, rerun: bool = True) -> str:
    """``sluice.data step 'bump n' committed 55,000 rows in 11 batches`` ..., one clause per
    step, and (``rerun``) what a rerun does."""
    parts = []
    for s in steps:
        if s.finished:
            parts.append(f"step '{s.step}' finished ({s.rows_done:,} rows)")
        else:
            parts.append(f"step '{s.step}' committed {s.rows_done:,} rows in {s.batches:,} "
                         f"batch{'' if s.batches == 1 else 'es'}")
    resume = ("a rerun skips the finished steps and resumes from the checkpoint"
              if any(not s.finished for s in steps) else "a rerun skips the finished steps")
    said = f"sluice.data {', '.join(parts)}"
    return f"{said} (checkpoints kept: {resume})" if rerun else said


def describer(conn: Connection, progress_table: str = DATA_PROGRESS_TABLE
              ) -> Callable[[str], list[StepProgress]]:
    """``committed_steps`` bound to ``conn`` and the table (for :func:`reconcile_stale`)."""
    return lambda revision: committed_steps(conn, revision, progress_table, fresh=False)
