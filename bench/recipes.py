"""Benchmark: every recipe, measured with ``sluice trace`` (naive revision against fixed).

For each recipe of the registry (:func:`sluice.recipes.all_recipes`), on its dialect's
server, a small Alembic project is generated under ``bench/_work/recipes/<recipe>``:

- ``0001``: the base revision, creating the tables the operation works on;
- ``0002``: the naive revision, the dangerous operation as an author writes it;
- ``0003``: the fixed revision, ``0002`` rewritten by :func:`sluice.recipes.fix_source`
  (what ``sluice fix`` writes), a sibling branch of ``0002`` on top of ``0001``.

Each of ``0002`` and ``0003`` is then traced by the CLI, as a user types it::

    sluice trace 0002 -c alembic.ini --url URL --seed-rows N --no-crosscheck \\
        --fail-on never --format json

(a scratch database per run: ``0001`` applied, every table seeded with ``N`` rows, the
revision traced). From the JSON: the longest-held lock blocking writes of a table that
existed before the revision (``longest_write_blocking``) and the revision's duration.
Last, ``0002`` and ``0003`` are applied with ``alembic upgrade`` to two more scratch
databases (no rows) and their schemas compared with ``sluice check``'s snapshot
comparison (:mod:`sluice.check.snapshot`).

The goal (issue 18): no write-blocking lock held longer than 50 ms at 1,000,000 rows by
the fixed revision. The table says where that holds and, where it does not, which
statement held the lock. Times are wall-clock on a shared machine: single runs, noisy.

Run: ``.venv/bin/python bench/recipes.py [--rows 1000000] [--only RECIPE] [--out FILE]``
(servers: ``SLUICE_TEST_POSTGRES_URL`` and ``SLUICE_TEST_MYSQL_PS_URL``, a MariaDB with
performance_schema on, as ``scripts/mariadb-ps`` starts one). ``--out`` writes the table
with how, when and at which commit it was measured (``bench/recipes_results.md`` is the
committed one, included in ``docs/recipes.md``).
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "_work" / "recipes"
SLUICE = str(Path(sys.executable).with_name("sluice"))
GOAL_MS = 50.0

ENV_PY = '''\
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                            prefix="sqlalchemy.", poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
'''

#: Base tables, by name, per dialect (the body of ``upgrade()`` of ``0001``).
PG_TABLES = {
    "users": 'op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True),\n'
             '                sa.Column("email", sa.String(100)), sa.Column("name", sa.String(50)))',
    "orders": 'op.create_table("orders", sa.Column("id", sa.Integer(), primary_key=True),\n'
              '                sa.Column("user_id", sa.Integer()), sa.Column("total", sa.Integer()))\n'
              'op.create_index("ix_orders_total", "orders", ["total"])',
    # ids from a sequence (the server's default), so the seeded rows can take a primary key
    "events": 'op.execute("CREATE SEQUENCE events_id_seq")\n'
              'op.create_table("events", sa.Column("id", sa.BigInteger(), nullable=False,\n'
              '                server_default=sa.text("nextval(\'events_id_seq\')")),\n'
              '                sa.Column("kind", sa.String(20)))',
}
MYSQL_TABLES = {
    "users": PG_TABLES["users"],
    "orders": 'op.create_table("orders", sa.Column("id", sa.Integer(), primary_key=True),\n'
              '                sa.Column("user_id", sa.Integer()), sa.Column("total", sa.Integer()))',
}


@dataclass(frozen=True)
class Case:
    """The naive operation a recipe answers, and the base tables it needs."""

    tables: tuple[str, ...]
    naive: str


CASES: dict[str, Case] = {
    "pg-create-index-concurrently": Case(
        ("orders",), 'op.create_index("ix_orders_user_id", "orders", ["user_id"])'),
    "pg-drop-index-concurrently": Case(
        ("orders",), 'op.drop_index("ix_orders_total", table_name="orders")'),
    "pg-unique-constraint-using-index": Case(
        ("users",), 'op.create_unique_constraint("uq_users_email", "users", ["email"])'),
    "pg-primary-key-using-index": Case(
        ("events",), 'op.create_primary_key("pk_events", "events", ["id"])'),
    "pg-foreign-key-not-valid": Case(
        ("users", "orders"),
        'op.create_foreign_key("fk_orders_user_id", "orders", "users", ["user_id"], ["id"])'),
    "pg-check-not-valid": Case(
        ("orders",), 'op.create_check_constraint("ck_orders_total", "orders", "total >= 0")'),
    "pg-set-not-null-via-check": Case(
        ("users",),
        'op.alter_column("users", "name", existing_type=sa.String(50), nullable=False)'),
    "pg-add-column-backfill": Case(
        ("users",),
        'op.add_column("users", sa.Column("token", postgresql.UUID(), nullable=False,\n'
        '              server_default=sa.text("gen_random_uuid()")))'),
    "pg-alter-type-expand-contract": Case(
        ("orders",),
        'op.alter_column("orders", "user_id", type_=sa.BigInteger(), existing_type=sa.Integer())'),
    "mysql-create-index-inplace": Case(
        ("orders",), 'op.create_index("ix_orders_user_id", "orders", ["user_id"])'),
    "mysql-add-column-instant": Case(
        ("users",), 'op.add_column("users", sa.Column("note", sa.String(200), nullable=True))'),
}

SERVERS = {"postgresql": "SLUICE_TEST_POSTGRES_URL", "mysql": "SLUICE_TEST_MYSQL_PS_URL"}
DEFAULT_URLS = {"postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                "mysql": "mysql+pymysql://root@127.0.0.1:3307/test"}


def revision(rev: str, down: str | None, body: str) -> str:
    return textwrap.dedent(f'''\
        """r{rev}

        Revision ID: {rev}
        Revises: {down or ""}
        """
        import sqlalchemy as sa
        from alembic import op
        from sqlalchemy.dialects import postgresql  # noqa: F401

        revision = "{rev}"
        down_revision = {down!r}
        branch_labels = None
        depends_on = None


        def upgrade() -> None:
        ''') + textwrap.indent(body, "    ") + "\n"


def context_for(dialect: str, version: str) -> Any:
    from sluice.recipes import RecipeContext

    if dialect == "postgresql":
        major = int(version.split()[1].split(".")[0]) if " " in version else 15
        return RecipeContext("postgresql", target_postgres_version=major)
    return RecipeContext("mysql", target_mysql_version=version)


def make_project(root: Path, recipe_id: str, dialect: str, ctx: Any) -> Path:
    """The three revisions of one recipe under ``root``; returns alembic.ini."""
    from sluice.recipes import fix_source

    case = CASES[recipe_id]
    tables = PG_TABLES if dialect == "postgresql" else MYSQL_TABLES
    if root.exists():
        shutil.rmtree(root)
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    ini = root / "alembic.ini"
    ini.write_text("[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n"
                   f"sqlalchemy.url = {DEFAULT_URLS[dialect]}\n", encoding="utf-8")
    (root / "migrations" / "env.py").write_text(ENV_PY, encoding="utf-8")
    (root / "migrations" / "script.py.mako").write_text("", encoding="utf-8")
    base = "\n".join(tables[t] for t in case.tables)
    (versions / "0001_base.py").write_text(revision("0001", None, base), encoding="utf-8")
    naive = revision("0002", "0001", case.naive)
    (versions / "0002_naive.py").write_text(naive, encoding="utf-8")
    fixed = fix_source(revision("0003", "0001", case.naive), ctx, path="0003_fixed.py")
    applied = {a.recipe.id for call in fixed.fixed for a in call.applied}
    if applied != {recipe_id}:
        raise SystemExit(f"bench/recipes.py: {recipe_id}: the naive revision was rewritten "
                         f"by {sorted(applied) or 'no recipe'}")
    (versions / "0003_fixed.py").write_text(fixed.after, encoding="utf-8")
    return ini


@dataclass
class Measured:
    lock: dict[str, Any] | None
    duration_ms: float
    error: str | None = None
    wall_s: float = 0.0


def run_trace(ini: Path, rev: str, url: str, rows: int) -> tuple[list[str], Measured]:
    argv = [SLUICE, "trace", rev, "-c", str(ini), "--url", url, "--seed-rows", str(rows),
            "--no-crosscheck", "--fail-on", "never", "--format", "json"]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ini.parent, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return argv, Measured(None, 0.0, f"exit {proc.returncode}: {tail}", wall)
    data = json.loads(proc.stdout)
    (rt,) = [r for r in data["revisions"] if r["revision"] == rev]
    error = rt["error"] or data.get("failure")
    short = {t: n for t, n in rt["seeded"].items() if n != rows}
    if not error and (short or not rt["seeded"]):
        error = f"not seeded with {rows} rows: {short or 'no table'} ({data['notes']})"
    lock = rt["longest_write_blocking"]
    if lock is not None:
        (stmt,) = [s for s in rt["statements"] if s["index"] == lock["statement"]]
        lock["sql"] = " ".join(stmt["sql"].split())
    return argv, Measured(lock, rt["duration_ms"], error, wall)


def same_schema(ini: Path, url: str) -> tuple[bool, str]:
    """``0002`` and ``0003`` applied to two scratch databases: do the schemas match?"""
    import sqlalchemy as sa
    from alembic import command

    from sluice.check.snapshot import diff_snapshots, take_snapshot
    from sluice.core.project import alembic_config, forget_modules
    from sluice.owned import DATA_PROGRESS_TABLE
    from sluice.scratch import scratch_database

    snaps = []
    for rev in ("0002", "0003"):
        with scratch_database(sa.make_url(url), prefix="sluice_bench") as scratch:
            forget_modules(ini.parent)
            cfg = alembic_config(ini, url=scratch.render_as_string(hide_password=False),
                                 stdout=io.StringIO())
            command.upgrade(cfg, rev)
            engine = sa.create_engine(scratch, poolclass=sa.pool.NullPool)
            try:
                with engine.connect() as conn:
                    snaps.append(take_snapshot(conn, schemas=[None],
                                               skip={"alembic_version", DATA_PROGRESS_TABLE}))
            finally:
                engine.dispose()
    diff = diff_snapshots(snaps[0], snaps[1])
    return not diff, "; ".join(str(d) for d in diff[:2])


@dataclass
class Row:
    recipe: str
    dialect: str
    server: str
    naive: Measured
    fixed: Measured
    same: bool
    diff: str = ""
    commands: list[list[str]] = field(default_factory=list)


def server_version(url: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SELECT version()").scalar())
    finally:
        engine.dispose()


def lock_text(m: Measured) -> str:
    if m.error:
        return f"failed: {m.error}"
    if m.lock is None:
        return "none"
    return f"{m.lock['mode_label']} on {m.lock['relation']}, {m.lock['held_ms']:,.1f} ms"


def goal_text(row: Row) -> str:
    m = row.fixed
    if m.error:
        return "no (the fixed revision failed)"
    if m.lock is None or (m.lock["held_ms"] or 0.0) <= GOAL_MS:
        return "yes"
    return f"no: held {m.lock['held_ms']:,.1f} ms (line {m.lock['line']})"


def taken_by(m: Measured) -> str:
    if m.lock is None or m.error:
        return ""
    sql = m.lock["sql"]
    inner = re.search(r"\b(ALTER TABLE .*?);", sql) if sql.startswith("DO ") else None
    if inner:  # a guarded statement: the DDL it runs
        sql = f"DO: {inner.group(1)}"
    return f"`{sql if len(sql) <= 72 else sql[:69] + '...'}`"


def markdown(rows: list[Row]) -> str:
    head = ("| recipe | dialect | longest write-blocking lock, naive | fixed | "
            "fixed: taken by | duration naive | fixed | same final schema | "
            "fixed within 50 ms |\n"
            "|---|---|---|---|---|---:|---:|---|---|\n")
    body = "".join(
        f"| `{r.recipe}` | {r.dialect} | {lock_text(r.naive)} | {lock_text(r.fixed)} | "
        f"{taken_by(r.fixed)} | {r.naive.duration_ms:,.0f} ms | {r.fixed.duration_ms:,.0f} ms | "
        f"{'yes' if r.same else 'no: ' + r.diff} | {goal_text(r)} |\n" for r in rows)
    return head + body


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--only", action="append", default=[], metavar="RECIPE")
    ap.add_argument("--out", type=Path, help="also write the table, with how it was measured")
    args = ap.parse_args()

    from sluice.recipes import all_recipes

    recipes = [r for r in all_recipes() if not args.only or r.id in args.only]
    missing = [r.id for r in recipes if r.id not in CASES]
    if missing:
        print(f"bench/recipes.py: no naive case for recipe(s) {', '.join(missing)}; "
              "add them to CASES", file=sys.stderr)
        return 2
    urls = {d: os.environ.get(var, DEFAULT_URLS[d]) for d, var in SERVERS.items()}
    versions = {d: server_version(u) for d, u in urls.items()
                if any(r.dialect == d for r in recipes)}
    rows: list[Row] = []
    started = datetime.datetime.now(datetime.UTC)
    for recipe in recipes:
        url, version = urls[recipe.dialect], versions[recipe.dialect]
        target = version if recipe.dialect == "postgresql" else _mysql_target(version)
        ctx = context_for(recipe.dialect, target)
        ini = make_project(WORK / recipe.id, recipe.id, recipe.dialect, ctx)
        print(f"{recipe.id}: naive", file=sys.stderr, flush=True)
        argv, naive = run_trace(ini, "0002", url, args.rows)
        print(f"{recipe.id}: fixed", file=sys.stderr, flush=True)
        _, fixed = run_trace(ini, "0003", url, args.rows)
        same, diff = same_schema(ini, url)
        dialect = "PostgreSQL" if recipe.dialect == "postgresql" else "MariaDB"
        rows.append(Row(recipe.id, dialect, version, naive, fixed, same, diff, [argv]))
        print(f"{recipe.id}: naive {lock_text(naive)}, {naive.duration_ms:,.0f} ms; "
              f"fixed {lock_text(fixed)}, {fixed.duration_ms:,.0f} ms", file=sys.stderr,
              flush=True)
    table = markdown(rows)
    print(table, end="")
    if args.out:
        args.out.write_text(report(rows, table, args, started, versions), encoding="utf-8")
    return 0 if all(r.same and not r.naive.error and not r.fixed.error for r in rows) else 1


def _mysql_target(version: str) -> str:
    nums = version.split("-")[0].split(".")
    flavor = "mariadb-" if "mariadb" in version.lower() else ""
    return f"{flavor}{nums[0]}.{nums[1]}"


def describe_code() -> str:
    """The commit measured (``git rev-parse --short HEAD``), and whether the working tree
    had uncommitted changes in ``src/`` or ``bench/``."""
    def git(*argv: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *argv], capture_output=True,
                              text=True).stdout.strip()
    sha = git("rev-parse", "--short", "HEAD") or "an unknown commit"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src", "bench")
    return f"commit {sha}" + (" (the working tree had uncommitted changes)" if dirty else "")


def report(rows: list[Row], table: str, args: argparse.Namespace,
           started: datetime.datetime, versions: dict[str, str]) -> str:
    servers = "; ".join(f"`{v.split(' on ')[0]}`" if d == "postgresql" else f"MariaDB `{v}`"
                        for d, v in versions.items())
    rows_text = f"{args.rows:,}"
    return (
        f"Measured on {started:%Y-%m-%d} at {describe_code()} with `.venv/bin/python "
        f"bench/recipes.py --rows {args.rows}`: {rows_text} rows seeded into every table, each revision "
        f"traced by `sluice trace REV --seed-rows {args.rows} --no-crosscheck --format json`"
        f" on a scratch database; {servers}; a 2-core machine shared with other work "
        "(single runs, wall-clock, noisy). Lock times are how long the lock was held: "
        "inside a transaction from the statement that took it to the commit; for a "
        "statement that commits on its own (PostgreSQL `autocommit_block`, every MariaDB "
        "DDL) the longest unbroken stretch the sampler saw it held, an upper bound. "
        "Trace's own catalog reads after each statement run while a transaction's locks "
        "are held, so in-transaction figures include them (a few milliseconds per "
        "statement). Durations are the revision's run as trace measured it, seeding "
        "excluded.\n\n"
        + table)


if __name__ == "__main__":
    sys.exit(main())
