"""Real processes: 8 concurrent `sluice upgrade` runs on one database, and a run killed
with SIGKILL in the middle of a revision. On SQLite, PostgreSQL and MariaDB.

The full 100-trial concurrency run is bench/stress_upgrade.py.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from sluice.runner.lock import MigrationLock
from tests.support.forkserver import ForkedProcess, sluice_forks
from tests.support.runner import Rev, chain, go, make_project, rows, version

SLUICE = str(Path(sys.executable).with_name("sluice"))
PROCESSES = 8


def gated_chain(n: int) -> list[Rev]:
    """``n`` revisions; the first waits for the file named by SLUICE_TEST_GO, if set."""
    revs = chain(n)
    revs[0].upgrade = (
        "import os, pathlib, time\n"
        "gate = os.environ.get('SLUICE_TEST_GO')\n"
        "deadline = time.monotonic() + 60\n"
        "while gate and not pathlib.Path(gate).exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n" + revs[0].upgrade
    )
    return revs


def start(ini: Path, url: str, log: Path | None = None, **env: str) -> ForkedProcess:
    """``sluice upgrade`` in a process of its own, forked from a server that has imported
    Sluice, SQLAlchemy and the drivers once (``tests.support.forkserver``): what is tested
    is how the running processes share the lock, not how each one starts."""
    return sluice_forks().start(
        [SLUICE, "upgrade", "-c", str(ini), "--url", url, "--env", "test", "--yes"],
        cwd=os.getcwd(), env={**os.environ, **env}, stderr=log)


@pytest.mark.parametrize("mode", ["gated", "race"])
def test_eight_concurrent_upgrades_apply_each_revision_once(tmp_path: Path, db_url: str,
                                                            mode: str) -> None:
    """gated: the first process to get the lock holds it until all seven others report
    that they are waiting for it; race: all start at once and whoever wins, wins."""
    ini = make_project(tmp_path / "p", gated_chain(4))
    gate = tmp_path / "go"
    logs = [tmp_path / f"err{i}.log" for i in range(PROCESSES)]
    env = {"SLUICE_TEST_GO": str(gate)} if mode == "gated" else {}
    procs = [start(ini, db_url, log, **env) for log in logs]
    if mode == "gated":
        # open the gate once all seven wait and one of them has seen the holder's row (the
        # first look can come before the holder has written it)
        deadline = time.monotonic() + 90
        while sum("waiting for the migration lock" in log.read_text() for log in logs) \
                < PROCESSES - 1 or not any("sluice upgrade head) since " in log.read_text()
                                           for log in logs):
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            assert all(p.poll() is None for p in procs), [log.read_text() for log in logs]
            time.sleep(0.05)
        gate.write_text("go")
    codes = [p.wait(timeout=120) for p in procs]
    outs = [p.communicate()[0] for p in procs]
    errs = [log.read_text() for log in logs]
    for code, out, err in zip(codes, outs, errs, strict=True):
        assert code == 0, f"exit {code}\n{out}\n{err}"
    assert version(db_url) == ["r0004"]
    entries = rows(db_url)
    # exactly one run applied everything; the others found nothing left to do
    assert collections.Counter((e.revision, e.status) for e in entries) == {
        (f"r000{i}", "succeeded"): 1 for i in range(1, 5)}
    assert len({e.run_id for e in entries}) == 1 and len({e.pid for e in entries}) == 1
    assert sum(o.startswith("applied 4 revisions") for o in outs) == 1
    assert sum(o.startswith("nothing to do") for o in outs) == PROCESSES - 1
    waited = [e for e in errs if "waiting for the migration lock" in e]
    applier = f"held by {entries[0].user}@{entries[0].host} pid {entries[0].pid}"
    # a waiter names whoever holds the lock when it looks: the applier, or a process that
    # took the lock after it only to find nothing left to do (or nobody yet, for the few
    # milliseconds between taking the lock and recording the holder)
    holder = re.compile(r"held by \S+@\S+ pid \d+ \(env test, sluice upgrade head\) since "
                        r"|held by another process \(not recorded yet\)")
    for e in waited:
        lines = [ln for ln in e.splitlines() if "waiting for the migration lock" in ln]
        assert all(holder.search(ln) for ln in lines), e
    if mode == "gated":
        assert len(waited) == PROCESSES - 1
        assert sum(applier in e for e in waited) >= 1


def stuck_in_r0002(tmp_path: Path, url: str) -> tuple[Path, ForkedProcess]:
    """A project whose r0002 blocks, and an upgrade process that is inside it."""
    revs = chain(3)
    revs[1].upgrade = (
        "import os, pathlib, time\n"
        "marker = os.environ.get('SLUICE_TEST_MARKER')\n"
        "if marker:\n"
        "    pathlib.Path(marker).write_text('started')\n"
        "    time.sleep(60)\n" + revs[1].upgrade
    )
    ini = make_project(tmp_path / "p", revs)
    marker = tmp_path / "marker"
    proc = start(ini, url, SLUICE_TEST_MARKER=str(marker))
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the upgrade never reached r0002"
        time.sleep(0.05)
    return ini, proc


def test_sigterm_stops_cleanly_and_records_the_failure(tmp_path: Path, db_url: str) -> None:
    ini, proc = stuck_in_r0002(tmp_path, db_url)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=30)
    _, err = proc.communicate()
    assert code != 0 and "interrupted in r0002" in err and "lock is released" in err
    entry = {e.revision: e for e in rows(db_url)}
    assert entry["r0002"].status == "failed" and "SIGTERM" in (entry["r0002"].error or "")
    assert entry["r0003"].status == "skipped"
    lock = MigrationLock(db_url, timeout_ms=0)
    lock.acquire()
    lock.release()


def test_killed_upgrade_releases_the_lock_and_is_recorded_failed(tmp_path: Path,
                                                                 db_url: str) -> None:
    ini, proc = stuck_in_r0002(tmp_path, db_url)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.communicate()

    lock = MigrationLock(db_url, timeout_ms=10_000, slice_ms=100)
    lock.acquire()  # the dead process's session (or file lock) is gone with it
    waited = lock.waited_ms
    lock.release()
    assert waited < 5_000

    dead = {e.revision: e for e in rows(db_url)}
    assert dead["r0002"].status in ("running", "pending")  # as the process left it
    result = go(ini, db_url, env="test")
    assert result.status == "applied" and version(db_url) == ["r0003"]
    assert any("died before finishing" in w and "r0002 recorded as failed" in w
               for w in result.warnings)
    old = [e for e in rows(db_url) if e.run_id == dead["r0002"].run_id]
    by_rev = {e.revision: e for e in old}
    assert by_rev["r0002"].status == "failed" and "interrupted" in (by_rev["r0002"].error or "")
    assert by_rev["r0003"].status == "skipped"
    # PostgreSQL ran it all in one transaction: r0001 went down with r0002
    assert by_rev["r0001"].status == ("rolled_back" if db_url.startswith("postgresql")
                                      else "succeeded")
    ok = collections.Counter(e.revision for e in rows(db_url) if e.status == "succeeded")
    assert ok == {"r0001": 1, "r0002": 1, "r0003": 1}
