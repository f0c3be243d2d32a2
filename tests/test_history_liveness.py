"""``sluice history`` tells a run that is still going from one whose process is gone.

A SIGKILLed ``sluice upgrade`` (or a machine that died) leaves its ``sluice_history`` rows
``pending``/``running`` until the next run takes the migration lock and closes them. Until
then history must not show them as running: a row is shown as running only while the run
that wrote it still holds its lock session; when that session is provably gone it is
shown as interrupted; when Sluice cannot tell (a reader that may not see the lock holder),
it says so instead of guessing. The rows themselves are rewritten by the next run, which
holds the lock (``audit.reconcile_stale``); history only reads.
"""

from __future__ import annotations

import json
import re
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support import faults
from tests.support.cli import run_cli


def _history(ini: Path, url: str, *args: str) -> Any:
    result = run_cli(["history", "-c", str(ini), "--url", url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "json" in args else result.stdout


def _row(ini: Path, url: str, revision: str) -> dict[str, Any]:
    entries = _history(ini, url, "--format", "json")["entries"]
    return next(e for e in entries if e["revision"] == revision)


def _line(text: str, revision: str) -> str:
    return next(line for line in text.splitlines()
                if re.search(rf" (upgrade|downgrade) +{revision} ", line))


def _paused_run(tmp_path: Path, url: str) -> tuple[Path, Any]:
    """A run paused inside r0002, its audit rows written (``running`` on PostgreSQL and
    MariaDB; on SQLite the progress stays in memory, so its rows are ``pending``)."""
    ini = faults.make_project(tmp_path / "p", faults.instrumented_chain(3))
    faults.create_ran_table(url)
    a = faults.start(ini, url, tmp_path, "a", SLUICE_FAULT_PAUSE="r0002")
    faults.wait_until(lambda: (tmp_path / "paused").exists(), "A to pause in r0002", [a])
    opened = "pending" if url.startswith("sqlite") else "running"
    faults.wait_until(lambda: any(e.revision == "r0002" and e.status == opened
                                  for e in faults.history(url)), "r0002's audit row", [a])
    return ini, a


def test_a_killed_run_is_shown_as_interrupted_not_running(tmp_path: Path,
                                                          db_url: str) -> None:
    ini, a = _paused_run(tmp_path, db_url)
    recorded = "pending" if db_url.startswith("sqlite") else "running"
    try:
        live = _row(ini, db_url, "r0002")
        assert live["status"] == recorded, live
        assert _line(_history(ini, db_url), "r0002").rstrip().endswith(recorded)
    finally:
        a.send_signal(signal.SIGKILL)
        a.wait(timeout=60)
        a.communicate()

    # the server notices the closed socket on its own: a moment at most
    deadline = time.monotonic() + 20
    while (row := _row(ini, db_url, "r0002"))["status"] != "interrupted" \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert row["status"] == "interrupted", row
    assert (live["recorded_status"], live["process"]["state"]) == (recorded, "alive"), live
    assert row["recorded_status"] == recorded
    assert row["process"]["state"] == "gone"
    text = _history(ini, db_url)
    line = _line(text, "r0002")
    assert line.rstrip().endswith("interrupted (process gone)"), text
    assert " running" not in line and " pending" not in line, text
    assert "the next `sluice upgrade` closes" in text, text
    # r0003 was never reached by the dead run: it is not shown as waiting to run either
    assert _row(ini, db_url, "r0003")["status"] == "interrupted"

    # the next run takes the lock and rewrites the rows (it has done so since before
    # history learned to tell): then the recorded status is the final one
    rerun = faults.start(ini, db_url, tmp_path, "rerun")
    assert rerun.wait(timeout=120) == 0, (tmp_path / "rerun.err").read_text()
    rerun.communicate()
    assert "died before finishing" in (tmp_path / "rerun.err").read_text()
    first = min(_history(ini, db_url, "--format", "json")["entries"], key=lambda e: e["id"])
    closed = [e for e in _history(ini, db_url, "--format", "json")["entries"]
              if e["run_id"] == first["run_id"]]
    assert all(e["status"] == e["recorded_status"] and e["process"] is None for e in closed)
    assert {e["revision"]: e["status"] for e in closed}["r0002"] == "failed"


def test_a_finished_history_has_no_process_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    ini = faults.make_project(tmp_path / "p", faults.instrumented_chain(2))
    faults.create_ran_table(url)
    run = faults.start(ini, url, tmp_path, "a")
    assert run.wait(timeout=60) == 0, (tmp_path / "a.err").read_text()
    run.communicate()
    entries = _history(ini, url, "--format", "json")["entries"]
    assert [(e["status"], e["recorded_status"], e["process"]) for e in entries] == [
        ("succeeded", "succeeded", None)] * 2


@pytest.mark.postgres
def test_a_reader_that_cannot_see_the_lock_holder_says_it_cannot_tell(
        tmp_path: Path, pg_url: str) -> None:
    """A role that may read sluice_history but not sluice_lock_holder: the dead run's row
    is not called interrupted (nor running, as if that were known): liveness unknown,
    and why, with the GRANT that would let it tell."""
    ini, a = _paused_run(tmp_path, pg_url)
    a.send_signal(signal.SIGKILL)
    a.wait(timeout=60)
    a.communicate()
    role = f"sluice_hr_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
            conn.exec_driver_sql(f"GRANT SELECT ON sluice_history TO {role}")
        url = sa.make_url(pg_url).set(username=role).render_as_string(hide_password=False)
        row = _row(ini, url, "r0002")
        assert (row["status"], row["process"]["state"]) == ("running", "unknown"), row
        assert "sluice_lock_holder" in row["process"]["reason"]
        assert f'GRANT SELECT ON public.sluice_lock_holder TO "{role}";' \
            in row["process"]["reason"]
        text = _history(ini, url)
        assert _line(text, "r0002").rstrip().endswith("running (process unknown)"), text
        assert "cannot tell whether the run that wrote this row is still going" in text
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()
