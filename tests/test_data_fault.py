"""Fault test: SIGKILL a real `alembic upgrade` at random batches, over and over.

The revision under test runs three non-idempotent steps on ``items`` (``n = n + 1``,
``label = label || '!'`` in Python, and a delete). After every kill, the table must match
the checkpoints exactly: every row up to a step's checkpoint processed once, every row
after it untouched, ``rows_done`` equal to what was applied. Then an uninterrupted rerun
must finish with every row processed exactly once and the revision stamped.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from tests.support.project import cfg

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork() and SIGKILL")

HERE = Path(__file__).parent
FIXTURE = HERE / "fixtures" / "data" / "project"
FORKSERVER = HERE / "fixtures" / "data" / "forkserver.py"
ROWS = 600  # 360 batches: enough that 22 kills, each overshooting a little, never finish the run
KILLS = 22

REVISION = '''\
"""three non-idempotent steps

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa

from sluice.data import backfill, batched_delete, batched_update

revision = "0002"
down_revision = "0001"

items = sa.table("items", sa.column("id"), sa.column("n"), sa.column("label"))
FAST = dict(batch_size=5, pause_ms=2, target_batch_ms=0)


def upgrade() -> None:
    batched_update(items, {"n": items.c.n + 1}, step="bump", **FAST)
    backfill(items, lambda rows: [{"label": r["label"] + "!"} for r in rows],
             columns=["label"], step="exclaim", **FAST)
    batched_delete(items, items.c.id % 4 == 0, step="purge", **FAST)


def downgrade() -> None:
    pass
'''


class ForkServer:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(FORKSERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, bufsize=1,
        )
        assert self._read() == "ready"

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("fork server died")
        return line.strip()

    def _send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def run(self, log: Path, argv: list[str]) -> int:
        self._send(" ".join(["run", str(log), *argv]))
        return int(self._read())

    def wait(self, pid: int) -> int:
        self._send(f"wait {pid}")
        return int(self._read())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture
def forkserver() -> Iterator[ForkServer]:
    server = ForkServer()
    yield server
    server.close()


def state(conn: sa.Connection) -> tuple[str | None, dict[str, Any], list[Any]]:
    version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    cps: dict[str, Any] = {}
    if sa.inspect(conn).has_table("sluice_data_progress"):
        cps = {r.step: r for r in conn.execute(sa.text("SELECT * FROM sluice_data_progress"))}
    rows = list(conn.execute(sa.text("SELECT id, n, label FROM items ORDER BY id")))
    return version, cps, rows


def batches(conn: sa.Connection) -> tuple[int, bool]:
    """(batches committed so far, revision stamped)."""
    try:
        done = conn.execute(sa.text(
            "SELECT COALESCE(SUM(batches), 0) FROM sluice_data_progress")).scalar()
    except sa.exc.DBAPIError:
        done = 0
    stamped = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return int(done or 0), stamped == "0002"


def check_consistent(conn: sa.Connection) -> bool:
    """The table matches the checkpoints exactly; True if a step was caught mid-way."""
    version, cps, rows = state(conn)
    by_id = {r.id: r for r in rows}
    if version == "0002":
        assert cps == {}, "checkpoints must leave with the stamp"
        return False
    assert version == "0001"

    def last(step: str) -> int:
        cp = cps.get(step)
        if cp is None:
            return 0
        value = json.loads(cp.last_key) if cp.last_key else None
        after = value.get("after") if isinstance(value, dict) else value
        return int(after[0]) if after else 0

    bump, exclaim, purge = last("bump"), last("exclaim"), last("purge")
    for step, upto in (("bump", bump), ("exclaim", exclaim)):
        if step in cps:
            assert cps[step].rows_done == upto, f"{step}: rows_done != rows applied"
    for i in range(1, ROWS + 1):
        gone = i % 4 == 0 and i <= purge
        assert (i not in by_id) == gone, f"row {i}: deleted={i not in by_id}, purge at {purge}"
        if gone:
            continue
        r = by_id[i]
        assert r.n == (1 if i <= bump else 0), f"row {i}: n={r.n}, bump at {bump}"
        want = f"item {i}" + ("!" if i <= exclaim else "")
        assert r.label == want, f"row {i}: label={r.label!r}, exclaim at {exclaim}"
    if "purge" in cps:
        assert cps["purge"].rows_changed == len([i for i in range(4, purge + 1, 4)])
    return any(cp.finished is None and cp.batches > 0 for cp in cps.values())


def test_sigkill_at_random_batches_loses_nothing_and_repeats_nothing(
    tmp_path: Path, db_url: str, forkserver: ForkServer,
) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    (project / "migrations" / "versions" / "0002_fault.py").write_text(REVISION)
    command.upgrade(cfg(project, db_url, f"rows={ROWS}"), "0001")

    seed = int(os.environ.get("SLUICE_FAULT_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    log = tmp_path / "runs.log"
    argv = ["-c", str(project / "alembic.ini"), "-x", f"url={db_url}", "upgrade", "head"]
    poll = sa.create_engine(db_url, isolation_level="AUTOCOMMIT")
    mid_step = 0
    try:
        with poll.connect() as conn:
            for kill in range(KILLS):
                before, stamped = batches(conn)
                assert not stamped, f"finished before kill {kill} (seed {seed})"
                target = before + rng.randint(0, 4)
                pid = forkserver.run(log, argv)
                try:
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline:
                        done, stamped = batches(conn)
                        if done >= target or stamped:
                            break
                        time.sleep(0.0005)
                    time.sleep(rng.uniform(0, 0.004))  # land anywhere inside a batch
                finally:
                    os.kill(pid, signal.SIGKILL)
                    code = forkserver.wait(pid)
                assert code in (-signal.SIGKILL, 0), (
                    f"run {kill} failed with {code} (seed {seed}):\n{log.read_text()[-3000:]}")
                mid_step += check_consistent(conn)
            pid = forkserver.run(log, argv)
            assert forkserver.wait(pid) == 0, log.read_text()[-3000:]
            version, cps, rows = state(conn)
    finally:
        poll.dispose()

    assert version == "0002" and cps == {}
    expected = [(i, 1, f"item {i}!") for i in range(1, ROWS + 1) if i % 4]
    assert [tuple(r) for r in rows] == expected, f"seed {seed}"
    assert mid_step >= KILLS // 2, f"only {mid_step} kills landed inside a step (seed {seed})"
