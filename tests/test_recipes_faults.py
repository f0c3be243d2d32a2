"""Each recipe's fixed revision under faults and under ``sluice trace``, on real servers.

- A kill at any point: ``alembic upgrade head`` runs the fixed revision in a subprocess
  whose env.py counts the statements it sends and SIGKILLs its own process right after
  statement k, for every k after which the database can have changed; the rerun must
  complete with the same final schema as a clean run.
- Structure, measured by trace on a small table (2,000 rows, no timings asserted): no
  statement that scans, builds or rewrites a pre-existing table holds a lock that blocks
  writes to it, neither its own nor one an earlier statement of its transaction still
  holds; every write-blocking lock there is is taken by a catalog-only statement. The
  naive revision, traced the same way, breaks that (so the check can fail).
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from sluice.check.snapshot import Snapshot, diff_snapshots, take_snapshot
from sluice.core.project import alembic_config
from sluice.owned import DATA_PROGRESS_TABLE
from sluice.recipes import RecipeContext, all_recipes, fix_source
from sluice.scratch import scratch_database
from sluice.trace import TraceResult, trace
from sluice.trace.model import Statement
from tests.support.databases import DatabasePool
from tests.support.forkserver import ForkServer, alembic_forks
from tests.support.modules import forget_modules
from tests.support.servers import server_url

ROWS = 2000
ALEMBIC = str(Path(sys.executable).with_name("alembic"))

#: env.py: statements are counted process-wide (every engine, the backfill's too); with
#: SLUICE_TEST_KILL_AT=k the process SIGKILLs itself right after the k-th; with
#: SLUICE_TEST_STATEMENTS=FILE each statement's first line is appended to FILE. With
#: neither (the upgrade to 0001 in the test's own process, the rerun) nothing is hooked.
ENV_PY = '''\
import os
import signal

from alembic import context
from sqlalchemy import engine_from_config, event, pool
from sqlalchemy.engine import Engine

_kill_at = int(os.environ.get("SLUICE_TEST_KILL_AT") or 0)
_log = os.environ.get("SLUICE_TEST_STATEMENTS")
_count = 0


def _after(conn, cursor, statement, parameters, context_, executemany):
    global _count
    _count += 1
    if _log:
        with open(_log, "a", encoding="utf-8") as f:
            f.write(" ".join(statement.split())[:200] + "\\n")
    if _count == _kill_at:
        os.kill(os.getpid(), signal.SIGKILL)


if _kill_at or _log:  # else nothing to do; in process, a listener would outlive the run
    event.listen(Engine, "after_cursor_execute", _after)

config = context.config
engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                            prefix="sqlalchemy.", poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
'''

BASE = {
    "postgresql": f'''\
        op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True),
                        sa.Column("email", sa.String(100)), sa.Column("name", sa.String(50)))
        op.create_table("orders", sa.Column("id", sa.Integer(), primary_key=True),
                        sa.Column("user_id", sa.Integer()), sa.Column("total", sa.Integer()))
        op.create_table("events", sa.Column("id", sa.Integer(), nullable=False),
                        sa.Column("kind", sa.String(20)))
        op.create_index("ix_orders_total", "orders", ["total"])
        op.execute("INSERT INTO users (id, email, name) SELECT g, 'u' || g || '@x.org', "
                   "'n' || g FROM generate_series(1, {ROWS}) AS g")
        op.execute("INSERT INTO orders (id, user_id, total) SELECT g, g % {ROWS} + 1, g "
                   "FROM generate_series(1, {ROWS}) AS g")
        op.execute("INSERT INTO events (id, kind) SELECT g, 'k' "
                   "FROM generate_series(1, {ROWS}) AS g")
        ''',
    "mysql": f'''\
        op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True),
                        sa.Column("email", sa.String(100)), sa.Column("name", sa.String(50)))
        op.create_table("orders", sa.Column("id", sa.Integer(), primary_key=True),
                        sa.Column("user_id", sa.Integer()), sa.Column("total", sa.Integer()))
        op.execute("INSERT INTO users (id, email, name) SELECT seq, CONCAT('u', seq, "
                   "'@x.org'), CONCAT('n', seq) FROM seq_1_to_{ROWS}")
        op.execute("INSERT INTO orders (id, user_id, total) SELECT seq, seq % {ROWS} + 1, "
                   "seq FROM seq_1_to_{ROWS}")
        ''',
}


@dataclass(frozen=True)
class Case:
    recipe: str
    dialect: str
    naive: str


CASES = [
    Case("pg-create-index-concurrently", "postgresql",
         'op.create_index("ix_orders_user_id", "orders", ["user_id"])'),
    Case("pg-drop-index-concurrently", "postgresql",
         'op.drop_index("ix_orders_total", table_name="orders")'),
    Case("pg-unique-constraint-using-index", "postgresql",
         'op.create_unique_constraint("uq_users_email", "users", ["email"])'),
    Case("pg-primary-key-using-index", "postgresql",
         'op.create_primary_key("pk_events", "events", ["id"])'),
    Case("pg-foreign-key-not-valid", "postgresql",
         'op.create_foreign_key("fk_orders_user_id", "orders", "users", ["user_id"], ["id"])'),
    Case("pg-check-not-valid", "postgresql",
         'op.create_check_constraint("ck_orders_total", "orders", "total >= 0")'),
    Case("pg-set-not-null-via-check", "postgresql",
         'op.alter_column("users", "name", existing_type=sa.String(50), nullable=False)'),
    Case("pg-add-column-backfill", "postgresql",
         'op.add_column("users", sa.Column("token", postgresql.UUID(), nullable=False, '
         'server_default=sa.text("gen_random_uuid()")))'),
    Case("pg-alter-type-expand-contract", "postgresql",
         'op.alter_column("orders", "user_id", type_=sa.BigInteger(), existing_type=sa.Integer())'),
    Case("mysql-create-index-inplace", "mysql",
         'op.create_index("ix_orders_user_id", "orders", ["user_id"])'),
    Case("mysql-add-column-instant", "mysql",
         'op.add_column("users", sa.Column("note", sa.String(200), nullable=True))'),
]
PG_CASES = [c for c in CASES if c.dialect == "postgresql"]
MYSQL_CASES = [c for c in CASES if c.dialect == "mysql"]
CONTEXT = {"postgresql": RecipeContext("postgresql", target_postgres_version=14),
           "mysql": RecipeContext("mysql", target_mysql_version="mariadb-10.11")}


def test_every_recipe_has_a_case() -> None:
    assert [c.recipe for c in CASES] == [r.id for r in all_recipes()]


def _revision(rev: str, down: str | None, body: str) -> str:
    return textwrap.dedent(f'''\
        """r{rev}"""
        import sqlalchemy as sa
        from alembic import op
        from sqlalchemy.dialects import postgresql  # noqa: F401

        revision = "{rev}"
        down_revision = {down!r}
        branch_labels = None
        depends_on = None


        def upgrade() -> None:
        ''') + textwrap.indent(textwrap.dedent(body), "    ")


def _project(root: Path, case: Case, *, fixed: bool = True) -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    ini = root / "alembic.ini"
    ini.write_text("[alembic]\nscript_location = %(here)s/migrations\n"
                   f"sqlalchemy.url = {case.dialect}://unused\n", encoding="utf-8")
    (root / "migrations" / "env.py").write_text(ENV_PY, encoding="utf-8")
    (root / "migrations" / "script.py.mako").write_text("", encoding="utf-8")
    (versions / "0001_base.py").write_text(_revision("0001", None, BASE[case.dialect]),
                                           encoding="utf-8")
    text = _revision("0002", "0001", case.naive + "\n")
    if fixed:
        result = fix_source(text, CONTEXT[case.dialect])
        assert [a.recipe.id for c in result.fixed for a in c.applied] == [case.recipe]
        text = result.after
    (versions / "0002_change.py").write_text(text, encoding="utf-8")
    return ini


def _upgrade_in_process(ini: Path, url: str, rev: str) -> None:
    forget_modules(ini.parent)
    command.upgrade(alembic_config(ini, url=url, stdout=io.StringIO()), rev)


def _alembic(forks: ForkServer, ini: Path, url: str, tmp: Path,
             **env: str) -> subprocess.CompletedProcess[str]:
    """``alembic -c INI upgrade head`` in a process of its own (see ``forks``)."""
    argv = [ALEMBIC, "-c", str(ini), "upgrade", "head"]
    full = {**os.environ, "SLUICE_TEST_KILL_AT": "", "SLUICE_TEST_STATEMENTS": "", **env}
    # the URL goes through the ini, as a user's would
    ini.write_text(re.sub(r"(?m)^sqlalchemy\.url = .*$", f"sqlalchemy.url = {url}",
                          ini.read_text(encoding="utf-8")), encoding="utf-8")
    return forks.run(argv, cwd=tmp, env=full, timeout=300)


@pytest.fixture
def forks() -> ForkServer:
    """Each ``alembic upgrade`` below is a process of its own, forked from a server that
    imported Alembic, SQLAlchemy, the drivers and the modules the fixed revisions import
    once (``tests.support.forkserver``): the kill ends a real process mid-revision (its
    sessions die with it) without every run paying for a fresh interpreter's imports."""
    return alembic_forks()


def _snapshot(url: str) -> tuple[Snapshot, str | None]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            return (take_snapshot(conn, schemas=[None],
                                  skip={"alembic_version", DATA_PROGRESS_TABLE}),
                    None if version is None else str(version))
    finally:
        engine.dispose()


#: Statements after which nothing in the database changed (reads): a kill right after one
#: is a kill right after the statement before it.
_READ_ONLY = re.compile(r"^\s*(SELECT|SHOW|DESCRIBE|EXPLAIN)\b", re.I)


#: At most this many kill points per recipe, spread evenly, the first and last included.
MAX_KILLS = 12


def _kill_points(statements: list[str]) -> list[int]:
    points = [k for k, sql in enumerate(statements, 1) if k == 1 or not _READ_ONLY.match(sql)]
    if len(points) <= MAX_KILLS:
        return points
    step = (len(points) - 1) / (MAX_KILLS - 1)
    return sorted({points[round(i * step)] for i in range(MAX_KILLS)})


def _reset(url: str) -> None:
    """An empty database again: every table (and PostgreSQL sequence) dropped."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
            else:
                for table in sa.inspect(conn).get_table_names():
                    conn.exec_driver_sql(f"DROP TABLE `{table}`")
    finally:
        engine.dispose()


@pytest.fixture
def fresh(request: pytest.FixtureRequest) -> Callable[[], AbstractContextManager[str]]:
    """New empty databases on the server ``request.param`` names, one per ``with`` (on
    PostgreSQL the conftest's, made ahead)."""
    if request.param == "postgresql":
        pool: DatabasePool = request.getfixturevalue("pg_databases")
        return pool.fresh
    server = server_url(request.param)

    @contextmanager
    def scratch() -> Iterator[str]:
        with scratch_database(sa.make_url(server), prefix="sluice_t") as db:
            yield db.render_as_string(hide_password=False)

    return scratch


def _run_kills(forks: ForkServer, tmp_path: Path,
               fresh: Callable[[], AbstractContextManager[str]], case: Case) -> None:
    ini = _project(tmp_path / "project", case)
    # a clean run: the final schema, and the statements the fixed revision sends
    log = tmp_path / "statements.log"
    with fresh() as url:
        _upgrade_in_process(ini, url, "0001")
        clean = _alembic(forks, ini, url, tmp_path, SLUICE_TEST_STATEMENTS=str(log))
        assert clean.returncode == 0, clean.stderr[-3000:]
        want, version = _snapshot(url)
        assert version == "0002"
    statements = log.read_text(encoding="utf-8").splitlines()
    points = _kill_points(statements)
    assert len(points) >= 3, statements
    with fresh() as url:
        for k in points:
            _reset(url)
            _upgrade_in_process(ini, url, "0001")
            killed = _alembic(forks, ini, url, tmp_path, SLUICE_TEST_KILL_AT=str(k))
            assert killed.returncode == -signal.SIGKILL, (
                f"not killed after statement {k} ({statements[k - 1]}): "
                f"{killed.returncode}\n{killed.stderr[-2000:]}")
            rerun = _alembic(forks, ini, url, tmp_path)
            assert rerun.returncode == 0, (
                f"rerun after a kill after statement {k} ({statements[k - 1]}) failed:\n"
                f"{rerun.stderr[-3000:]}")
            got, version = _snapshot(url)
            assert version == "0002"
            assert diff_snapshots(want, got) == [], f"after a kill after statement {k}"


@pytest.mark.postgres
@pytest.mark.parametrize("fresh", ["postgresql"], indirect=True)
@pytest.mark.parametrize("case", PG_CASES, ids=[c.recipe for c in PG_CASES])
def test_postgres_rerun_after_a_kill_at_any_point_completes(
        forks: ForkServer, tmp_path: Path,
        fresh: Callable[[], AbstractContextManager[str]], case: Case) -> None:
    _run_kills(forks, tmp_path, fresh, case)


@pytest.mark.mysql
@pytest.mark.parametrize("fresh", ["mysql"], indirect=True)
@pytest.mark.parametrize("case", MYSQL_CASES, ids=[c.recipe for c in MYSQL_CASES])
def test_mariadb_rerun_after_a_kill_at_any_point_completes(
        forks: ForkServer, tmp_path: Path,
        fresh: Callable[[], AbstractContextManager[str]], case: Case) -> None:
    _run_kills(forks, tmp_path, fresh, case)


# ------------------------------------------------------------------ structure, by trace

#: Statements that read every row of a table or build from it.
_SCANS = re.compile(r"\b(CREATE\s+(UNIQUE\s+)?INDEX|VALIDATE\s+CONSTRAINT|ADD\s+(UNIQUE\s+)?"
                    r"INDEX)\b|^\s*UPDATE\b", re.I)
#: Statements that change only the catalog on PostgreSQL: a moment under their lock.
_CATALOG_ONLY = re.compile(
    r"NOT\s+VALID|USING\s+INDEX|SET\s+NOT\s+NULL|DROP\s+CONSTRAINT|SET\s+DEFAULT|"
    r"ADD\s+COLUMN\s+IF\s+NOT\s+EXISTS\s+\w+\s+\w+\s*$|"
    # the type change's expand step: a column without default, and its sync trigger
    r"ADD\s+COLUMN\s+\w+__new\s+(?:(?!DEFAULT)[^;])*;\s*CREATE\s+OR\s+REPLACE\s+FUNCTION"
    r"[^$]*\$f\$[^$]*\$f\$;\s*CREATE\s+TRIGGER\s+\w+\s+BEFORE\s+INSERT\s+OR\s+UPDATE\s+ON\s+\w+\s+"
    r"FOR\s+EACH\s+ROW\s+EXECUTE\s+FUNCTION\s+\w+\(\);\s*END\s+IF;\s*END\s+\$\$$",
    re.I)


def _trace(tmp_path: Path, case: Case, server: str, *, fixed: bool) -> list[Statement]:
    ini = _project(tmp_path / ("fixed" if fixed else "naive"), case, fixed=fixed)
    forget_modules(ini.parent)
    result: TraceResult = trace(ini, server, ["0002"], crosscheck=False)
    assert result.failure is None, result.failure
    assert result.lock_tracing, result.lock_tracing_note
    (rt,) = result.revisions
    return rt.statements


def _pg_violations(statements: list[Statement]) -> list[str]:
    """What breaks the structure: a scan under a write-blocking lock on an existing
    table, a rewrite, a write-blocking lock taken by a statement that is not catalog-only
    (``DROP INDEX CONCURRENTLY``'s last moment on the index it drops, which no query
    uses any more, aside)."""
    out = []
    validated = False  # SET NOT NULL scans nothing once a NOT NULL check is validated
    for s in statements:
        blocking = [lk for lk in s.locks if lk.flagged]
        sql = " ".join(s.sql.split())
        catalog_only = bool(_CATALOG_ONLY.search(sql)) and (
            validated or not re.search(r"SET NOT NULL", sql, re.I))
        validated = validated or bool(re.search(r"VALIDATE CONSTRAINT", sql, re.I))
        if _SCANS.search(s.sql) and (blocking or s.held_earlier):
            locks = ", ".join(f"{lk.mode_label} {lk.relation}" for lk in blocking + s.held_earlier)
            out.append(f"scan under a write-blocking lock: {s.sql[:80]} ({locks})")
        if s.rewrites or s.rewrites_under:
            out.append(f"rewrite: {s.sql[:80]}")
        dropped = re.search(r"DROP INDEX CONCURRENTLY IF EXISTS (\w+)", s.sql)
        for lk in blocking:
            if dropped and lk.kind == "index" and lk.relation == dropped.group(1):
                continue
            if not catalog_only:
                out.append(f"{lk.mode_label} on {lk.relation} by {s.sql[:80]}")
    return out


@pytest.mark.postgres
@pytest.mark.parametrize("case", PG_CASES, ids=[c.recipe for c in PG_CASES])
def test_postgres_fixed_revision_scans_without_write_blocking_locks(tmp_path: Path,
                                                                    case: Case) -> None:
    server = server_url("postgresql")
    fixed = _trace(tmp_path, case, server, fixed=True)
    assert _pg_violations(fixed) == []
    if case.recipe != "pg-drop-index-concurrently":  # the naive drop scans nothing
        assert _pg_violations(_trace(tmp_path, case, server, fixed=False)) != []


@pytest.mark.mysql
@pytest.mark.parametrize("case", MYSQL_CASES, ids=[c.recipe for c in MYSQL_CASES])
def test_mariadb_fixed_revision_takes_only_the_swap_lock(tmp_path: Path, case: Case,
                                                         ps_server: str) -> None:
    """MariaDB: the fixed ALTER says ALGORITHM and LOCK=NONE (the server refuses rather
    than copy or block writes); measured, it copies nothing, rebuilds nothing, and the
    only write-blocking metadata lock it takes is EXCLUSIVE, the swap of the definition
    (none of the locks that block writes for a whole run: SHARED_NO_WRITE,
    SHARED_NO_READ_WRITE, a table copy)."""
    statements = [s for s in _trace(tmp_path, case, ps_server, fixed=True)
                  if s.sql.upper().startswith("ALTER TABLE")]
    assert statements
    for s in statements:
        assert re.search(r"ALGORITHM=(INSTANT|NOCOPY|INPLACE)", s.sql), s.sql
        assert s.rewrites == [], s.sql
        modes = {lk.mode for lk in s.locks if lk.flagged}
        assert modes <= {"EXCLUSIVE"}, (s.sql, modes)


@pytest.fixture
def ps_server() -> str:
    """The MariaDB with performance_schema on (metadata locks), as trace's tests use."""
    from tests.support.servers import IN_CI, without_tls_negotiation

    url = os.environ.get("SLUICE_TEST_MYSQL_PS_URL")
    if not url:
        why = "SLUICE_TEST_MYSQL_PS_URL is not set; start one with `bash scripts/mariadb-ps`"
        if IN_CI:
            pytest.fail(f"CI=true: {why}", pytrace=False)
        pytest.skip(why)
    return without_tls_negotiation(url)
