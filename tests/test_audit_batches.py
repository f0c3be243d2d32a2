"""A run's audit rows on PostgreSQL through psycopg 3: the ``pending`` rows and the final
statuses are one statement each, their rows one JSON parameter (no column is adapted
element by element by the driver), and the rows are those the per-row batch of the other
drivers writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from psycopg.types.array import ListBinaryDumper, ListDumper
from sqlalchemy import create_engine, event, text

from sluice.runner import audit, audit_bulk


def _run() -> audit.RunRecord:
    started = dt.datetime(2026, 3, 1, 12, 30, 5, 123456)
    steps = [
        audit.StepRecord("r0001", "upgrade", None, "r0001", "a" * 64),
        audit.StepRecord("r0002", "upgrade", "r0001", "r0002", None),
        audit.StepRecord("r0003", "upgrade", "r0002", "r0003", "b" * 64),
    ]
    steps[0].status, steps[0].started = "succeeded", started
    steps[0].finished, steps[0].duration_ms = started.replace(microsecond=0), 877
    steps[1].status, steps[1].started = "failed", started.replace(second=9)
    steps[1].error = "OperationalError: relation «größe» \"x\" already exists; 'quoted'"
    steps[1].statements = {"applied": ["CREATE TABLE «t» (id int)"], "failed": None}
    steps[2].status, steps[2].error = "skipped", None  # never started: keeps its time
    return audit.RunRecord(audit.new_run_id(), "prod", "ci ü", "host-1", 42,
                           "sluice upgrade", steps)


COLUMNS = ("revision, from_revision, to_revision, direction, environment, username, host, "
           "pid, via, status, checksum, finished, duration_ms, error, statements")


def _rows(url: str, run_id: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                f"SELECT {COLUMNS}, started IS NOT NULL AS has_start FROM sluice_history "
                "WHERE run_id = :r ORDER BY revision"), {"r": run_id})]
    finally:
        engine.dispose()


@pytest.fixture
def conn(pg_url: str) -> Iterator[Any]:
    engine = create_engine(pg_url)
    try:
        with engine.connect() as c:
            audit.ensure_table(c)
            yield c
    finally:
        engine.dispose()


@pytest.fixture
def no_list_adapted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    adapted: list[str] = []
    for cls in (ListDumper, ListBinaryDumper):
        original = cls.dump

        def dump(self: Any, obj: Any, _original: Any = original) -> Any:
            adapted.append(type(self).__name__)
            return _original(self, obj)

        monkeypatch.setattr(cls, "dump", dump)
    return adapted


def test_a_run_s_rows_go_as_one_json_parameter_per_batch(
        pg_url: str, conn: Any, no_list_adapted: list[str]) -> None:
    sent: list[int] = []

    def on_statement(*args: Any) -> None:
        sent.append(1)

    event.listen(conn, "before_cursor_execute", on_statement)
    run = _run()
    audit.insert_pending(conn, run)
    audit.write_final(conn, run.steps)
    assert len(sent) == 2
    assert no_list_adapted == []
    rows = _rows(pg_url, run.run_id)
    assert [r[9] for r in rows] == ["succeeded", "failed", "skipped"]
    assert rows[2][11] is not None  # no end of its own: the time the run wrote it


def test_the_json_batch_writes_what_the_per_row_batch_writes(
        pg_url: str, conn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    batched, per_row = _run(), _run()
    # one clock for both write_final calls: a step without an end gets the call's time,
    # which would differ (by a second, across a boundary) between the two
    now = dt.datetime(2026, 3, 1, 12, 31, 0)
    monkeypatch.setattr(audit, "utcnow", lambda: now)
    audit.insert_pending(conn, batched)
    audit.write_final(conn, batched.steps)
    monkeypatch.setattr(audit_bulk, "supported", lambda c: False)
    audit.insert_pending(conn, per_row)
    audit.write_final(conn, per_row.steps)
    got, expected = _rows(pg_url, batched.run_id), _rows(pg_url, per_row.run_id)
    # the end of a step without one is the time of each write_final call
    assert [r[:11] + r[12:] for r in got] == [r[:11] + r[12:] for r in expected]
    assert [r[11] for r in got[:2]] == [r[11] for r in expected[:2]]
    assert got[0][11] == dt.datetime(2026, 3, 1, 12, 30, 5)
    assert got[1][11] == now  # the failed step had no end: the time of the write
    engine = create_engine(pg_url)
    try:
        with engine.connect() as c:
            starts = c.execute(text(
                "SELECT run_id, revision, started FROM sluice_history ORDER BY revision, id"
            )).all()
    finally:
        engine.dispose()
    by_run: dict[str, dict[str, Any]] = {}
    for run_id, revision, started in starts:
        by_run.setdefault(run_id, {})[revision] = started
    assert by_run[batched.run_id]["r0001"] == dt.datetime(2026, 3, 1, 12, 30, 5, 123456)
    assert by_run[batched.run_id]["r0002"] == by_run[per_row.run_id]["r0002"]
