"""Benchmark: services, splitting and the revision graph against plain Alembic.

Three measurements, each against the plain Alembic equivalent run in the same process:

1. ``alembic revision --autogenerate -x service=billing`` under Sluice (only billing's
   tables are reflected) against plain ``alembic revision --autogenerate`` over the whole
   database. Goal: faster than plain (ratio < 1) once a service owns a fraction of the tables.
2. ``alembic revision --autogenerate`` under Sluice, split into one revision per service
   (renames, services, expand/contract, dangerous-ops, review header) against the plain
   command writing one revision. Goal: at most 1.3x.
3. ``sluice graph`` (load every revision, build the map, render the tree) against
   ``alembic history`` on a long history. Goal: at most 1.5x.

The project is generated under ``bench/_work/services`` (ignored by git): ``--services``
services of ``--tables`` tables each on one SQLite database, every service on its own branch;
each model gains one column per service so autogenerate has something to write. Files a run
writes are deleted before the next; each side runs ``--repeat`` times after one warm-up.

Run: ``.venv/bin/python bench/bench_services.py [--services 4] [--tables 40] [--revisions 400]``
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import sqlalchemy as sa

WORK = Path(__file__).resolve().parent / "_work" / "services"
SERVICES = ["billing", "catalog", "shipping", "accounts", "search", "audit", "media", "ads"]

INI = """[alembic]
script_location = %(here)s/migrations
prepend_sys_path = %(here)s
path_separator = space
version_locations = {locations}
sqlalchemy.url = sqlite:///%(here)s/bench.db
"""

ENV_PY = '''
from alembic import context
from sqlalchemy import engine_from_config, pool

from benchapp.models import metadata
from sluice import configure_options

config = context.config
plain = context.get_x_argument(as_dictionary=True).get("plain") == "1"

connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                 prefix="sqlalchemy.", poolclass=pool.NullPool)
with connectable.connect() as connection:
    if plain:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True,
                          render_as_batch=True)
    else:
        context.configure(connection=connection, target_metadata=metadata,
                          **configure_options(config))
    with context.begin_transaction():
        context.run_migrations()
'''

BASE_REVISION = '''"""{svc}: base"""
revision = "{svc}0"
down_revision = None
branch_labels = ("{svc}",)
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
'''


def model_source(services: list[str], tables: int, extra: bool) -> str:
    lines = ["import sqlalchemy as sa", "", "metadata = sa.MetaData()", ""]
    for svc in services:
        for i in range(tables):
            cols = [
                'sa.Column("id", sa.Integer, primary_key=True)',
                'sa.Column("name", sa.String(100), nullable=False)',
                'sa.Column("amount", sa.Numeric(10, 2), server_default="0")',
                'sa.Column("created_at", sa.DateTime, server_default=sa.func.now())',
            ]
            if extra and i == 0:
                cols.append('sa.Column("note", sa.String(200))')
            lines.append(f'sa.Table("{svc}_t{i:03d}", metadata, {", ".join(cols)}, '
                         f'sa.Index("ix_{svc}_t{i:03d}_name", "name"))')
    return "\n".join(lines) + "\n"


def build_project(root: Path, services: list[str], tables: int) -> Path:
    if root.exists():
        shutil.rmtree(root)
    (root / "benchapp").mkdir(parents=True)
    (root / "benchapp" / "__init__.py").write_text("")
    versions = root / "migrations" / "versions"
    locations = []
    for svc in services:
        (versions / svc).mkdir(parents=True)
        (versions / svc / f"{svc}0_base.py").write_text(BASE_REVISION.format(svc=svc))
        locations.append(f"%(here)s/migrations/versions/{svc}")
    (root / "migrations" / "env.py").write_text(ENV_PY)
    shutil.copy(Path(__file__).resolve().parents[1] / "src" / "sluice" / "templates" /
                "script.py.mako", root / "migrations" / "script.py.mako")
    (root / "alembic.ini").write_text(INI.format(locations=" ".join(locations)))
    toml = ['empty_revision = "allow"', ""]
    for svc in services:
        toml += [f"[services.{svc}]", f'tables = ["{svc}_*"]',
                 f'version_location = "migrations/versions/{svc}"', ""]
    (root / "sluice.toml").write_text("\n".join(toml))
    # The database holds the schema without the new columns, stamped at every branch head.
    ns: dict[str, object] = {}
    exec(model_source(services, tables, extra=False), ns)
    engine = sa.create_engine(f"sqlite:///{root / 'bench.db'}")
    ns["metadata"].create_all(engine)  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        for svc in services:
            conn.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": f"{svc}0"})
    engine.dispose()
    (root / "benchapp" / "models.py").write_text(model_source(services, tables, extra=True))
    return root / "alembic.ini"


def history_project(root: Path, revisions: int) -> Path:
    if root.exists():
        shutil.rmtree(root)
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "migrations" / "env.py").write_text("")
    (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    for i in range(revisions):
        down = repr(f"r{i - 1:05d}") if i else "None"
        (versions / f"r{i:05d}_step.py").write_text(
            f'"""step {i}"""\nrevision = "r{i:05d}"\ndown_revision = {down}\n'
            "branch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    pass\n\n\n"
            "def downgrade():\n    pass\n")
    return root / "alembic.ini"


def timed(fn: Callable[[], object], repeat: int, cleanup: Callable[[], None]) -> float:
    fn()
    cleanup()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
        cleanup()
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=4)
    parser.add_argument("--tables", type=int, default=40)
    parser.add_argument("--revisions", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from alembic import command
    from alembic.config import Config

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from sluice.graph import load_graph, render_text

    services = SERVICES[: max(2, min(args.services, len(SERVICES)))]
    root = WORK / "project"
    ini = build_project(root, services, args.tables)
    sys.path.insert(0, str(root))
    versions = root / "migrations" / "versions"
    baseline = set(versions.rglob("*.py"))

    def cleanup() -> None:
        for path in set(versions.rglob("*.py")) - baseline:
            path.unlink()

    def revision(*x: str, **kw: object) -> Callable[[], object]:
        def run() -> object:
            cfg = Config(str(ini), stdout=io.StringIO(), cmd_opts=argparse.Namespace(x=list(x)))
            with redirect_stderr(io.StringIO()), redirect_stdout(io.StringIO()):
                return command.revision(cfg, message="bench", autogenerate=True, **kw)
        return run

    first = services[0]
    plain_kw = {"head": f"{first}@head", "version_path": str(versions / first)}
    plain = timed(revision("plain=1", **plain_kw), args.repeat, cleanup)
    scoped = timed(revision(f"service={first}"), args.repeat, cleanup)
    split = timed(revision(), args.repeat, cleanup)
    revision()()
    written = len(set(versions.rglob("*.py")) - baseline)
    cleanup()

    hini = history_project(WORK / "history", args.revisions)

    def alembic_history() -> None:
        command.history(Config(str(hini), stdout=io.StringIO()))

    def sluice_graph() -> None:
        render_text(load_graph(hini))

    hist = timed(alembic_history, args.repeat, lambda: None)
    graph = timed(sluice_graph, args.repeat, lambda: None)

    total = len(services) * args.tables
    print(f"{len(services)} services x {args.tables} tables ({total} tables), SQLite")
    print(f"  plain alembic autogenerate (whole db)  {plain * 1000:8.1f} ms")
    print(f"  sluice -x service={first:<18} {scoped * 1000:8.1f} ms  ratio {scoped / plain:.2f}x")
    print(f"  sluice split per service ({written} revisions) {split * 1000:8.1f} ms  "
          f"ratio {split / plain:.2f}x")
    print(f"{args.revisions} revisions")
    print(f"  alembic history                        {hist * 1000:8.1f} ms")
    print(f"  sluice graph                           {graph * 1000:8.1f} ms  "
          f"ratio {graph / hist:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
