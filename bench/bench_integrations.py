"""Benchmark: what the integrations add to the tools they plug into, in the same process.

1. Autogenerate comparison with the ``sluice`` Alembic plugin against plain Alembic
   (``compare_metadata`` with ``compare_server_default=True``, which is what the plugin
   needs): ``--tables`` tables of 8 columns with server defaults, on a SQLite database
   holding the same schema with the defaults spelled the database's way. Plain Alembic
   reports those spellings as changes; with the plugin there are none. Goal: at most 1.2x.
2. The write hook's work: linting the one revision ``alembic revision`` just wrote
   (``sluice.integrations.hooks.lint_files``) against linting the whole history it belongs to
   (``lint_project``), both without the cache, on a generated history of
   ``--revisions`` revisions. The hook must stay independent of the history's length.

Run: ``.venv/bin/python bench/bench_integrations.py [--tables 200] [--revisions 200]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

WORK = Path(__file__).resolve().parent / "_work" / "integrations"


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def schemas(tables: int) -> tuple[sa.MetaData, sa.MetaData]:
    model, db = sa.MetaData(), sa.MetaData()
    for i in range(tables):
        for md, spell in ((model, False), (db, True)):
            sa.Table(
                f"t{i}", md,
                sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("n", sa.Integer, server_default=sa.text("0") if spell else "0"),
                sa.Column("r", sa.Numeric(10, 2), server_default=sa.text("0.00") if spell
                          else "0"),
                sa.Column("flag", sa.Boolean, server_default=sa.text("true") if spell
                          else sa.true()),
                sa.Column("label", sa.String(20), server_default=sa.text("''") if spell
                          else ""),
                sa.Column("status", sa.String(20), server_default="draft"),
                sa.Column("created", sa.DateTime, server_default=sa.text("CURRENT_TIMESTAMP")
                          if spell else sa.func.now()),
                sa.Column("note", sa.Text),
            )
    return model, db


def bench_plugin(tables: int, repeat: int) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from sluice.integrations.alembic_plugin import ensure_registered

    if not ensure_registered():
        print("plugin: Alembic < 1.18, no plugin system; skipped")
        return
    model, db = schemas(tables)
    engine = sa.create_engine("sqlite://")
    db.create_all(engine)
    with engine.connect() as conn:
        def run(plugins: list[str]) -> int:
            mc = MigrationContext.configure(conn, opts={
                "target_metadata": model, "compare_server_default": True,
                "autogenerate_plugins": plugins})
            return len(compare_metadata(mc, model))

        plain_diffs = run(["alembic.autogenerate.*"])
        sluice_diffs = run(["alembic.autogenerate.*", "sluice"])
        plain = timed(lambda: run(["alembic.autogenerate.*"]), repeat)
        with_plugin = timed(lambda: run(["alembic.autogenerate.*", "sluice"]), repeat)
    print(f"plugin: {tables} tables x 8 columns; plain Alembic {plain * 1000:.0f} ms "
          f"({plain_diffs} spurious default changes), with the sluice plugin "
          f"{with_plugin * 1000:.0f} ms ({sluice_diffs}); ratio {with_plugin / plain:.2f}x")


REVISION = '''"""r{n}

Revision ID: {rev}
Revises: {down}
"""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down_repr}


def upgrade():
    op.create_table("t{n}", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.String(40), nullable=False))
    op.create_index("ix_t{n}_name", "t{n}", ["name"])


def downgrade():
    op.drop_table("t{n}")
'''


def history(revisions: int) -> Path:
    shutil.rmtree(WORK, ignore_errors=True)
    versions = WORK / "migrations" / "versions"
    versions.mkdir(parents=True)
    (WORK / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = sqlite://\n")
    (WORK / "migrations" / "env.py").write_text("raise SystemExit('not run by lint')\n")
    (WORK / "sluice.toml").write_text("[lint]\ncache_dir = ''\n")
    down = None
    for n in range(revisions):
        rev = f"r{n:04d}"
        (versions / f"{rev}.py").write_text(REVISION.format(
            n=n, rev=rev, down=down or "", down_repr=repr(down)))
        down = rev
    return versions / f"r{revisions - 1:04d}.py"


def bench_hook(revisions: int, repeat: int) -> None:
    from sluice.integrations.hooks import lint_files
    from sluice.lint.engine import lint_project

    newest = history(revisions)
    ini = WORK / "alembic.ini"
    one = timed(lambda: lint_files(ini, files=[newest], use_cache=False), repeat)
    everything = timed(lambda: lint_project(ini, use_cache=False), max(1, repeat // 2))
    print(f"write hook: the new revision of {revisions} in {one * 1000:.0f} ms; the whole "
          f"history {everything * 1000:.0f} ms ({everything / one:.0f}x more)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--revisions", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bench_plugin(args.tables, args.repeat)
    bench_hook(args.revisions, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
