"""A ``sluice.data`` step that stops part way (its migration lock lost, its connection
killed, Ctrl-C, a lock timeout on the rerun): the step stops with its checkpoint kept,
the report and the audit row say what the checkpoints hold (rows and batches of which
step) and that a rerun resumes, never "nothing was applied", "Fix rN" or MySQL's DDL
advice to stamp the revision by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from sluice.runner import audit, datacommit
from sluice.runner.api import HistoryReport, history
from sluice.runner.run import MigrationFailed
from tests.support.runner import Rev, go, make_project, rows, version

CREATE = ('op.create_table("items", sa.Column("id", sa.Integer(), primary_key=True), '
          'sa.Column("n", sa.Integer(), nullable=False))\n'
          'op.bulk_insert(sa.table("items", sa.column("id"), sa.column("n")), '
          '[{"id": i, "n": 0} for i in range(1, 31)])')

HEADER = '''
import os
import time

from sluice.data import batched_update

items = sa.table("items", sa.column("id"), sa.column("n"))


def _server() -> sa.engine.Engine:
    return sa.create_engine(os.environ["SLUICE_T_URL"])


def kill(session: str) -> None:
    """End a server session from another connection, and wait until it is gone."""
    engine = _server()
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_terminate_backend(CAST(:p AS int))"),
                             {"p": session})
                gone = "SELECT count(*) FROM pg_stat_activity WHERE pid = CAST(:p AS int)"
            else:
                conn.exec_driver_sql(f"KILL {int(session)}")
                gone = ("SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = :p "
                        "AND COALESCE(COMMAND, '') <> 'Killed'")
            for _ in range(500):
                if not conn.execute(sa.text(gone), {"p": session}).scalar():
                    return
                time.sleep(0.01)
    finally:
        engine.dispose()


def lock_session() -> str:
    engine = _server()
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                return str(conn.execute(sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE application_name LIKE "
                    "'sluice lock%' AND datname = current_database()")).scalar())
            from sluice.runner.lock_holder import lock_name
            name = lock_name(str(conn.exec_driver_sql("SELECT DATABASE()").scalar()))
            return str(conn.execute(sa.text("SELECT IS_USED_LOCK(:n)"), {"n": name}).scalar())
    finally:
        engine.dispose()
'''

STEP = '''batched_update(items, {{"n": items.c.n + 1}}, step="bump", batch_size=5,
               target_batch_ms=0, lock_timeout_ms=500, max_retries=1, on_batch={on_batch})'''

LOSE_LOCK = ('lock = lock_session()\n'
             + STEP.format(on_batch='lambda b: b.number == 2 and kill(lock)'))
KILL_MIGRATION = (
    'me = str(op.get_bind().exec_driver_sql("SELECT pg_backend_pid()" if '
    'op.get_bind().dialect.name == "postgresql" else "SELECT CONNECTION_ID()").scalar())\n'
    + STEP.format(on_batch='lambda b: b.number == 2 and kill(me)'))


CTRL_C = STEP.format(on_batch='(lambda b: b.number == 2 and os.environ.get("SLUICE_T_CTRL_C") '
                     'and (_ for _ in ()).throw(KeyboardInterrupt()))')


def project(tmp_path: Path, url: str, body: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SLUICE_T_URL", url)
    ini = make_project(tmp_path / "proj", [Rev(id="r0001", upgrade=CREATE),
                                           Rev(id="r0002", upgrade=body, header=HEADER)])
    assert go(ini, url, target="r0001").status == "applied"
    return ini


def fail(ini: Path, url: str, msgs: list[str] | None = None) -> MigrationFailed:
    with pytest.raises(MigrationFailed) as info:
        go(ini, url, msgs=msgs)
    return info.value


def bumped(url: str) -> list[int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.text("SELECT n FROM items ORDER BY id"))]
    finally:
        engine.dispose()


def checkpoint(url: str) -> tuple[int, int, bool]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT rows_done, batches, finished FROM "
                                       "sluice_data_progress WHERE step = 'bump'")).one()
            return int(row[0]), int(row[1]), row[2] is not None
    finally:
        engine.dispose()


@pytest.fixture(params=["postgresql", "mysql"])
def server_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url" if request.param == "postgresql"
                                       else "mysql_url"))


def test_a_lost_migration_lock_stops_the_step_between_batches(
        tmp_path: Path, server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ini = project(tmp_path, server_url, LOSE_LOCK, monkeypatch)
    failed = fail(ini, server_url)
    message = str(failed)
    assert failed.exit_code == 2
    assert message.startswith("lost the migration lock"), message
    # it stopped before batch 3: two batches of 5 committed, the rest untouched
    assert checkpoint(server_url) == (10, 2, False)
    assert bumped(server_url) == [1] * 10 + [0] * 20
    assert "nothing was applied" not in message and "rolled back" not in message
    assert "stopped in r0002" in message
    assert "step 'bump' committed 10 rows in 2 batches" in message
    assert "resumes from the checkpoint" in message
    row = next(r for r in rows(server_url) if r.revision == "r0002")
    assert row.status == "failed" and "migration lock" in (row.error or "")
    assert datacommit.from_record(row.statements) == [
        datacommit.StepProgress("bump", 10, 2, False)]
    # the rerun resumes: every row bumped exactly once
    assert go(ini, server_url).status == "applied"
    assert bumped(server_url) == [1] * 30 and version(server_url) == ["r0002"]


def test_a_killed_migration_session_is_reported_as_a_lost_connection(
        tmp_path: Path, server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ini = project(tmp_path, server_url, KILL_MIGRATION, monkeypatch)
    failed = fail(ini, server_url)
    message, hint = str(failed), failed.hint or ""
    assert "PendingRollbackError" not in message, message
    assert "lost its database connection" in message
    assert "step 'bump' committed 10 rows in 2 batches" in message
    assert "Fix r0002" not in hint and "resumes from the checkpoint" in hint, hint
    assert go(ini, server_url).status == "applied"
    assert bumped(server_url) == [1] * 30


def test_mysql_rerun_after_an_interrupted_data_step_gets_no_ddl_advice(
        tmp_path: Path, mysql_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ini = project(tmp_path, mysql_url, CTRL_C, monkeypatch)
    monkeypatch.setenv("SLUICE_T_CTRL_C", "1")
    msgs: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        go(ini, mysql_url, msgs=msgs)
    # the UPDATE in flight was rolled back with its batch: nothing "may have committed"
    assert not any("may have committed" in m for m in msgs), msgs
    monkeypatch.delenv("SLUICE_T_CTRL_C")
    engine = sa.create_engine(mysql_url)
    try:
        with engine.connect() as blocker:  # holds a row lock the next batch needs
            blocker.execute(sa.text("UPDATE items SET n = n WHERE id = 12"))
            failed = fail(ini, mysql_url)
            blocker.rollback()
    finally:
        engine.dispose()
    message, hint = str(failed), failed.hint or ""
    assert "committed each DDL statement" not in hint, hint
    assert "stamp" not in hint, hint
    assert "step 'bump' committed 10 rows in 2 batches" in message, message
    assert "resumes from the checkpoint" in hint
    assert go(ini, mysql_url).status == "applied"
    assert bumped(mysql_url) == [1] * 30


def test_history_says_what_the_checkpoints_hold() -> None:
    entry = audit.HistoryEntry(
        id=1, run_id="x", revision="r0003", from_revision="r0002", to_revision="r0003",
        direction="upgrade", environment="dev", user="u", host="h", pid=1, via="sluice",
        started=None, finished=None, duration_ms=5, status="failed", error="stopped",
        statements=datacommit.as_record([datacommit.StepProgress("bump n", 55000, 11, False)]),
        checksum=None)
    text = HistoryReport("sqlite://", [entry]).render()
    assert "partially applied" not in text
    assert "step 'bump n' committed 55,000 rows in 11 batches" in text
    assert "resumes from the checkpoint" in text
    entry.statements = {"committed_part": True}  # a row an older Sluice wrote
    text = HistoryReport("sqlite://", [entry]).render()
    assert "0 statement(s) applied" not in text and "a rerun resumes" in text


def test_a_dead_run_s_row_names_the_steps_it_committed(tmp_path: Path) -> None:
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
                "INSERT INTO sluice_data_progress VALUES ('r0003', 'bump n', 200, 40, "
                "'2026-01-01', '2026-01-01 00:00'), ('r0003', 'fill', 12, 12, NULL, "
                "'2026-01-01 00:01')")
            conn.commit()
            audit.reconcile_stale(conn, set(), committed=datacommit.describer(conn))
            (row,) = audit.read_history(conn)
    finally:
        engine.dispose()
    assert row.status == "failed"
    assert "shows it did not take effect" not in (row.error or "")
    assert "step 'bump n' finished (200 rows), step 'fill' committed 12 rows" in (row.error or "")
    assert [s.step for s in datacommit.from_record(row.statements)] == ["bump n", "fill"]


def test_history_of_an_unknown_revision_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ini = make_project(tmp_path / "proj", [Rev(id="r0001", upgrade=CREATE)])
    go(ini, url)
    text = history(ini, url=url, revision="nope").render()
    assert "yet" not in text
    assert "records revision nope (1 row of other revisions" in text, text


def test_the_opts_key_matches_the_data_step_s() -> None:
    from sluice.runner.session import BETWEEN_BATCHES

    step_source = (Path(__file__).parents[1] / "src" / "sluice" / "data" / "step.py").read_text()
    assert f'"{BETWEEN_BATCHES}"' in step_source


@pytest.mark.postgres
def test_plain_alembic_reads_the_configured_checkpoint_table(
        tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``alembic upgrade`` under the env.py guard reads the checkpoints where the data
    step writes them (``[data] progress_table``), not in the default table."""
    import subprocess
    import sys

    from tests.support.runner import SLUICE_TOML

    monkeypatch.setenv("SLUICE_T_URL", pg_url)
    toml = SLUICE_TOML.replace("[environments.test]\n",
                               "[environments.test]\nguard_alembic = true\n")
    toml += '\n[data]\nprogress_table = "deploy_progress"\n'
    ini = make_project(tmp_path / "proj", [Rev(id="r0001", upgrade=CREATE),
                                           Rev(id="r0002", upgrade=LOSE_LOCK, header=HEADER)],
                       toml=toml)
    ini.write_text(ini.read_text().replace(
        "sqlalchemy.url = sqlite:///%(here)s/app.db", f"sqlalchemy.url = {pg_url}"))
    alembic = [str(Path(sys.executable).with_name("alembic")), "-c", str(ini), "-x",
               "env=test", "upgrade"]
    first = subprocess.run([*alembic, "r0001"], capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr
    done = subprocess.run([*alembic, "head"], capture_output=True, text=True)
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in out, out
    assert "the checkpoint keeps 10 rows done" in out, out
    row = next(r for r in rows(pg_url) if r.revision == "r0002")
    assert datacommit.from_record(row.statements) == [
        datacommit.StepProgress("bump", 10, 2, False)], row
