"""Two unguarded runs of the same data step started at the same instant, N times.

    python bench/race_data_step.py postgresql+psycopg://postgres@127.0.0.1:5432/postgres 20
    python bench/race_data_step.py mysql+pymysql://root@127.0.0.1:3306/test 20

Each trial makes a fresh 50-row table; two processes wait for the same wall-clock instant
and run ``sluice.data.batched_update`` on it (batches of 5, no migration lock). Printed:
how many runs finished, stopped with Sluice's one-line message, or died with anything
else (a traceback), and whether every row was updated exactly once. Expected: 0 others,
0 rows wrong.
"""

from __future__ import annotations

import collections
import subprocess
import sys
import time
import traceback

import sqlalchemy as sa


def worker(url: str, table: str, start: float) -> None:
    from sluice import data
    from sluice.config import DataConfig

    t = sa.Table(table, sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("n", sa.Integer))
    engine = sa.create_engine(url)
    while time.time() < start:
        pass
    try:
        with engine.connect() as conn:
            data.batched_update(t, {"n": t.c.n + 1}, connection=conn, step="s",
                                config=DataConfig(batch_size=5, progress_table=f"p_{table}"))
        print("finished")
    except data.DataMigrationError:
        print("one-line")
    except Exception:
        traceback.print_exc()
        print("other")


def main(url: str, trials: int) -> int:
    engine = sa.create_engine(url)
    counts: collections.Counter[str] = collections.Counter()
    wrong = 0
    for i in range(trials):
        table = f"sluice_race_{i}"
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS p_{table}"))
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
            conn.execute(sa.text(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, n INTEGER)"))
            conn.execute(sa.text(f"INSERT INTO {table} (id, n) VALUES "
                                 + ",".join(f"({k}, 0)" for k in range(1, 51))))
        start = time.time() + 1.5
        procs = [subprocess.Popen([sys.executable, __file__, "--worker", url, table, str(start)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        for proc in procs:
            out, err = proc.communicate()
            last = (out.strip().splitlines() or ["other"])[-1]
            counts[last if last in ("finished", "one-line") else "other"] += 1
            if last not in ("finished", "one-line"):
                print(err.strip().splitlines()[-1] if err.strip() else "(no output)")
        with engine.begin() as conn:
            ns = {r[0] for r in conn.execute(sa.text(f"SELECT n FROM {table}"))}
            wrong += ns != {1}
            conn.execute(sa.text(f"DROP TABLE IF EXISTS p_{table}"))
            conn.execute(sa.text(f"DROP TABLE {table}"))
    print(f"{engine.dialect.name}: {trials} trials, {2 * trials} runs: "
          f"{counts['finished']} finished, {counts['one-line']} stopped with the one-line "
          f"message, {counts['other']} other; {wrong} trials with rows not updated once")
    return 1 if counts["other"] or wrong else 0


if __name__ == "__main__":
    if sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20))
