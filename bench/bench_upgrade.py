"""Benchmark: ``sluice upgrade`` against plain ``alembic upgrade head`` on a generated
200-revision history, in the same process. Goal: at most 1.1x, plus the backup's own time.

In-process figures, secondary: they leave out start-up. The figures the docs report are
whole processes, the commands a user types, from ``bench/process.py``.

Both sides run the same project and the same Sluice-wired env.py (plain Alembic gets
Sluice's filters, not the runner's guards: the ``dev`` environment does not guard plain
``alembic``). Each timing starts from a fresh empty database (a new SQLite file, in
``/dev/shm`` where it exists, or a new database on the ``--url`` server, created outside
the timed region); the sides alternate ``--repeat`` times after one warm-up each.

``sluice upgrade`` in ``dev`` does: probe through env.py, migration lock, stale-row
reconciliation, checksum check, 200 pending audit rows, the run with per-revision hooks
(timeouts, statement capture, timing), final audit rows, lock release.

With ``--prod`` it also times ``--env prod --yes``: the lint guard over the 200 revisions
(lint engine, cached per file after the warm-up, as in a CI checkout that keeps
``.sluice_cache``) and the backup (SQLite backup API or ``--backup-command``), whose time
is reported separately and left out of the ratio.

Run: ``.venv/bin/python bench/bench_upgrade.py [--revisions 200] [--repeat 5] [--url URL] [--prod]``
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = ROOT / "bench" / "_work" / "upgrade"

from alembic import command  # noqa: E402

from sluice.core.project import alembic_config  # noqa: E402
from sluice.runner.api import migrate  # noqa: E402
from sluice.runner.run import RunOptions  # noqa: E402
from tests.support.runner import SLUICE_TOML, chain, make_project  # noqa: E402


@contextmanager
def fresh_db(url: str | None) -> Iterator[str]:
    if url is None:
        base = "/dev/shm" if Path("/dev/shm").is_dir() else None
        with tempfile.TemporaryDirectory(prefix="sluice_bench_", dir=base) as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    from sluice.scratch import scratch_database

    with scratch_database(url, prefix="sluice_bench") as u:
        yield u.render_as_string(hide_password=False)


def plain(ini: Path, url: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process)."""
    cfg = alembic_config(ini, url=url, x_args=["env=dev"], stdout=io.StringIO())
    start, cpu = time.perf_counter(), time.process_time()
    command.upgrade(cfg, "head")
    return time.perf_counter() - start, time.process_time() - cpu


def sluice(ini: Path, url: str, env: str = "dev") -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, backup seconds)."""
    opts = RunOptions(target="head", yes=True, notify=lambda m: None)
    start, cpu = time.perf_counter(), time.process_time()
    result = migrate(ini, opts, env=env, url=url)
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    assert result.status == "applied", result.status
    return wall, used, result.backup.seconds if result.backup else 0.0


def timed(fn: Callable[[str], object], url: str | None) -> object:
    with fresh_db(url) as db:
        return fn(db)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--revisions", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--url", default=None, help="server URL (default: SQLite files)")
    ap.add_argument("--prod", action="store_true", help="also time --env prod --yes")
    ap.add_argument("--backup-command", default=None,
                    help="backup_command for the prod run (default: SQLite's built-in)")
    args = ap.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    toml = SLUICE_TOML
    if args.backup_command:
        toml = toml.replace("[environments.prod]\n",
                            f"[environments.prod]\nbackup_command = '{args.backup_command}'\n")
    ini = make_project(WORK, chain(args.revisions), toml=toml)
    print(f"{args.revisions} revisions, {args.repeat} runs each, database: "
          f"{args.url or 'SQLite file'}")

    timed(lambda db: plain(ini, db), args.url)  # warm-up: imports, pyc files
    timed(lambda db: sluice(ini, db), args.url)
    p_runs: list[tuple[float, float]] = []
    s_runs: list[tuple[float, float, float]] = []
    for _ in range(args.repeat):
        p_runs.append(timed(lambda db: plain(ini, db), args.url))  # type: ignore[arg-type]
        s_runs.append(timed(lambda db: sluice(ini, db), args.url))  # type: ignore[arg-type]
    pw, pc = (statistics.median(r[i] for r in p_runs) for i in (0, 1))
    sw, sc = (statistics.median(r[i] for r in s_runs) for i in (0, 1))
    print(f"alembic upgrade head   wall median {pw * 1000:8.1f} ms (min "
          f"{min(r[0] for r in p_runs) * 1000:.1f})   CPU median {pc * 1000:8.1f} ms")
    print(f"sluice upgrade (dev)   wall median {sw * 1000:8.1f} ms (min "
          f"{min(r[0] for r in s_runs) * 1000:.1f})   CPU median {sc * 1000:8.1f} ms")
    pmin, smin = min(r[0] for r in p_runs), min(r[0] for r in s_runs)
    print(f"ratio sluice/alembic: wall {sw / pw:.3f}x, CPU {sc / pc:.3f}x, best run "
          f"{smin / pmin:.3f}x  (goal <= 1.1x; on a busy machine CPU time and the best "
          "run are the steadier figures)")

    if args.prod:
        timed(lambda db: sluice(ini, db, "prod"), args.url)  # warm-up fills the lint cache
        prod = [timed(lambda db: sluice(ini, db, "prod"), args.url)
                for _ in range(args.repeat)]
        tw, tc, tb = (statistics.median(r[i] for r in prod) for i in (0, 1, 2))  # type: ignore[index]
        print(f"sluice upgrade (prod, --yes) wall median {tw * 1000:8.1f} ms, CPU "
              f"{tc * 1000:8.1f} ms, of which backup {tb * 1000:.1f} ms")
        print(f"ratio without the backup: wall {(tw - tb) / pw:.3f}x, CPU {(tc - tb) / pc:.3f}x "
              f"(lint guard over {args.revisions} revisions, cached)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
