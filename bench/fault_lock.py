"""Fault trials for the migration lock and interrupted runs, on a real server.

Three families, each trial on a fresh scratch database, real ``sluice upgrade`` processes:

a. ``--trials`` (default 30) times: deploy A loses its lock connection inside a revision
   (killed with ``pg_terminate_backend`` / ``KILL``; on PostgreSQL every other trial is an
   ``idle_session_timeout = 1s`` database instead) while deploy B waits for the lock.
   Counted: revisions started while another run was inside one (concurrent runs), and
   audit rows crediting a run with work the database did not keep from it (or missing
   work it kept), checked against a table each revision writes in its own transaction.
b. ``--service-trials`` (default 10) times: two services with their own version tables
   on one database; B starts while A is inside a revision. Counted: runs that did not
   take turns, audit rows of A changed by B.
c. ``--signals`` (default 20) SIGINT and as many SIGTERM, each at a random moment of a
   run: every other trial a 6-revision run that sleeps in each revision (the signal lands
   inside revisions), else a 20-revision run without sleeps (it lands in the audit writes,
   stamping and commits between them). Counted: audit rows left pending/running, tracebacks; on MySQL/MariaDB
   a rerun after a revision left committed but unstamped must say so and show the way out.

Prints the counts and exits 1 when any guarantee failed (the first problems are shown).

Run: ``.venv/bin/python bench/fault_lock.py --trials 30 --backend postgresql``
(the server URL comes from ``SLUICE_TEST_POSTGRES_URL`` / ``SLUICE_TEST_MYSQL_URL``,
or ``--url``).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = ROOT / "bench" / "_work" / "fault_lock"

from tests.support import faults  # noqa: E402

DEFAULT_URLS = {
    "postgresql": os.environ.get("SLUICE_TEST_POSTGRES_URL",
                                 "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    "mysql": os.environ.get("SLUICE_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}


class Tally:
    def __init__(self, name: str) -> None:
        self.name = name
        self.trials = 0
        self.concurrent = 0
        self.wrong_credit = 0
        self.open_rows = 0
        self.tracebacks = 0
        self.unstamped = 0
        self.failed: list[str] = []
        self.start = time.monotonic()

    def add(self, label: str, out: faults.Outcome) -> None:
        self.trials += 1
        self.concurrent += out.concurrent
        self.wrong_credit += out.wrong_credit
        self.open_rows += out.open_rows
        self.tracebacks += out.tracebacks
        self.unstamped += out.unstamped
        if out.problems:
            self.failed.append(f"{label}: {out.problems[0]}"[:2000])


def run(tally: Tally, server: str, label: str, fn: Callable[[Path, str], faults.Outcome]) -> None:
    folder = WORK / tally.name / str(tally.trials)
    shutil.rmtree(folder, ignore_errors=True)
    with faults.fresh_db(server) as url:
        try:
            out = fn(folder, url)
        except AssertionError as exc:  # a trial that hung is a failed guarantee too
            out = faults.Outcome(problems=[f"trial did not finish: {exc}"])
    tally.add(label, out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["postgresql", "mysql"], required=True)
    ap.add_argument("--url", default=None, help="server URL (default: from the environment)")
    ap.add_argument("--trials", type=int, default=30, help="lost-lock trials (family a)")
    ap.add_argument("--service-trials", type=int, default=10, help="family b")
    ap.add_argument("--signals", type=int, default=20, help="SIGINT and SIGTERM each (family c)")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    server = args.url or DEFAULT_URLS[args.backend]
    rng = random.Random(args.seed)
    random.seed(args.seed)
    shutil.rmtree(WORK, ignore_errors=True)

    a = Tally("lost_lock")
    kinds = {"kill": 0, "idle timeout": 0}
    for n in range(args.trials):
        idle = args.backend == "postgresql" and n % 2 == 1
        kinds["idle timeout" if idle else "kill"] += 1
        run(a, server, f"trial {n + 1}", faults.idle_timeout_trial if idle
            else faults.lock_kill_trial)
    how = ", ".join(f"{v} {k}" for k, v in kinds.items() if v)
    print(f"a. lock connection lost mid-run while a second deploy waits: {a.trials} trials "
          f"({how}) on {args.backend}")
    print(f"   concurrent runs: {a.concurrent}; audit rows crediting the wrong run: "
          f"{a.wrong_credit}; tracebacks: {a.tracebacks}; trials with any problem: "
          f"{len(a.failed)} ({time.monotonic() - a.start:.0f}s)", flush=True)

    b = Tally("services")
    for n in range(args.service_trials):
        run(b, server, f"trial {n + 1}", faults.services_trial)
    print(f"b. two services with their own version tables racing: {b.trials} trials")
    print(f"   did not take turns: {b.concurrent}; audit rows credited wrongly or rewritten: "
          f"{b.wrong_credit + sum('audit rows changed' in f for f in b.failed)}; trials with "
          f"any problem: {len(b.failed)} ({time.monotonic() - b.start:.0f}s)", flush=True)

    c = Tally("signals")
    for signame in ("SIGINT", "SIGTERM"):
        for n in range(args.signals):
            fast = n % 2 == 1
            delay = rng.uniform(0.0, 0.8 if fast else 1.5)

            def trial(folder: Path, url: str, s: str = signame, d: float = delay,
                      f: bool = fast) -> faults.Outcome:
                return faults.interrupt_trial(folder, url, getattr(signal, s), d,
                                              revisions=20 if f else 6, sleep=0 if f else None)

            run(c, server, f"{signame} {n + 1} after {delay:.2f}s", trial)
    rerun = (f"; revisions left committed but unstamped: {c.unstamped}, each rerun gave the "
             "recovery text" if args.backend == "mysql" else "")
    print(f"c. {args.signals} SIGINT + {args.signals} SIGTERM at random moments: "
          f"{c.trials} trials")
    print(f"   audit rows left open: {c.open_rows}; tracebacks: {c.tracebacks}{rerun}; trials "
          f"with any problem: {len(c.failed)} ({time.monotonic() - c.start:.0f}s)", flush=True)

    failed = a.failed + b.failed + c.failed
    for line in failed[:5]:
        print(f"FAILED {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
