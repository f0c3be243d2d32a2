"""Benchmark: ``sluice trace`` against the plain Alembic equivalent, in the same process.

The plain equivalent of tracing every revision is a scratch database upgraded one
revision at a time (``alembic upgrade <rev>`` per revision, which is what trace does to
run each revision in a transaction of its own); a single ``alembic upgrade head`` is
reported too. Both sides include creating and dropping the scratch database. Trace runs
without the lint cross-check (``sluice lint`` has its own benchmark) and then with it.

What trace adds per statement: two catalog reads on the migrating connection (the
backend's locks, the relations' storage ids), a stack walk for the source line, and, for
statements outside a transaction, a sampling thread.

The project is generated under ``bench/_work/trace`` (ignored by git): ``--revisions``
revisions, each creating a table with an index and adding a column to the previous one.

Run: ``.venv/bin/python bench/bench_trace.py [--revisions 30] [--repeat 3] [--url URL]``
(default URL: ``SLUICE_TEST_POSTGRES_URL``, else the local PostgreSQL).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stderr
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work" / "trace"

INI = """[alembic]
script_location = %(here)s/migrations
path_separator = os
sqlalchemy.url = postgresql://unused
"""

ENV_PY = '''
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                 prefix="sqlalchemy.", poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
'''

REVISION = '''"""table {i}"""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down}
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "t{i}",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("a", sa.Integer(), nullable=False),
        sa.Column("b", sa.Text()),
    )
    op.create_index("ix_t{i}_a", "t{i}", ["a"])
{extra}

def downgrade():
    op.drop_table("t{i}")
'''


def make_project(revisions: int) -> Path:
    shutil.rmtree(WORK, ignore_errors=True)
    versions = WORK / "migrations" / "versions"
    versions.mkdir(parents=True)
    (WORK / "alembic.ini").write_text(INI)
    (WORK / "migrations" / "env.py").write_text(ENV_PY)
    for i in range(1, revisions + 1):
        extra = (f'    op.add_column("t{i - 1}", sa.Column("c{i}", sa.Integer()))\n'
                 if i > 1 else "")
        down = "None" if i == 1 else f'"{i - 1:04d}"'
        (versions / f"{i:04d}_t{i}.py").write_text(
            REVISION.format(i=i, rev=f"{i:04d}", down=down, extra=extra))
    return WORK / "alembic.ini"


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: imports, first connections
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", default=os.environ.get(
        "SLUICE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from alembic import command

    from sluice.core.project import alembic_config
    from sluice.scratch import scratch_database
    from sluice.trace import trace
    from sluice.trace.runner import server_url

    ini = make_project(args.revisions)
    url = server_url(args.url)
    revs = [f"{i:04d}" for i in range(1, args.revisions + 1)]
    quiet = io.StringIO()

    def plain_per_revision() -> None:
        with scratch_database(url, prefix="sluice_bench") as db:
            cfg = alembic_config(ini, url=db.render_as_string(hide_password=False),
                                 stdout=quiet)
            for rev in revs:
                command.upgrade(cfg, rev)

    def plain_head() -> None:
        with scratch_database(url, prefix="sluice_bench") as db:
            command.upgrade(alembic_config(ini, url=db.render_as_string(hide_password=False),
                                           stdout=quiet), "head")

    def traced() -> None:
        trace(ini, str(args.url), crosscheck=False)

    def traced_crosscheck() -> None:
        trace(ini, str(args.url), crosscheck=True)

    with redirect_stderr(quiet):
        t_rev = timed(plain_per_revision, args.repeat)
        t_head = timed(plain_head, args.repeat)
        t_trace = timed(traced, args.repeat)
        t_cc = timed(traced_crosscheck, args.repeat)
    statements = args.revisions * 3 - 1
    print(f"{args.revisions} revisions, {statements} statements, PostgreSQL, "
          f"median of {args.repeat}")
    print(f"alembic upgrade per revision   {t_rev:7.3f} s")
    print(f"alembic upgrade head           {t_head:7.3f} s")
    print(f"sluice trace                   {t_trace:7.3f} s   "
          f"{t_trace / t_rev:.2f}x per-revision upgrade, {t_trace / t_head:.2f}x upgrade head")
    print(f"sluice trace + lint crosscheck {t_cc:7.3f} s   {t_cc / t_rev:.2f}x per-revision upgrade")
    print(f"trace overhead per statement   {(t_trace - t_rev) / statements * 1000:7.2f} ms")


if __name__ == "__main__":
    main()
