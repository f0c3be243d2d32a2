"""Each recipe on a real server: the naive revision on one scratch database, the revision
``sluice fix`` rewrote on another; the final schemas compare identical (check's snapshot
comparison), the fixed revision's downgrade restores the schema before it, a rerun after
the steps already ran completes, ``sluice fix`` changes nothing the second time, and the
fixed revision lints clean of the rules its recipes answer (and of anything new)."""

from __future__ import annotations

import functools
import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from sluice.check.snapshot import Snapshot, diff_snapshots, take_snapshot
from sluice.core.project import alembic_config
from sluice.owned import DATA_PROGRESS_TABLE
from sluice.scratch import scratch_database
from tests.support.cli import run_cli
from tests.support.databases import DatabasePool
from tests.support.modules import forget_modules
from tests.support.revisions import revision_source
from tests.support.servers import server_url

ENV_PY = '''\
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config


def run() -> None:
    engine = engine_from_config(config.get_section(config.config_ini_section),
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()


run()
'''

BASE_PG = '''\
    op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("email", sa.String(100)), sa.Column("name", sa.String(50)))
    op.create_table("orders", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("user_id", sa.Integer()), sa.Column("total", sa.Integer()))
    op.create_table("events", sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("kind", sa.String(20)))
    op.create_index("ix_orders_total", "orders", ["total"])
    op.execute("INSERT INTO users (id, email, name) SELECT g, 'u' || g || '@x.org', 'n' || g "
               "FROM generate_series(1, 300) AS g")
    op.execute("INSERT INTO orders (id, user_id, total) SELECT g, g % 300 + 1, g "
               "FROM generate_series(1, 400) AS g")
    op.execute("INSERT INTO events (id, kind) SELECT g, 'k' FROM generate_series(1, 300) AS g")
'''

BASE_MYSQL = '''\
    op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("email", sa.String(100)), sa.Column("name", sa.String(50)))
    op.create_table("orders", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("user_id", sa.Integer()), sa.Column("total", sa.Integer()))
    users = sa.table("users", sa.column("id"), sa.column("email"), sa.column("name"))
    op.bulk_insert(users, [{"id": i, "email": f"u{i}@x.org", "name": f"n{i}"}
                           for i in range(1, 301)])
'''


@dataclass(frozen=True)
class Case:
    recipe: str
    rules: tuple[str, ...]
    upgrade: str
    downgrade: str


PG_CASES = [
    Case("pg-create-index-concurrently", ("SL201",),
         'op.create_index("ix_orders_user_id", "orders", ["user_id"])',
         'op.drop_index("ix_orders_user_id", table_name="orders")'),
    Case("pg-drop-index-concurrently", ("SL202",),
         'op.drop_index("ix_orders_total", table_name="orders")',
         'op.create_index("ix_orders_total", "orders", ["total"])'),
    Case("pg-unique-constraint-using-index", ("SL205",),
         'op.create_unique_constraint("uq_users_email", "users", ["email"])',
         'op.drop_constraint("uq_users_email", "users", type_="unique")'),
    Case("pg-primary-key-using-index", ("SL205",),
         'op.create_primary_key("pk_events", "events", ["id"])',
         'op.drop_constraint("pk_events", "events", type_="primary")'),
    Case("pg-foreign-key-not-valid", ("SL203",),
         'op.create_foreign_key("fk_orders_user_id", "orders", "users", ["user_id"], ["id"])',
         'op.drop_constraint("fk_orders_user_id", "orders", type_="foreignkey")'),
    Case("pg-check-not-valid", ("SL204",),
         'op.create_check_constraint("ck_orders_total", "orders", "total >= 0")',
         'op.drop_constraint("ck_orders_total", "orders", type_="check")'),
    Case("pg-set-not-null-via-check", ("SL206",),
         'op.alter_column("users", "name", existing_type=sa.String(50), nullable=False)',
         'op.alter_column("users", "name", existing_type=sa.String(50), nullable=True)'),
    Case("pg-add-column-backfill", ("SL207",),
         'op.add_column("users", sa.Column("token", postgresql.UUID(), nullable=False, '
         'server_default=sa.text("gen_random_uuid()")))',
         'op.drop_column("users", "token")'),
    Case("pg-alter-type-expand-contract", ("SL208",),
         'op.alter_column("orders", "user_id", type_=sa.BigInteger(), existing_type=sa.Integer())',
         'op.alter_column("orders", "user_id", type_=sa.Integer(), existing_type=sa.BigInteger())'),
]

MYSQL_CASES = [
    Case("mysql-create-index-inplace", (),
         'op.create_index("ix_orders_user_id", "orders", ["user_id"])',
         'op.drop_index("ix_orders_user_id", table_name="orders")'),
    Case("mysql-add-column-instant", (),
         'op.add_column("users", sa.Column("note", sa.String(200), nullable=True))',
         'op.drop_column("users", "note")'),
]


def _revision(rev: str, down: str | None, upgrade: str, downgrade: str) -> str:
    return revision_source(rev, down, upgrade, downgrade, imports='from sqlalchemy.dialects import postgresql  # noqa: F401')


def _project(root: Path, url: str, base: str, case: Case) -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(
        f"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {url}\n", encoding="utf-8")
    if url.startswith("mysql"):
        (root / "pyproject.toml").write_text(
            '[tool.sluice.lint]\ntarget_mysql_version = "mariadb-10.11"\n', encoding="utf-8")
    (root / "migrations" / "env.py").write_text(ENV_PY, encoding="utf-8")
    (root / "migrations" / "script.py.mako").write_text("", encoding="utf-8")
    drops = "".join(f'op.drop_table("{t}")\n' for t in ("events", "orders", "users")
                    if f'"{t}"' in base)
    (versions / "0001_base.py").write_text(_revision("0001", None, base, drops),
                                           encoding="utf-8")
    (versions / "0002_change.py").write_text(
        _revision("0002", "0001", case.upgrade + "\n", case.downgrade + "\n"), encoding="utf-8")
    return root


def _alembic(root: Path, url: str, fn: str, rev: str) -> None:
    forget_modules(root)
    cfg = alembic_config(root / "alembic.ini", url=url, stdout=io.StringIO())
    getattr(command, fn)(cfg, rev)


def _snapshot(url: str) -> Snapshot:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return take_snapshot(conn, schemas=[None],
                                 skip={"alembic_version", DATA_PROGRESS_TABLE})
    finally:
        engine.dispose()


def _lint_rules(root: Path, dialect: str, extra: tuple[str, ...] = ()) -> set[str]:
    import json

    result = run_cli(["lint", "-c", str(root / "alembic.ini"), "--all",
                                       "--dialect", dialect, "--no-cache", "--format", "json",
                                       "--fail-on", "info", *extra])
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    findings = data["findings"] if isinstance(data, dict) else data
    return {f["rule"] for f in findings if str(f.get("path", "")).endswith("0002_change.py")}


@pytest.fixture
def two_databases(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    backend = request.param
    if backend == "postgresql":  # the conftest's databases, made ahead
        pool: DatabasePool = request.getfixturevalue("pg_databases")
        with pool.fresh() as a, pool.fresh() as b:
            yield a, b
        return
    server = server_url(backend)
    with scratch_database(server, prefix="sluice_t") as a_url, \
            scratch_database(server, prefix="sluice_t") as b_url:
        yield (a_url.render_as_string(hide_password=False),
               b_url.render_as_string(hide_password=False))


def _run_case(tmp_path: Path, urls: tuple[str, str], base: str, case: Case, dialect: str,
              extra: tuple[str, ...] = ()) -> tuple[Path, str]:
    naive_url, fixed_url = urls
    naive = _project(tmp_path / "naive", naive_url, base, case)
    fixed = tmp_path / "fixed"
    shutil.copytree(naive, fixed)
    ini = fixed / "alembic.ini"
    ini.write_text(ini.read_text(encoding="utf-8").replace(naive_url, fixed_url),
                   encoding="utf-8")

    # sluice fix: --diff first (exit 1, nothing written), then for real, then again
    change = fixed / "migrations" / "versions" / "0002_change.py"
    before = change.read_text(encoding="utf-8")
    args = ["fix", "-c", str(ini), "--dialect", dialect, *extra]
    shown = run_cli([*args, "--diff"])
    assert shown.exit_code == 1, shown.output
    assert change.read_text(encoding="utf-8") == before
    assert "+++ b/" in shown.stdout and case.recipe in shown.stderr
    done = run_cli(args)
    assert done.exit_code == 0, done.output
    after = change.read_text(encoding="utf-8")
    assert after != before and done.stdout == shown.stdout
    again = run_cli([*args, "--diff"])
    assert again.exit_code == 0 and again.stdout == "", again.output
    assert change.read_text(encoding="utf-8") == after

    # the same final schema; the downgrade restores the schema before the change
    _alembic(naive, naive_url, "upgrade", "0001")
    start = _snapshot(naive_url)
    _alembic(naive, naive_url, "upgrade", "head")
    want = _snapshot(naive_url)
    _alembic(fixed, fixed_url, "upgrade", "head")
    got = _snapshot(fixed_url)
    assert diff_snapshots(want, got) == [], after
    # a rerun after every step ran (a kill before the version row was written) completes
    _alembic(fixed, fixed_url, "stamp", "0001")
    _alembic(fixed, fixed_url, "upgrade", "head")
    assert diff_snapshots(want, _snapshot(fixed_url)) == []
    _alembic(fixed, fixed_url, "downgrade", "0001")
    assert diff_snapshots(start, _snapshot(fixed_url)) == []
    return fixed, after


@pytest.mark.postgres
@pytest.mark.parametrize("two_databases", ["postgresql"], indirect=True)
@pytest.mark.parametrize("case", PG_CASES, ids=[c.recipe for c in PG_CASES])
def test_postgres_recipe(tmp_path: Path, two_databases: tuple[str, str], case: Case) -> None:
    fixed, after = _run_case(tmp_path, two_databases, BASE_PG, case, "postgresql")
    naive_rules = _lint_rules(tmp_path / "naive", "postgresql")
    assert set(case.rules) <= naive_rules
    fixed_rules = _lint_rules(fixed, "postgresql")
    assert not fixed_rules & set(case.rules), after
    assert fixed_rules <= naive_rules, (fixed_rules - naive_rules, after)


@pytest.mark.postgres
@pytest.mark.parametrize("two_databases", ["postgresql"], indirect=True)
def test_postgres_invalid_leftover_is_rebuilt(tmp_path: Path,
                                               two_databases: tuple[str, str]) -> None:
    """A concurrent build killed half-way leaves an INVALID index of the same name; the
    rerun drops it and builds a valid one (IF NOT EXISTS alone would keep it)."""
    case = PG_CASES[0]
    fixed, _ = _run_case(tmp_path, two_databases, BASE_PG, case, "postgresql")
    url = two_databases[1]
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    _alembic(fixed, url, "upgrade", "head")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE pg_index SET indisvalid = false "
                             "WHERE indexrelid = 'ix_orders_user_id'::regclass")
    _alembic(fixed, url, "stamp", "0001")
    _alembic(fixed, url, "upgrade", "head")
    with engine.connect() as conn:
        valid = conn.exec_driver_sql("SELECT indisvalid FROM pg_index "
                                     "WHERE indexrelid = 'ix_orders_user_id'::regclass").scalar()
    engine.dispose()
    assert valid is True


@pytest.mark.mysql
@pytest.mark.parametrize("two_databases", ["mysql"], indirect=True)
@pytest.mark.parametrize("case", MYSQL_CASES, ids=[c.recipe for c in MYSQL_CASES])
def test_mariadb_recipe(tmp_path: Path, two_databases: tuple[str, str], case: Case) -> None:
    fixed, after = _run_case(tmp_path, two_databases, BASE_MYSQL, case, "mysql")
    assert "ALGORITHM=" in after
    naive_rules = _lint_rules(tmp_path / "naive", "mysql")
    assert _lint_rules(fixed, "mysql") <= naive_rules


@pytest.mark.postgres
@pytest.mark.parametrize("two_databases", ["postgresql"], indirect=True)
def test_postgres_lock_timeout_trips_mid_recipe_and_a_rerun_completes(
        tmp_path: Path, two_databases: tuple[str, str]) -> None:
    """The production lock_timeout is written into the recipe; when a long transaction
    holds the table, the ALTER after the concurrent build gives up instead of queueing
    traffic, and running the revision again, once the table is free, completes it."""
    url = two_databases[1]
    root = _project(tmp_path / "p", url, BASE_PG, PG_CASES[2])  # unique constraint
    (root / "pyproject.toml").write_text(
        '[tool.sluice]\ndefault_environment = "prod"\n\n'
        '[tool.sluice.environments.prod]\nlock_timeout = "300ms"\n', encoding="utf-8")
    done = run_cli(["fix", "-c", str(root / "alembic.ini"), "--dialect",
                                     "postgresql"])
    assert done.exit_code == 0, done.output
    text = (root / "migrations" / "versions" / "0002_change.py").read_text(encoding="utf-8")
    assert "SET lock_timeout = '300ms'" in text and "SET LOCAL" not in text
    _alembic(root, url, "upgrade", "0001")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as holder:
            holder.exec_driver_sql("BEGIN")
            holder.exec_driver_sql("LOCK TABLE users IN ACCESS SHARE MODE")
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                _alembic(root, url, "upgrade", "head")
            holder.exec_driver_sql("ROLLBACK")
        with engine.connect() as conn:
            insp = sa.inspect(conn)
            assert [i["name"] for i in insp.get_indexes("users")] == ["uq_users_email"]
            assert insp.get_unique_constraints("users") == []
        _alembic(root, url, "upgrade", "head")
        with engine.connect() as conn:
            names = [c["name"] for c in sa.inspect(conn).get_unique_constraints("users")]
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        assert (names, version) == (["uq_users_email"], "0002")
    finally:
        engine.dispose()


def _recorded(call: str) -> list[Any]:
    """The Alembic op object of one ``op.<name>(...)`` call, recorded, not run."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.dialects import postgresql

    seen: list[Any] = []

    class Recorder(Operations):
        def invoke(self, operation: Any) -> Any:
            seen.append(operation)

    rec = Recorder(MigrationContext.configure(dialect_name="postgresql", opts={"as_sql": True}))
    eval(call, {"op": rec, "sa": sa, "postgresql": postgresql})  # noqa: S307 - test input
    return seen


def _kill_points(steps: list[Any]) -> list[list[Any]]:
    """What a kill can leave committed: every prefix ending where a commit happens (the
    start of an autocommit block, each statement inside one, before and after a backfill)."""
    from sluice.recipes.steps import AutocommitBlock, Backfill

    out: list[list[Any]] = []
    for i, step in enumerate(steps):
        if isinstance(step, AutocommitBlock):
            out.append(steps[:i])
            out += [steps[:i] + [AutocommitBlock(step.ops[:j], step.lock_timeout)]
                    for j in range(1, len(step.ops) + 1)]
        elif isinstance(step, Backfill):
            out += [steps[:i], steps[:i + 1]]
    return out


@pytest.mark.postgres
@pytest.mark.parametrize("two_databases", ["postgresql"], indirect=True)
@pytest.mark.parametrize("case", PG_CASES, ids=[c.recipe for c in PG_CASES])
def test_postgres_rerun_after_a_kill_at_any_point_completes(
        tmp_path: Path, two_databases: tuple[str, str], case: Case) -> None:
    """For every point where a kill leaves part of the recipe committed: that part, then the
    whole fixed revision again, ends in the naive revision's schema."""
    from sluice.recipes import RecipeContext, apply_recipes
    from sluice.recipes.steps import autogen_context, render_lines

    naive_url, url = two_databases
    naive = _project(tmp_path / "naive", naive_url, BASE_PG, case)
    _alembic(naive, naive_url, "upgrade", "head")
    want = _snapshot(naive_url)
    root = _project(tmp_path / "p", url, BASE_PG, case)
    change = root / "migrations" / "versions" / "0002_change.py"
    assert run_cli(["fix", "-c", str(root / "alembic.ini"), "--dialect",
                                     "postgresql"]).exit_code == 0
    fixed = change.read_text(encoding="utf-8")
    steps = apply_recipes(_recorded(case.upgrade), RecipeContext("postgresql")).ops
    points = _kill_points(steps)
    assert points, "every recipe commits somewhere before its end"
    actx = autogen_context("postgresql")
    _alembic(root, url, "upgrade", "0001")
    for prefix in points:
        body = "\n".join(line for o in prefix for line in render_lines(actx, o)) or "pass"
        change.write_text(_revision("0002", "0001", body + "\n", case.downgrade + "\n")
                          .replace("import sqlalchemy as sa\n", "import sqlalchemy as sa\n"
                                   "from sluice.data import batched_update  # noqa: F401\n"
                                   "from sluice.recipes.naming import conventional_name  "
                                   "# noqa: F401\n"),
                          encoding="utf-8")
        _alembic(root, url, "upgrade", "head")  # the part that was committed
        _alembic(root, url, "stamp", "0001")    # ... and no version row
        change.write_text(fixed, encoding="utf-8")
        _alembic(root, url, "upgrade", "head")  # the rerun
        assert diff_snapshots(want, _snapshot(url)) == [], body
        _alembic(root, url, "downgrade", "0001")


GUARDED_ENV_PY = ENV_PY.replace(
    "from sqlalchemy import engine_from_config, pool\n",
    "from sqlalchemy import engine_from_config, pool\n\nfrom sluice import configure_options\n",
).replace("target_metadata=None)", "target_metadata=None,\n                          **configure_options(config))")


@pytest.mark.postgres
@pytest.mark.parametrize("two_databases", ["postgresql"], indirect=True)
@pytest.mark.parametrize("case", [PG_CASES[0], PG_CASES[2], PG_CASES[7]],
                         ids=[PG_CASES[i].recipe for i in (0, 2, 7)])
def test_postgres_fixed_revision_passes_the_production_guards(
        tmp_path: Path, two_databases: tuple[str, str], case: Case) -> None:
    """`sluice upgrade --env prod` (lint guard, configured timeouts, audit rows) refuses the
    naive revision and applies the fixed one: nothing in a recipe trips a guard."""
    url = two_databases[1]
    root = _project(tmp_path / "p", url, BASE_PG, case)
    assert GUARDED_ENV_PY != ENV_PY
    (root / "migrations" / "env.py").write_text(GUARDED_ENV_PY, encoding="utf-8")
    (root / "pyproject.toml").write_text(
        '[tool.sluice]\ndefault_environment = "prod"\n\n[tool.sluice.environments.prod]\n'
        'require_backup = false\nlock_timeout = "2s"\n', encoding="utf-8")
    ini = root / "alembic.ini"
    refused = run_cli(["upgrade", "-c", ini, "--env", "prod", "--yes"])
    assert refused.exit_code == 1 and case.rules[0] in refused.output, refused.output
    assert run_cli(["fix", "-c", ini]).exit_code == 0
    result = run_cli(["upgrade", "-c", ini, "--env", "prod", "--yes"])
    assert result.exit_code == 0, result.output
    assert "now at 0002" in result.output


@pytest.mark.postgres
def test_postgres_recipes_quote_names_and_schemas_and_run_twice(pg_url: str) -> None:
    """Mixed-case names in a schema of their own: every statement of every recipe quotes
    them, and running the whole sequence a second time changes nothing."""
    from alembic.operations import Operations, ops
    from alembic.runtime.migration import MigrationContext

    from sluice.recipes import RecipeContext, apply_recipes
    from sluice.recipes.naming import conventional_name
    from sluice.recipes.steps import autogen_context, render_lines

    naive = [ops.CreateIndexOp("Ix_Email", "Users", ["Email"], schema="S"),
             ops.CreateUniqueConstraintOp("Uq_Email", "Users", ["Email"], schema="S"),
             ops.CreateForeignKeyOp("Fk_Ref", "Users", "p", ["ref"], ["id"],
                                    source_schema="S", referent_schema="S"),
             ops.CreateCheckConstraintOp("Ck_N", "Users", "n > 0", schema="S"),
             ops.AlterColumnOp("Users", "n", schema="S", existing_type=sa.Integer(),
                               modify_nullable=False)]
    result = apply_recipes(naive, RecipeContext("postgresql"))
    assert len(result.applied) == len(naive)
    actx = autogen_context("postgresql")
    code = "\n".join(line for o in result.ops for line in render_lines(actx, o))
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(
                'CREATE SCHEMA "S"; CREATE TABLE "S".p (id int PRIMARY KEY); '
                'CREATE TABLE "S"."Users" (id int PRIMARY KEY, "Email" text, ref int, n int); '
                'INSERT INTO "S".p VALUES (1); INSERT INTO "S"."Users" '
                "SELECT g, 'e' || g, 1, g FROM generate_series(1, 200) AS g")
            conn.commit()
            mc = MigrationContext.configure(conn)
            with mc.begin_transaction():
                for _ in range(2):
                    exec(code, {"op": Operations(mc), "sa": sa,  # noqa: S102 - rendered recipe
                                "conventional_name": conventional_name})
            conn.commit()
            insp = sa.inspect(conn)
            assert {i["name"] for i in insp.get_indexes("Users", schema="S")} == {
                "Ix_Email", "Uq_Email"}
            assert [u["name"] for u in insp.get_unique_constraints("Users", schema="S")] == [
                "Uq_Email"]
            assert [f["name"] for f in insp.get_foreign_keys("Users", schema="S")] == ["Fk_Ref"]
            assert [c["name"] for c in insp.get_check_constraints("Users", schema="S")] == [
                "Ck_N"]
            n = [c for c in insp.get_columns("Users", schema="S") if c["name"] == "n"]
            assert n[0]["nullable"] is False
            invalid = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_index WHERE NOT indisvalid").scalar()
            not_validated = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_constraint WHERE NOT convalidated").scalar()
            assert (invalid, not_validated) == (0, 0)
    finally:
        engine.dispose()


def _run_ops(conn: Any, operations: list[Any]) -> None:
    """Render ``operations`` as revision code and run it on ``conn`` (Alembic's ``op``)."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    from sluice.data import batched_update
    from sluice.recipes.steps import autogen_context, render_lines

    actx = autogen_context("postgresql")
    code = "\n".join(line for o in operations for line in render_lines(actx, o))
    mc = MigrationContext.configure(conn)
    with Operations.context(mc), mc.begin_transaction():
        exec(code, {"op": Operations(mc), "sa": sa,  # noqa: S102 - rendered recipe
                    "batched_update": functools.partial(batched_update, revision="r1")})
    conn.commit()


@pytest.mark.postgres
def test_postgres_type_change_keeps_writes_default_comment_and_not_null(pg_url: str) -> None:
    """Rows written between the expand step and the swap get the new column through the
    trigger; the swapped column keeps the old one's default, comment and NOT NULL, and no
    helper object is left."""
    from alembic.operations import ops

    from sluice.recipes import RecipeContext, apply_recipes
    from sluice.recipes.steps import Backfill

    naive = ops.AlterColumnOp("Items", "Qty", schema="S", existing_type=sa.Integer(),
                              modify_type=sa.BigInteger(), existing_nullable=False)
    steps = apply_recipes([naive], RecipeContext("postgresql")).ops
    cut = next(i for i, s in enumerate(steps) if isinstance(s, Backfill)) + 1
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(
                'CREATE SCHEMA "S"; CREATE TABLE "S"."Items" (id int PRIMARY KEY, '
                '"Qty" int NOT NULL DEFAULT 7); COMMENT ON COLUMN "S"."Items"."Qty" IS \'how many\';'
                'INSERT INTO "S"."Items" SELECT g, g FROM generate_series(1, 300) AS g')
            conn.commit()
            _run_ops(conn, steps[:cut])  # the expand revision
            conn.exec_driver_sql('INSERT INTO "S"."Items" (id) VALUES (1000)')
            conn.exec_driver_sql('UPDATE "S"."Items" SET "Qty" = 5000000 WHERE id = 1')
            conn.commit()
            _run_ops(conn, steps[cut:])  # the contract revision
            _run_ops(conn, steps[cut:])  # ... run again: nothing left to do
            col = next(c for c in sa.inspect(conn).get_columns("Items", schema="S")
                       if c["name"] == "Qty")
            assert (str(col["type"]), col["nullable"], col["default"], col["comment"]) == (
                "BIGINT", False, "7", "how many")
            rows = conn.exec_driver_sql(
                'SELECT count(*), sum("Qty"), max("Qty") FROM "S"."Items"').one()
            assert tuple(rows) == (301, sum(range(2, 301)) + 5000000 + 7, 5000000)
            left = conn.exec_driver_sql(
                "SELECT (SELECT count(*) FROM pg_trigger WHERE tgname = 'Qty__sync') + "
                "(SELECT count(*) FROM pg_proc WHERE proname = 'Items_Qty__sync') + "
                "(SELECT count(*) FROM pg_constraint WHERE conname = 'ck_Items_Qty_not_null') + "
                "(SELECT count(*) FROM pg_attribute WHERE attname = 'Qty__new')").scalar()
            assert left == 0
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_type_change_of_an_indexed_column_stops_naming_the_index(pg_url: str) -> None:
    """The recipe cannot see the database: on a column an index depends on, the expand
    step stops before adding anything, with an error naming the index."""
    from alembic.operations import ops

    from sluice.recipes import RecipeContext, apply_recipes

    naive = ops.AlterColumnOp("orders", "total", existing_type=sa.Integer(),
                              modify_type=sa.BigInteger())
    steps = apply_recipes([naive], RecipeContext("postgresql")).ops
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE orders (id int PRIMARY KEY, total int); "
                                 "CREATE INDEX ix_orders_total ON orders (total)")
            conn.commit()
            with pytest.raises(sa.exc.DBAPIError, match=r"index ix_orders_total depend on "
                               r"column total; drop them first, or change the type by hand"):
                _run_ops(conn, steps[:1])
            conn.rollback()
            names = [c["name"] for c in sa.inspect(conn).get_columns("orders")]
            assert names == ["id", "total"]
            conn.exec_driver_sql("DROP INDEX ix_orders_total; "
                                 "ALTER TABLE orders DROP CONSTRAINT orders_pkey")
            conn.commit()
            with pytest.raises(sa.exc.DBAPIError, match=r"table orders has no primary key"):
                _run_ops(conn, steps[:1])
            conn.rollback()
            names = [c["name"] for c in sa.inspect(conn).get_columns("orders")]
            assert names == ["id", "total"]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_type_change_narrowing_raises_instead_of_truncating(pg_url: str) -> None:
    """A value that does not fit the new type stops the backfill with PostgreSQL's error,
    as the plain ALTER ... TYPE would; nothing is truncated. (A narrowing is rewritten in
    a downgrade only: in an upgrade SL101 keeps refusing it.)"""
    from alembic.operations import ops

    from sluice.recipes import RecipeContext, apply_recipes

    naive = ops.AlterColumnOp("notes", "body", existing_type=sa.String(50),
                              modify_type=sa.String(3))
    steps = apply_recipes([naive], RecipeContext("postgresql", phase="downgrade")).ops
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE notes (id int PRIMARY KEY, body varchar(50)); "
                                 "INSERT INTO notes VALUES (1, 'ab'), (2, 'abcdef')")
            conn.commit()
            with pytest.raises(Exception, match="value too long for type character varying"):
                _run_ops(conn, steps)
            conn.rollback()
            rows = conn.exec_driver_sql("SELECT body, body__new FROM notes ORDER BY id").all()
            assert [tuple(r) for r in rows] == [("ab", None), ("abcdef", None)]
    finally:
        engine.dispose()
