"""The row of a dead run that had committed ``sluice.data`` batches reads as a sentence
(``sluice history`` prints it as it is)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from sluice.runner import audit, datacommit


def test_a_dead_run_with_committed_batches_reads_as_a_sentence(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        with engine.connect() as conn:
            audit.ensure_table(conn)
            run = audit.RunRecord(run_id="dead", environment="dev", username="u", host="h",
                                  pid=1, via="sluice", steps=[audit.StepRecord(
                                      "r0003", "upgrade", "r0002", "r0003", None)])
            audit.insert_pending(conn, run)
            conn.execute(sa.text("UPDATE sluice_history SET status = 'running'"))
            conn.exec_driver_sql(
                "CREATE TABLE sluice_data_progress (revision TEXT, step TEXT, rows_done INT, "
                "batches INT, finished TEXT, started TEXT)")
            conn.exec_driver_sql(
                "INSERT INTO sluice_data_progress VALUES ('r0003', 'fill', 1100, 11, NULL, "
                "'2026-01-01 00:01')")
            conn.commit()
            audit.reconcile_stale(conn, set(), committed=datacommit.describer(conn))
            (row,) = audit.read_history(conn)
    finally:
        engine.dispose()
    error = row.error or ""
    assert "the version table does not record it; sluice.data step 'fill' committed" in error
    assert "tabledoes" not in error
