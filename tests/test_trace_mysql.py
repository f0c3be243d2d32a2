"""``sluice trace`` on MariaDB/MySQL (tests/fixtures/trace/mysql).

Statements, durations, table copies (the thread's state) and rebuilds (InnoDB table id)
are measured on every server. Metadata locks need performance_schema with the MDL
instrument: on a server without it the trace says so (tested here). The lock assertions
run on the server ``SLUICE_TEST_MYSQL_PS_URL`` names (``scripts/mariadb-ps`` starts one;
``.ci/run`` does): they skip without it on a laptop and fail with ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, text

from sluice.errors import DatabaseUnavailable
from sluice.scratch import check_reachable
from sluice.trace import TraceResult, trace
from sluice.trace.model import Statement
from sluice.trace.mysql import MDL_INSTRUMENT, lock_tracing_status
from tests.support.cli import run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "trace" / "mysql"


@pytest.fixture(scope="module")
def my_server() -> str:
    from tests.support.servers import server_url

    return server_url("mysql")


@pytest.fixture(scope="module")
def server_status(my_server: str) -> str | None:
    return _status(my_server)


PS_VAR = "SLUICE_TEST_MYSQL_PS_URL"


@pytest.fixture(scope="module")
def ps_server() -> str:
    """A MariaDB/MySQL server that exposes metadata locks (performance_schema on)."""
    from tests.support.servers import IN_CI, without_tls_negotiation

    def missing(why: str) -> NoReturn:
        why = f"lock tracing tests need {PS_VAR}: {why}; start one with `bash scripts/mariadb-ps`"
        if IN_CI:
            pytest.fail(f"CI=true: {why}", pytrace=False)
        pytest.skip(why)

    url = os.environ.get(PS_VAR)
    if not url:
        missing("it is not set")
    try:
        check_reachable(url)
    except DatabaseUnavailable as exc:
        missing(f"the server is unreachable ({exc})")
    status = _status(url)
    if status is not None:
        missing(status)
    return without_tls_negotiation(url)


@pytest.fixture(scope="module")
def ps_traced(tmp_path_factory: pytest.TempPathFactory, ps_server: str) -> TraceResult:
    project = tmp_path_factory.mktemp("trace_ps") / "mysql"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__"))
    return trace(project / "alembic.ini", ps_server, seed_rows=3000)


def _status(url: str) -> str | None:
    """None when the server exposes metadata locks, else the reason it does not."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ps = conn.execute(text("SELECT @@performance_schema")).scalar()
            instrument = None
            if ps:
                instrument = conn.execute(text(
                    "SELECT ENABLED FROM performance_schema.setup_instruments WHERE NAME = :n"),
                    {"n": MDL_INSTRUMENT}).scalar()
    finally:
        engine.dispose()
    return lock_tracing_status(ps, instrument)


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory, my_server: str) -> TraceResult:
    project = tmp_path_factory.mktemp("trace") / "mysql"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__"))
    # enough rows that the table copy lasts long enough to be sampled on a loaded machine
    return trace(project / "alembic.ini", my_server, seed_rows=30000)


def only(result: TraceResult, revision: str) -> Statement:
    (rt,) = [r for r in result.revisions if r.revision == revision]
    (stmt,) = rt.statements
    return stmt


def test_statements_durations_and_scratch_dropped(traced: TraceResult, my_server: str) -> None:
    assert traced.backend in ("mariadb", "mysql") and traced.failure is None
    assert [r.revision for r in traced.revisions] == ["0001", "0002", "0003", "0004", "0005"]
    for rt in traced.revisions:
        source = Path(rt.path).read_text().splitlines()
        for s in rt.statements:
            assert s.duration_ms > 0 and s.implicit_commit and s.error is None
            assert "op." in source[(s.line or 0) - 1]
    engine = create_engine(my_server)
    try:
        with engine.connect() as conn:
            left = conn.execute(text("SHOW DATABASES LIKE :p"),
                                {"p": f"sluice\\_trace\\_{os.getpid()}\\_%"}).all()
    finally:
        engine.dispose()
    assert left == []


def test_lock_tracing_availability_is_reported(traced: TraceResult,
                                              server_status: str | None) -> None:
    assert traced.lock_tracing == (server_status is None)
    assert traced.lock_tracing_note == server_status
    if server_status is not None:
        assert "performance_schema" in server_status and "my.cnf" in server_status


def test_copy_and_rebuild_seen_without_performance_schema(traced: TraceResult) -> None:
    instant = only(traced, "0002")
    assert instant.rewrites == []
    assert not any(lk.mode == "COPY" for lk in instant.locks)
    copy = only(traced, "0003")
    assert "MODIFY amount BIGINT" in copy.sql
    assert copy.rewrites == ["events"]
    cp = next(lk for lk in copy.locks if lk.mode == "COPY")
    assert cp.relation == "events" and cp.flagged and cp.blocks == "writes"
    # sampled: the longest unbroken stretch the copy was seen, within the statement
    assert cp.observed == "sampled" and cp.held_ms is not None
    assert 0 < cp.held_ms <= copy.duration_ms
    finding = next(f for f in traced.findings if f.revision == "0003" and f.rule == "TR002")
    assert "ALGORITHM=INPLACE, LOCK=NONE" in finding.fix and finding.dialect == "mysql"
    fk = only(traced, "0005")
    assert fk.rewrites == ["events"]  # foreign_key_checks=1: the table is copied


def test_metadata_locks_measured(ps_traced: TraceResult) -> None:
    traced = ps_traced
    assert traced.lock_tracing and traced.lock_tracing_note is None
    def flagged(stmt: Statement) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for lk in stmt.flagged_locks:
            out.setdefault(lk.relation, set()).add(lk.mode)
        return out

    # every ALTER upgrades to EXCLUSIVE to swap the definition in, even an instant one
    assert "EXCLUSIVE" in flagged(only(traced, "0002"))["events"]
    assert "EXCLUSIVE" in flagged(only(traced, "0004"))["events"]
    assert "SHARED_NO_WRITE" in flagged(only(traced, "0003"))["events"]
    # adding a foreign key blocks writes to the parent table
    assert "SHARED_NO_WRITE" in flagged(only(traced, "0005"))["accounts"]
    upgradable = [lk for lk in only(traced, "0004").locks if lk.mode == "SHARED_UPGRADABLE"]
    assert upgradable and not any(lk.flagged for lk in upgradable)


def test_cli_text_with_locks(tmp_path: Path, ps_server: str) -> None:
    project = tmp_path / "mysql"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__"))
    res = run_cli(["trace", "0002", "-c", str(project / "alembic.ini"),
                   "--url", ps_server, "--no-crosscheck"])
    out = " ".join(res.stdout.split())
    assert res.exit_code == 1 and "EXCLUSIVE events" in out, res.output
    assert "lock tracing is not available" not in out


def test_cli_text_says_why_locks_are_missing(tmp_path: Path, my_server: str,
                                            server_status: str | None) -> None:
    project = tmp_path / "mysql"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__"))
    res = run_cli(["trace", "0002", "-c", str(project / "alembic.ini"),
                   "--url", my_server, "--no-crosscheck"])
    assert res.exit_code in (1, 2), res.output
    out = " ".join(res.stdout.split())
    assert "ALTER TABLE events ADD COLUMN note" in out
    if server_status is not None:
        assert "lock tracing is not available on this server" in out
        assert "performance_schema=ON" in out
        # the gate cannot judge locks it did not see: it fails closed, in every format
        assert res.exit_code == 2
        (line,) = res.stderr.strip().splitlines()
        assert line.startswith("sluice: error: lock tracing is not available on ")
        for fmt in ("sarif", "json"):
            res = run_cli(["trace", "0002", "-c", str(project / "alembic.ini"),
                           "--url", my_server, "--no-crosscheck", "--format", fmt])
            assert res.exit_code == 2, res.output
            assert "lock tracing is not available" in res.stderr
            assert res.stdout.lstrip().startswith("{")  # the report is still written
        res = run_cli(["trace", "0002", "-c", str(project / "alembic.ini"), "--url",
                       my_server, "--no-crosscheck", "--format", "sarif", "--fail-on", "never"])
        assert res.exit_code == 0, res.output
        (line,) = res.stderr.strip().splitlines()
        assert line.startswith("sluice: warning: lock tracing is not available")
    else:
        assert res.exit_code == 1 and "EXCLUSIVE events" in out


DATA_STEP_THEN_ALTER = '''"""a data step, then an ALTER

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from sluice.data import batched_update

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    accounts = sa.table("accounts", sa.column("id"), sa.column("name"))
    batched_update(accounts, {"name": "x"}, where=accounts.c.name.is_(None))
    op.add_column("events", sa.Column("note", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("events", "note")
'''


def test_locks_after_a_data_step_are_still_measured(tmp_path: Path, ps_server: str) -> None:
    """A data step creates its checkpoint table after a has_table() probe that fails on
    MySQL (DESCRIBE of a missing table, an error SQLAlchemy hides from handle_error): the
    sampler of that probe must be stopped before the next statement's starts, or both
    share one connection and every later lock goes unmeasured while the gate passes."""
    project = tmp_path / "mysql"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__"))
    (project / "migrations" / "versions" / "0002_add_column.py").write_text(
        DATA_STEP_THEN_ALTER)
    result = trace(project / "alembic.ini", ps_server, revisions=["0002"], crosscheck=False)
    assert result.failure is None and result.lock_tracing, result.lock_tracing_note
    assert not [n for n in result.notes if "sampling" in n], result.notes
    (rt,) = result.revisions
    alter = next(s for s in rt.statements if s.sql.startswith("ALTER TABLE events"))
    assert "EXCLUSIVE" in {lk.mode for lk in alter.flagged_locks}, alter.locks


def test_a_user_who_cannot_read_performance_schema_is_told_what_to_grant(
        tmp_path: Path, ps_server: str) -> None:
    """performance_schema is on, but this user may not read it: the report says which
    GRANT lets it, and the gate fails closed (one line, exit 2), never a bare
    OperationalError."""
    import uuid

    from sqlalchemy.engine import make_url

    user = f"sluice_np_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ps_server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE USER '{user}'@'%%' IDENTIFIED BY 'pw'")
            conn.exec_driver_sql(f"GRANT ALL ON `sluice\\_trace%%`.* TO '{user}'@'%%'")
            conn.exec_driver_sql(f"GRANT CREATE ON *.* TO '{user}'@'%%'")
        url = make_url(ps_server).set(username=user, password="pw").render_as_string(
            hide_password=False)
        project = tmp_path / "mysql"
        shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__"))
        res = run_cli(["trace", "0002", "-c", str(project / "alembic.ini"), "--url", url,
                       "--no-crosscheck"])
        assert res.exit_code == 2, res.output
        (line,) = res.stderr.strip().splitlines()[-1:]
        assert line.startswith("sluice: error: lock tracing is not available on "), res.stderr
        assert "Traceback" not in res.stderr
        assert "GRANT SELECT ON performance_schema.*" in line and "pw@" not in line
        assert "ALTER TABLE events ADD COLUMN note" in " ".join(res.stdout.split())
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP USER IF EXISTS '{user}'@'%%'")
        admin.dispose()
