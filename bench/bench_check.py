"""Benchmark: ``sluice check --only graph,upgrade,drift`` against ``alembic upgrade head``
followed by ``alembic check``, on the same project and the same kind of database, in the
same process. Goal: at most 1.2x.

The project is generated under ``bench/_work/check`` (ignored by git): ``--revisions``
revisions, each creating a table (columns with types, defaults, a foreign key to the
previous table, an index), every fourth also adding a column to an earlier table; the
models match, so both sides find no drift. env.py passes Sluice's ``configure_options``
(filters, type and server-default comparison) without its autogenerate policies, which
make plain ``alembic check`` fail on a clean project.

Each timing is on a fresh empty database (a new SQLite file, in ``/dev/shm`` where it
exists, or a new database on the ``--url`` server, created outside the timed region);
both sides run alternately ``--repeat`` times after one warm-up each (models imported
once, as in a CI process).

The round trip is timed separately and reported per revision (upgrade, downgrade,
upgrade again, schema snapshots), next to the same walk scripted with Alembic's command
API (``upgrade rev; downgrade -1; upgrade +1`` per revision), which has to reload the
history for every command.

Run: ``.venv/bin/python bench/bench_check.py [--revisions 40] [--repeat 5] [--url URL]``
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work" / "check"

INI = """[alembic]
script_location = %(here)s/migrations
prepend_sys_path = %(here)s
path_separator = os
sqlalchemy.url = sqlite:///%(here)s/unused.db
"""

ENV_PY = '''
from alembic import context
from sqlalchemy import engine_from_config, pool

from benchapp.models import metadata
from sluice import configure_options

config = context.config


def run_migrations_online() -> None:
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                     prefix="sqlalchemy.", poolclass=pool.NullPool)
    # Sluice's filters and comparison options; its autogenerate policies (which decide
    # what a new revision file may contain) are left out so that plain `alembic check`
    # reports "no changes" instead of tripping on them.
    options = configure_options(config)
    options.pop("process_revision_directives")
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, **options)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
'''

REVISION = '''"""create t{i:03d}"""
import sqlalchemy as sa
from alembic import op

revision = "r{i:03d}"
down_revision = {down}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "t{i:03d}",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"),
                  nullable=False),
{fk_col}        sa.PrimaryKeyConstraint("id"),
{fk}    )
    op.create_index("ix_t{i:03d}_name", "t{i:03d}", ["name"], unique=False)
{extra_up}

def downgrade() -> None:
{extra_down}    op.drop_index("ix_t{i:03d}_name", table_name="t{i:03d}")
    op.drop_table("t{i:03d}")
'''


def generate(n: int) -> Path:
    if WORK.exists():
        shutil.rmtree(WORK)
    versions = WORK / "migrations" / "versions"
    versions.mkdir(parents=True)
    (WORK / "alembic.ini").write_text(INI)
    (WORK / "migrations" / "env.py").write_text(ENV_PY)
    (WORK / "sluice.toml").write_text('exclude_tables = ["tmp_*"]\n')
    app = WORK / "benchapp"
    app.mkdir()
    (app / "__init__.py").write_text("")
    models = [
        "import sqlalchemy as sa",
        "",
        "metadata = sa.MetaData()",
        "",
    ]
    extras: dict[int, list[str]] = {}
    for i in range(n):
        if i % 4 == 3 and i >= 2:
            extras.setdefault(i - 2, []).append(f"extra_{i:03d}")
    for i in range(n):
        down = f'"r{i - 1:03d}"' if i else "None"
        fk_col = fk = ""
        if i:
            fk_col = '        sa.Column("parent_id", sa.Integer(), nullable=True),\n'
            fk = f'        sa.ForeignKeyConstraint(["parent_id"], ["t{i - 1:03d}.id"]),\n'
        extra_up = extra_down = ""
        if i % 4 == 3 and i >= 2:
            extra_up = (f'    op.add_column("t{i - 2:03d}", sa.Column("extra_{i:03d}", '
                        'sa.String(length=50), nullable=True))\n')
            extra_down = f'    op.drop_column("t{i - 2:03d}", "extra_{i:03d}")\n'
        (versions / f"r{i:03d}_create_t{i:03d}.py").write_text(REVISION.format(
            i=i, down=down, fk_col=fk_col, fk=fk, extra_up=extra_up, extra_down=extra_down))
        cols = [
            '    sa.Column("id", sa.Integer(), primary_key=True)',
            '    sa.Column("name", sa.String(100), nullable=False, index=True)',
            '    sa.Column("amount", sa.Numeric(10, 2))',
            '    sa.Column("created_at", sa.DateTime(), nullable=False, '
            'server_default=sa.func.now())',
        ]
        if i:
            cols.append(f'    sa.Column("parent_id", sa.Integer(), sa.ForeignKey("t{i - 1:03d}.id"))')
        cols += [f'    sa.Column("{c}", sa.String(50))' for c in extras.get(i, [])]
        models.append(f't{i:03d} = sa.Table(\n    "t{i:03d}", metadata,\n' + ",\n".join(cols)
                      + ",\n)")
        models.append("")
    (app / "models.py").write_text("\n".join(models) + "\n")
    return WORK / "alembic.ini"


@contextmanager
def fresh_database(server: str | None, tmp: Path, counter: list[int]) -> Iterator[str]:
    """A new empty database URL (created and dropped outside the timed region)."""
    counter[0] += 1
    if server is None:
        yield f"sqlite:///{tmp / f'db_{counter[0]}.db'}"
        return
    from sluice.scratch import scratch_database

    with scratch_database(server, prefix="sluice_bench") as url:
        yield url.render_as_string(hide_password=False)


def time_sluice(ini: Path, url: str) -> float:
    from sluice.check import CheckOptions, run_checks

    started = time.perf_counter()
    report = run_checks(ini, CheckOptions(only=["graph", "upgrade", "drift"], url=url))
    elapsed = time.perf_counter() - started
    if report.exit_code != 0:
        raise SystemExit(f"sluice check failed on the benchmark project: {report.as_dict()}")
    return elapsed


def time_alembic(ini: Path, url: str) -> float:
    from alembic import command

    from sluice.core.project import alembic_config

    out = io.StringIO()
    started = time.perf_counter()
    cfg = alembic_config(ini, url=url, stdout=out)
    command.upgrade(cfg, "head")
    command.check(cfg)
    elapsed = time.perf_counter() - started
    if "No new upgrade operations detected" not in out.getvalue():
        raise SystemExit(f"alembic check did not pass: {out.getvalue()}")
    return elapsed


def roundtrip_sluice(ini: Path, url: str) -> tuple[float, list[dict[str, object]], float]:
    from sluice.check import CheckOptions, run_checks

    started = time.perf_counter()
    report = run_checks(ini, CheckOptions(only=["roundtrip"], url=url))
    elapsed = time.perf_counter() - started
    result = report.result("roundtrip")
    if result.status != "pass":
        raise SystemExit(f"round trip failed: {result.problems}")
    return elapsed, result.data["revisions"], float(result.data["snapshot_seconds"])


def roundtrip_alembic(ini: Path, url: str, n: int) -> float:
    """The same walk scripted with Alembic's command API (no schema comparison)."""
    from alembic import command

    from sluice.core.project import alembic_config

    started = time.perf_counter()
    cfg = alembic_config(ini, url=url, stdout=io.StringIO())
    for i in range(n):
        command.upgrade(cfg, f"r{i:03d}")
        command.downgrade(cfg, "-1")
        command.upgrade(cfg, "+1")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--url", default=None,
                        help="PostgreSQL/MySQL server (a fresh database per run); "
                             "default: SQLite files")
    parser.add_argument("--dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None,
                        help="Folder for the SQLite files (default: /dev/shm where it exists, "
                             "so disk syncs, the same for both sides, do not drown the "
                             "difference)")
    args = parser.parse_args()
    ini = generate(args.revisions)
    sys.path.insert(0, str(WORK))
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="sluice_bench_", dir=args.dir))
    counter = [0]
    backend = args.url.split(":", 1)[0] if args.url else "sqlite"
    print(f"project: {args.revisions} revisions, {backend}, best/median of {args.repeat}")

    sink = io.StringIO()
    runs: dict[str, list[float]] = {"sluice": [], "alembic": []}
    sides: list[tuple[str, Callable[[Path, str], float]]] = [
        ("sluice", time_sluice), ("alembic", time_alembic)]
    with redirect_stderr(sink):
        for _name, fn in sides:  # warm-up: imports, first connection
            with fresh_database(args.url, tmp, counter) as url:
                fn(ini, url)
        for i in range(args.repeat):
            for name, fn in (sides if i % 2 == 0 else list(reversed(sides))):
                with fresh_database(args.url, tmp, counter) as url:
                    runs[name].append(fn(ini, url))
    best = {k: min(v) for k, v in runs.items()}
    median = {k: statistics.median(v) for k, v in runs.items()}
    print("\ngraph + upgrade + drift")
    print(f"  sluice check --only graph,upgrade,drift   best {best['sluice'] * 1000:8.1f} ms"
          f"   median {median['sluice'] * 1000:8.1f} ms")
    print(f"  alembic upgrade head + alembic check     best {best['alembic'] * 1000:8.1f} ms"
          f"   median {median['alembic'] * 1000:8.1f} ms")
    paired = statistics.median(s / a for s, a in zip(runs["sluice"], runs["alembic"],
                                                        strict=True))
    print(f"  ratio: {best['sluice'] / best['alembic']:.2f}x best to best, "
          f"{median['sluice'] / median['alembic']:.2f}x median to median, "
          f"{paired:.2f}x median of paired runs (goal <= 1.2x)")

    with redirect_stderr(sink):
        with fresh_database(args.url, tmp, counter) as url:
            total, revisions, snap = roundtrip_sluice(ini, url)
        with fresh_database(args.url, tmp, counter) as url:
            scripted = roundtrip_alembic(ini, url, args.revisions)
    n = len(revisions)
    print(f"\nround trip ({n} revisions: upgrade, snapshot, downgrade, compare, upgrade again, "
          "compare)")
    print(f"  sluice check --only roundtrip            {total * 1000:8.1f} ms total, "
          f"{total / n * 1000:6.1f} ms per revision (schema snapshots: {snap * 1000:.1f} ms, "
          f"{snap / max(n, 1) / 3 * 1000:.1f} ms each)")
    print(f"  alembic upgrade/downgrade -1/upgrade +1  {scripted * 1000:8.1f} ms total, "
          f"{scripted / n * 1000:6.1f} ms per revision (no comparison)")
    print("\n  per revision (ms)    upgrade  downgrade  upgrade again")
    shown = revisions if n <= 12 else revisions[:5] + revisions[-5:]
    for i, r in enumerate(shown):
        if n > 12 and i == 5:
            print("  ...")
        print(f"  {r['revision']:<18} {float(r['upgrade_s']) * 1000:9.1f} "  # type: ignore[arg-type]
              f"{float(r['downgrade_s']) * 1000:10.1f} "  # type: ignore[arg-type]
              f"{float(r['upgrade_again_s']) * 1000:14.1f}")  # type: ignore[arg-type]
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
