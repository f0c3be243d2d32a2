"""Stress: ``--trials`` times (default 100), ``--processes`` (default 8) ``sluice upgrade``
processes start at once on the same fresh database. Every trial must end with:

- every process exiting 0 (losing the race means waiting, never failing);
- the database at head, each revision applied exactly once (one ``succeeded`` row per
  revision in ``sluice_history``, from a single run, and no other rows);
- exactly one process reporting "applied", the others "nothing to do".

The first revision sleeps ``--hold`` seconds so that the others pile up on the lock.
Prints a summary (trials passed, processes that waited, wall time per trial) and exits 1
with the details of the first violation.

Run: ``.venv/bin/python bench/stress_upgrade.py [--trials 100] [--url URL]``
(without ``--url``: a SQLite file per trial).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = ROOT / "bench" / "_work" / "stress"
SLUICE = str(Path(sys.executable).with_name("sluice"))

from sqlalchemy import create_engine, text  # noqa: E402

from sluice.runner import audit  # noqa: E402
from tests.support.runner import chain, make_project  # noqa: E402


@contextmanager
def fresh_db(url: str | None) -> Iterator[str]:
    if url is None:
        with tempfile.TemporaryDirectory(prefix="sluice_stress_") as tmp:
            yield f"sqlite:///{tmp}/stress.db"
        return
    from sluice.scratch import scratch_database

    with scratch_database(url, prefix="sluice_stress") as u:
        yield u.render_as_string(hide_password=False)


def trial(ini: Path, url: str, processes: int, revisions: int) -> tuple[str | None, int, float]:
    """(violation or None, processes that waited, seconds)."""
    start = time.monotonic()
    procs = [
        subprocess.Popen([SLUICE, "upgrade", "-c", str(ini), "--url", url, "--env", "test",
                          "--yes"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    seconds = time.monotonic() - start
    waited = sum("waiting for the migration lock" in err for _, _, err in results)
    for code, out, err in results:
        if code != 0:
            return f"a process exited {code}:\n{out}\n{err}", waited, seconds
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            heads = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
            entries = audit.read_history(conn)
    finally:
        engine.dispose()
    head = f"r{revisions:04d}"
    if heads != [head]:
        return f"database at {heads}, expected {head}", waited, seconds
    counts = collections.Counter((e.revision, e.status) for e in entries)
    expected = {(f"r{i:04d}", "succeeded"): 1 for i in range(1, revisions + 1)}
    if counts != expected:
        return f"audit rows {dict(counts)}, expected {expected}", waited, seconds
    if len({e.run_id for e in entries}) != 1:
        return "applied by more than one run", waited, seconds
    applied = sum(out.startswith(f"applied {revisions} revisions") for _, out, _ in results)
    idle = sum(out.startswith("nothing to do") for _, out, _ in results)
    if applied != 1 or idle != processes - 1:
        return f"{applied} processes applied, {idle} had nothing to do", waited, seconds
    return None, waited, seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--processes", type=int, default=8)
    ap.add_argument("--revisions", type=int, default=4)
    ap.add_argument("--hold", type=float, default=0.3)
    ap.add_argument("--url", default=None, help="server URL (default: SQLite files)")
    args = ap.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    revs = chain(args.revisions)
    revs[0].upgrade = f"import time\ntime.sleep({args.hold})\n" + revs[0].upgrade
    ini = make_project(WORK, revs)
    print(f"{args.trials} trials x {args.processes} concurrent `sluice upgrade` on "
          f"{args.url or 'SQLite'}, {args.revisions} revisions", flush=True)
    waits: list[int] = []
    times: list[float] = []
    for n in range(1, args.trials + 1):
        with fresh_db(args.url) as db:
            problem, waited, seconds = trial(ini, db, args.processes, args.revisions)
        waits.append(waited)
        times.append(seconds)
        if problem is not None:
            print(f"trial {n}: FAILED: {problem}")
            return 1
        if n % 10 == 0:
            print(f"  {n} trials ok", flush=True)
    print(f"{args.trials}/{args.trials} trials passed: each revision applied exactly once, "
          "every process exited 0")
    print(f"processes that waited for the lock: {sum(waits)} of "
          f"{args.trials * args.processes} (per trial min {min(waits)}, max {max(waits)})")
    print(f"seconds per trial: median {statistics.median(times):.1f}, max {max(times):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
