"""Benchmark: sluice.data.batched_update against one plain UPDATE, with a live writer.

For each server (PostgreSQL, MariaDB/MySQL) two identical tables of ``--rows`` rows are
loaded into a scratch database. Then:

  (a) plain:   ``UPDATE bench_plain SET n = n + 1`` in one transaction, what
               ``op.execute(...)`` in a revision does: rows/s, and how long it blocks
               writers (the longest single-row write while it runs);
  (b) batched: ``batched_update(bench_batched, {"n": n + 1})``: rows/s, slowest batch;
  (c) during each, a writer process updates random single rows (autocommit, one due every
      ``--writer-interval-ms``) and records each write's latency (p50, p99, max: the
      longest is how long the migration blocked it), and, open loop, its latency from
      when it was due, so a blocked writer counts for every write queued behind it.

Goals: batched >= 0.7x plain rows/s, slowest batch <= 100 ms, writer p99 <= 50 ms during
the batched run, while the plain UPDATE blocks writers for seconds.

    .venv/bin/python bench/bench_data.py                      # both servers, 2M rows each
    .venv/bin/python bench/bench_data.py --only postgresql --rows 500000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
from typing import Any

import sqlalchemy as sa

from sluice.config import DataConfig
from sluice.data import BatchInfo, batched_update
from sluice.scratch import scratch_database

DEFAULT_URLS = {
    "postgresql": os.environ.get("SLUICE_TEST_POSTGRES_URL",
                                 "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    "mysql": os.environ.get("SLUICE_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
DEFAULT_ROWS = {"postgresql": 2_000_000, "mysql": 2_000_000}


class Writer:
    """Updates random single rows of a table from a separate process, timing each write.

    Open loop: a write is due every ``interval_s``, as if requests arrived from many
    clients, and its latency counts from when it was due, so time spent blocked counts
    for every write that queued up behind it (no coordinated omission). Writes due while
    the migration runs are measured, including those that only get through after it. A
    process, not a thread, so that it does not compete with the migration for the GIL.
    """

    def __init__(self, url: str, table: str, rows: int, interval_s: float) -> None:
        ctx = mp.get_context("spawn")
        self._ready = ctx.Event()
        self._window = ctx.Array("d", [float("inf"), float("inf")])  # monotonic start, end
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(
            target=_write_loop,
            args=(url, table, rows, interval_s, self._ready, self._window, send),
            daemon=True,
        )
        self.latencies: list[tuple[float, float]] = []

    def __enter__(self) -> Writer:
        self._proc.start()
        if not self._ready.wait(60):
            raise RuntimeError("the writer process did not start")
        time.sleep(0.3)  # a few writes to warm up
        self._window[0] = time.monotonic()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._window[1] = time.monotonic()
        self.latencies = self._recv.recv()
        self._proc.join()

    def stats(self) -> dict[str, float]:
        """Per write: ``p50``/``p99``/``max`` from sending it to its end; ``q99`` also
        counts the time it waited behind earlier writes (open-loop response time)."""
        lat = sorted(x[0] for x in self.latencies) or [0.0]
        resp = sorted(x[1] for x in self.latencies) or [0.0]
        return {
            "writes": len(self.latencies),
            "p50": statistics.median(lat),
            "p99": _pct(lat, 0.99),
            "max": lat[-1],
            "q99": _pct(resp, 0.99),
        }


def _pct(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


def _write_loop(url: str, table: str, rows: int, interval_s: float, ready: Any, window: Any,
                send: Any) -> None:
    rng = random.Random(7)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    stmt = sa.text(f"UPDATE {table} SET w = w + 1 WHERE id = :id")
    latencies: list[tuple[float, float]] = []
    with engine.connect() as conn:
        conn.execute(stmt, {"id": 1})
        ready.set()
        due = time.monotonic()
        while due < window[1]:  # every write due before the window closed, even late ones
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            sent = time.monotonic()
            conn.execute(stmt, {"id": rng.randint(1, rows)})
            if due >= window[0]:
                done = time.monotonic()
                latencies.append(((done - sent) * 1000, (done - due) * 1000))
            due += interval_s
    engine.dispose()
    send.send(latencies)


def load(engine: sa.Engine, backend: str, table: str, rows: int) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        conn.exec_driver_sql(
            f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, n INTEGER NOT NULL, "
            "w INTEGER NOT NULL, payload VARCHAR(80) NOT NULL)"
        )
        if backend == "postgresql":
            conn.exec_driver_sql(
                f"INSERT INTO {table} SELECT g, 0, 0, md5(g::text) || 'abcdefgh' "
                f"FROM generate_series(1, {rows}) g"
            )
        elif getattr(engine.dialect, "is_mariadb", False):
            conn.exec_driver_sql(
                f"INSERT INTO {table} SELECT seq, 0, 0, CONCAT(MD5(seq), 'abcdefgh') "
                f"FROM seq_1_to_{rows}"  # MariaDB's sequence engine
            )
        else:
            conn.exec_driver_sql(f"SET SESSION cte_max_recursion_depth = {rows + 1}")
            conn.exec_driver_sql(
                f"INSERT INTO {table} WITH RECURSIVE s (i) AS (SELECT 1 UNION ALL "
                f"SELECT i + 1 FROM s WHERE i < {rows}) "
                "SELECT i, 0, 0, CONCAT(MD5(i), 'abcdefgh') FROM s"
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if backend == "postgresql":
            conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
            conn.exec_driver_sql("CHECKPOINT")
        else:
            conn.exec_driver_sql(f"ANALYZE TABLE {table}")


def plain_update(engine: sa.Engine, table: str, rows: int, writer_interval: float
                 ) -> dict[str, Any]:
    with Writer(engine.url.render_as_string(hide_password=False), table, rows,
                writer_interval) as writer:
        t0 = time.perf_counter()
        with engine.begin() as conn:
            changed = conn.exec_driver_sql(f"UPDATE {table} SET n = n + 1").rowcount
        seconds = time.perf_counter() - t0
    assert changed == rows, (changed, rows)
    return {"seconds": seconds, "rows_s": rows / seconds, "writer": writer.stats()}


def batched(engine: sa.Engine, table: str, rows: int, writer_interval: float,
            config: DataConfig, step: str) -> dict[str, Any]:
    t = sa.table(table, sa.column("n"))
    batch_ms: list[float] = []
    sizes: list[int] = []

    def on_batch(info: BatchInfo) -> None:
        batch_ms.append(info.ms)
        sizes.append(info.batch_size)

    with Writer(engine.url.render_as_string(hide_password=False), table, rows,
                writer_interval) as writer:
        t0 = time.perf_counter()
        with engine.connect() as conn:
            res = batched_update(t, {"n": t.c.n + 1}, connection=conn, step=step,
                                 config=config, on_batch=on_batch)
        seconds = time.perf_counter() - t0
    assert res.rows_changed == rows, (res.rows_changed, rows)
    batch_ms.sort()
    return {"seconds": seconds, "rows_s": rows / seconds, "slowest_ms": res.slowest_batch_ms,
            "batches": res.batches, "writer": writer.stats(),
            "batch_p50": statistics.median(batch_ms),
            "batch_p99": batch_ms[min(len(batch_ms) - 1, int(len(batch_ms) * 0.99))],
            "size_p50": int(statistics.median(sizes))}


def idle_writer(engine: sa.Engine, table: str, rows: int, interval: float) -> dict[str, float]:
    with Writer(engine.url.render_as_string(hide_password=False), table, rows,
                interval) as writer:
        time.sleep(2)
    return writer.stats()


def vacuum(engine: sa.Engine, backend: str, *tables: str) -> None:
    if backend != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
        conn.exec_driver_sql("CHECKPOINT")


def bench(backend: str, url: str, rows: int, args: argparse.Namespace) -> dict[str, Any]:
    config = DataConfig(batch_size=args.batch_size, target_batch_ms=args.target_ms,
                        log_interval_s=30)
    interval = args.writer_interval_ms / 1000
    reps = []
    with scratch_database(url, prefix="sluice_bench") as scratch:
        engine = sa.create_engine(scratch, pool_size=4)
        try:
            t0 = time.perf_counter()
            load(engine, backend, "bench_plain", rows)
            load(engine, backend, "bench_batched", rows)
            print(f"[{backend}] loaded 2 x {rows:,} rows in {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr)
            idle = idle_writer(engine, "bench_plain", rows, interval)
            for rep in range(args.repeat):
                # alternate the order so that drift on a shared machine hits both alike
                order = ["plain", "batched"] if rep % 2 == 0 else ["batched", "plain"]
                result: dict[str, Any] = {}
                for which in order:
                    if which == "plain":
                        result["plain"] = plain_update(engine, "bench_plain", rows, interval)
                    else:
                        result["batched"] = batched(engine, "bench_batched", rows, interval,
                                                    config, step=f"bench {rep}")
                print(f"[{backend}] run {rep + 1}/{args.repeat}: plain "
                      f"{result['plain']['seconds']:.1f} s, batched "
                      f"{result['batched']['seconds']:.1f} s", file=sys.stderr)
                reps.append(result)
                vacuum(engine, backend, "bench_plain", "bench_batched")
        finally:
            engine.dispose()
    return {"backend": backend, "rows": rows, "idle": idle, "reps": reps}


def report(r: dict[str, Any], args: argparse.Namespace) -> None:
    reps = r["reps"]
    ratios = [x["batched"]["rows_s"] / x["plain"]["rows_s"] for x in reps]
    median = sorted(range(len(reps)), key=lambda i: ratios[i])[len(reps) // 2]
    p, b, idle = reps[median]["plain"], reps[median]["batched"], r["idle"]
    pw, bw = p["writer"], b["writer"]
    print(f"\n== {r['backend']}: {r['rows']:,} rows, target_batch_ms={args.target_ms}, "
          f"writer every {args.writer_interval_ms:g} ms; run {median + 1} of {len(reps)} "
          "(the median rows/s ratio)")
    print(f"{'':28}{'plain UPDATE':>16}{'batched_update':>16}")
    print(f"{'time (s)':28}{p['seconds']:>16.2f}{b['seconds']:>16.2f}")
    print(f"{'rows/s':28}{p['rows_s']:>16,.0f}{b['rows_s']:>16,.0f}")
    print(f"{'batches / slowest (ms)':28}{'1 / ' + format(p['seconds'] * 1000, ',.0f'):>16}"
          f"{str(b['batches']) + ' / ' + format(b['slowest_ms'], ',.0f'):>16}")
    print(f"{'batch ms p50 / p99':28}{'':>16}"
          f"{format(b['batch_p50'], '.0f') + ' / ' + format(b['batch_p99'], '.0f'):>16}")
    print(f"{'batch size p50 (rows)':28}{rows_fmt(r['rows']):>16}{rows_fmt(b['size_p50']):>16}")
    print(f"{'writer writes':28}{pw['writes']:>16,}{bw['writes']:>16,}")
    print(f"{'writer p50 (ms)':28}{pw['p50']:>16.1f}{bw['p50']:>16.1f}")
    print(f"{'writer p99 (ms)':28}{pw['p99']:>16.1f}{bw['p99']:>16.1f}")
    print(f"{'writer max = blocked (ms)':28}{pw['max']:>16,.0f}{bw['max']:>16,.0f}")
    print(f"{'writer p99 incl. queue (ms)':28}{pw['q99']:>16,.0f}{bw['q99']:>16,.0f}")
    print(f"(idle writer: p50 {idle['p50']:.1f} ms, p99 {idle['p99']:.1f} ms)")
    if len(reps) > 1:
        print("all runs: rows/s ratio " + ", ".join(f"{x:.2f}" for x in ratios)
              + "; slowest batch ms " + ", ".join(
                  f"{x['batched']['slowest_ms']:.0f}" for x in reps)
              + "; batch p99 ms " + ", ".join(f"{x['batched']['batch_p99']:.0f}" for x in reps)
              + "; writer p99 ms batched " + ", ".join(
                  f"{x['batched']['writer']['p99']:.0f}" for x in reps)
              + "; writer max ms plain " + ", ".join(
                  f"{x['plain']['writer']['max']:,.0f}" for x in reps))
    ratio = ratios[median]
    checks = [
        (f"batched/plain rows/s = {ratio:.2f}x", ratio >= 0.7, ">= 0.70x"),
        (f"slowest batch = {b['slowest_ms']:.0f} ms", b["slowest_ms"] <= 100, "<= 100 ms"),
        (f"writer p99 during batched = {bw['p99']:.1f} ms", bw["p99"] <= 50, "<= 50 ms"),
        (f"plain UPDATE blocks writers for {pw['max'] / 1000:.2f} s",
         pw["max"] >= 1000, ">= 1 s"),
        (f"writer p99 incl. queue, plain/batched = {pw['q99'] / max(bw['q99'], 0.01):,.0f}x",
         True, "info"),
    ]
    for text, ok, goal in checks:
        mark = "ok " if ok else "MISS"
        print(f"  [{mark}] {text}  (goal {goal})")


def rows_fmt(n: int) -> str:
    return f"{n:,}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["postgresql", "mysql"], help="one server only")
    ap.add_argument("--rows", type=int, help="rows per table (default 2,000,000)")
    ap.add_argument("--pg-url", default=DEFAULT_URLS["postgresql"])
    ap.add_argument("--mysql-url", default=DEFAULT_URLS["mysql"])
    ap.add_argument("--target-ms", type=int, default=50,
                    help="target_batch_ms for batched_update (default 50)")
    ap.add_argument("--batch-size", type=int, default=1000, help="first batch size")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of both (alternating order); the median is reported")
    ap.add_argument("--writer-interval-ms", type=float, default=20.0,
                    help="one write due every N ms (default 20: 50 writes/s)")
    args = ap.parse_args(argv)
    backends = [args.only] if args.only else ["postgresql", "mysql"]
    results = []
    for backend in backends:
        url = args.pg_url if backend == "postgresql" else args.mysql_url
        rows = args.rows or DEFAULT_ROWS[backend]
        results.append(bench(backend, url, rows, args))
    for r in results:
        report(r, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
