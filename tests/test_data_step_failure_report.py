"""A sluice.data step that stops part way on MySQL/MariaDB: its batches committed with
their checkpoint, so the report says a rerun resumes it. It said "failed after 0 of its
statements had been applied ... Do not re-run the upgrade ... stamp", which would have
left the rest of the rows never updated."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.cli import SLUICE, run_process
from tests.support.runner import Rev, make_project

CREATE = '''op.create_table("items", sa.Column("id", sa.Integer(), primary_key=True),
                sa.Column("n", sa.Integer(), nullable=False))
op.bulk_insert(sa.table("items", sa.column("id"), sa.column("n")),
               [{"id": i, "n": 0} for i in range(1, 101)])'''

BUMP = '''import os
from sluice.data import batched_update

items = sa.table("items", sa.column("id"), sa.column("n"))


def _stop(info):
    if os.environ.get("STOP_AT_BATCH") and info.number == int(os.environ["STOP_AT_BATCH"]):
        raise RuntimeError("stopped on purpose")


batched_update(items, {"n": items.c.n + 1}, step="bump n", batch_size=10,
               target_batch_ms=0, pause_ms=0, on_batch=_stop)'''


@pytest.mark.mysql
def test_a_data_step_stopped_part_way_is_resumed_by_a_rerun(tmp_path: Path,
                                                            mysql_url: str) -> None:
    ini = make_project(tmp_path / "proj", [Rev("r0001", CREATE, 'op.drop_table("items")'),
                                           Rev("r0002", BUMP)])
    env = {**os.environ, "STOP_AT_BATCH": "3"}
    done = run_process([SLUICE, "upgrade", "--url", mysql_url, "-c", ini], env=env)
    assert done.returncode == 1, done.stderr
    assert "Do not re-run" not in done.stderr and "stamp" not in done.stderr, done.stderr
    assert "the next run resumes them" in done.stderr, done.stderr
    env.pop("STOP_AT_BATCH")
    done = run_process([SLUICE, "upgrade", "--url", mysql_url, "-c", ini], env=env)
    assert done.returncode == 0, done.stderr
    engine = sa.create_engine(mysql_url)
    with engine.connect() as conn:
        counts = dict(conn.execute(sa.text("SELECT n, COUNT(*) FROM items GROUP BY n")).all())
    engine.dispose()
    assert counts == {1: 100}  # every row once: resumed, none twice


BACKFILL = '''items = sa.table("items", sa.column("id"), sa.column("n"))


def _double(rows):
    return [{"n": r["n"] * 2} for r in rows]


backfill(items, _double, columns=["n"], step="double n", batch_size=10)'''


def test_a_plan_does_not_warn_about_sql_nobody_asked_for(tmp_path: Path) -> None:
    # the plan's SQL preview renders offline: a backfill's "cannot be rendered in --sql
    # mode ... the data stays as is" read as a warning about the user's run
    ini = make_project(tmp_path / "proj", [
        Rev("r0001", CREATE, 'op.drop_table("items")'),
        Rev("r0002", BACKFILL, header="from sluice.data import backfill")])
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert run_process([SLUICE, "upgrade", "r0001", "--url", url, "-c", ini]).returncode == 0
    done = run_process([SLUICE, "plan", "--url", url, "-c", ini])
    assert done.returncode == 0, done.stderr
    assert "cannot be rendered in --sql mode" not in done.stdout + done.stderr
    asked = run_process([SLUICE, "upgrade", "--sql", "--url", url, "-c", ini])
    assert asked.returncode == 0, asked.stderr
    assert "cannot be rendered in --sql mode" in asked.stderr  # asked for SQL: said
