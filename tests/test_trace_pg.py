"""``sluice trace`` on PostgreSQL: fixture revisions whose locks are known.

One trace of the whole fixture project (tests/fixtures/trace/pg, one case per revision,
tables seeded so rewrites copy rows) serves the measurement tests; failure paths and the
CLI run their own small traces.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sluice.errors import SluiceError
from sluice.trace import TraceResult, fails, trace
from sluice.trace.model import RevisionTrace, Statement
from sluice.trace.render import render
from tests.support.cli import run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "trace" / "pg"
SEED = 200


@pytest.fixture(scope="module")
def pg_server() -> str:
    from tests.support.servers import server_url

    return server_url("postgresql")


def _copy(dest: Path) -> Path:
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy(tmp_path_factory.mktemp("trace") / "pg")


@pytest.fixture(scope="module")
def traced(project: Path, pg_server: str) -> TraceResult:
    return trace(project / "alembic.ini", pg_server, seed_rows=SEED)


def _scratch_left(server: str) -> list[str]:
    engine = create_engine(server)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                {"p": f"sluice_trace_%_{os.getpid()}_%"}).all()
    finally:
        engine.dispose()
    return [r[0] for r in rows]


def rev(result: TraceResult, revision: str) -> RevisionTrace:
    return next(r for r in result.revisions if r.revision == revision)


def only(result: TraceResult, revision: str) -> Statement:
    stmts = rev(result, revision).statements
    assert len(stmts) == 1, [s.sql for s in stmts]
    return stmts[0]


def modes(stmt: Statement, relation: str) -> set[str]:
    return {lk.mode for lk in stmt.locks if lk.relation == relation}


def blocking(stmt: Statement) -> dict[str, str]:
    return {lk.relation: lk.mode for lk in stmt.blocking}


# --------------------------------------------------------------------------- measurements


def test_every_revision_traced_in_order_and_scratch_dropped(traced: TraceResult,
                                                            pg_server: str) -> None:
    assert traced.backend == "postgresql"
    assert traced.lock_tracing and traced.failure is None
    assert [r.revision for r in traced.revisions] == [f"{i:04d}" for i in range(1, 14)]
    assert _scratch_left(pg_server) == []


def test_tables_seeded_before_the_first_revision_that_finds_them(traced: TraceResult) -> None:
    assert rev(traced, "0001").seeded == {}
    assert rev(traced, "0002").seeded == {"accounts": SEED, "events": SEED}
    assert rev(traced, "0013").seeded == {}


def test_create_index_takes_share_lock_blocking_writes(traced: TraceResult) -> None:
    s = only(traced, "0002")
    assert "CREATE INDEX ix_events_kind" in s.sql and not s.autocommit
    assert blocking(s) == {"events": "ShareLock"}
    lk = s.blocking[0]
    assert lk.blocks == "writes" and lk.existing and lk.observed == "after statement"
    # the new index itself is locked too, harmlessly
    assert "AccessExclusiveLock" in modes(s, "ix_events_kind")
    assert not any(lk.flagged for lk in s.locks if lk.relation == "ix_events_kind")
    assert s.rewrites == []


def test_create_index_concurrently_runs_outside_the_transaction(traced: TraceResult) -> None:
    s = only(traced, "0003")
    assert "CONCURRENTLY" in s.sql and s.autocommit
    assert s.blocking == [] and not s.dangerous
    assert "ShareLock" not in modes(s, "events")
    for lk in s.locks:  # sampled while it ran, released when it returned
        assert lk.observed == "sampled" and lk.held_ms is not None
        assert 0 < lk.held_ms <= s.duration_ms


@pytest.mark.parametrize("revision, rewritten", [
    ("0004", False),  # nullable, no default
    ("0005", False),  # constant default: catalog only since PostgreSQL 11
    ("0006", True),   # volatile default: every row gets its own value
])
def test_add_column_access_exclusive_and_rewrite(traced: TraceResult, revision: str,
                                                 rewritten: bool) -> None:
    s = only(traced, revision)
    assert "ADD COLUMN" in s.sql
    assert blocking(s) == {"events": "AccessExclusiveLock"}
    assert s.blocking[0].blocks == "reads and writes"
    assert s.rewrites == (["events"] if rewritten else [])


def test_set_not_null_access_exclusive(traced: TraceResult) -> None:
    s = only(traced, "0007")
    assert "SET NOT NULL" in s.sql
    assert blocking(s) == {"accounts": "AccessExclusiveLock"}
    assert s.rewrites == []


@pytest.mark.parametrize("revision", ["0008", "0009"])
def test_foreign_key_share_row_exclusive_on_both_tables(traced: TraceResult,
                                                        revision: str) -> None:
    s = only(traced, revision)
    assert "FOREIGN KEY" in s.sql and ("NOT VALID" in s.sql) == (revision == "0009")
    assert blocking(s) == {"accounts": "ShareRowExclusiveLock",
                           "events": "ShareRowExclusiveLock"}
    assert all(lk.blocks == "writes" for lk in s.blocking)


def test_validate_constraint_blocks_nothing(traced: TraceResult) -> None:
    s = only(traced, "0010")
    assert "ShareUpdateExclusiveLock" in modes(s, "events")
    assert not s.dangerous


def test_type_change_rewrite_flag(traced: TraceResult) -> None:
    bigint = only(traced, "0011")
    assert blocking(bigint) == {"accounts": "AccessExclusiveLock"}
    assert bigint.rewrites == ["accounts"]
    widen = only(traced, "0012")
    assert blocking(widen) == {"events": "AccessExclusiveLock"}
    assert widen.rewrites == []


def test_new_table_locks_are_harmless(traced: TraceResult) -> None:
    stmts = rev(traced, "0013").statements
    assert len(stmts) == 2
    assert {lk.relation for s in stmts for lk in s.locks} <= {"tags", "tags_pkey", "tags_id_seq",
                                                          "ix_tags_label"}
    assert not any(lk.existing or lk.flagged for s in stmts for lk in s.locks)
    assert "AccessExclusiveLock" in modes(stmts[0], "tags")


def test_lines_point_at_the_operation(traced: TraceResult) -> None:
    for rt in traced.revisions:
        source = Path(rt.path).read_text().splitlines()
        for s in rt.statements:
            assert s.path == rt.path and s.line is not None
            assert "op." in source[s.line - 1], (rt.revision, s.line)


def test_locks_held_until_commit(traced: TraceResult) -> None:
    for rt in traced.revisions:
        for s in rt.statements:
            for lk in s.locks:
                assert lk.held_ms is not None
                assert lk.held_ms <= rt.duration_ms
                if lk.observed == "sampled":
                    # a statement that commits on its own (CONCURRENTLY): held for the
                    # longest unbroken stretch the sampler saw, within the statement
                    assert 0 < lk.held_ms <= s.duration_ms
                else:  # inside the revision's transaction: held until its commit
                    assert lk.held_ms >= s.duration_ms * 0.99


# --------------------------------------------------------------------------- findings


def test_findings_one_per_blocked_table(traced: TraceResult) -> None:
    found = {(f.revision, f.rule, f.line) for f in traced.findings if f.rule.startswith("TR0")}
    assert ("0002", "TR002", 16) in found
    assert ("0006", "TR001", 16) in found
    assert ("0011", "TR001", 16) in found
    assert not any(r in ("0003", "0010", "0013") for r, _, _ in found)
    fk = [f for f in traced.findings if f.revision == "0008" and f.rule == "TR002"]
    assert len(fk) == 2
    index = next(f for f in traced.findings if f.revision == "0002")
    assert index.path == str(Path(rev(traced, "0002").path))  # outside the cwd: absolute
    assert "CONCURRENTLY" in index.fix and "SHARE on table events" in index.message
    rewrite = next(f for f in traced.findings if f.revision == "0006")
    assert "rewrote events" in rewrite.message and "sluice.data.backfill" in rewrite.fix


def test_fail_on(traced: TraceResult) -> None:
    assert fails(traced, "writes") and fails(traced, "reads")
    assert not fails(traced, "never")
    fk_only = dataclasses.replace(
        traced, revisions=[r for r in traced.revisions if r.revision in ("0008", "0009")])
    assert fails(fk_only, "writes") and not fails(fk_only, "reads")
    harmless = dataclasses.replace(
        traced, revisions=[r for r in traced.revisions if r.revision in ("0003", "0013")])
    assert not fails(harmless, "writes")


def test_crosscheck_with_lint(traced: TraceResult) -> None:
    cc = traced.crosscheck
    assert cc is not None and cc.ran, cc and cc.note
    dangerous = [(r.revision, s.line) for r in traced.revisions for s in r.statements
                 if s.dangerous]
    missed = [(i.revision, i.line) for i in cc.items if i.kind == "missed-danger"]
    assert cc.agreed + len(missed) == len(dangerous)
    assert set(missed) <= set(dangerous)
    # a plain CREATE INDEX is what lint's postgres-locking rules exist for
    assert ("0002", 16) not in missed
    assert any(f.rule in ("TR101", "TR102") for f in traced.findings) == bool(cc.items)


# --------------------------------------------------------------------------- failures


def _add_revision(project: Path, body: str, rev_id: str = "0014", down: str = "0013") -> Path:
    path = project / "migrations" / "versions" / f"{rev_id}_extra.py"
    path.write_text(
        f'"""extra"""\nimport sqlalchemy as sa\nfrom alembic import op\n\nrevision = "{rev_id}"\n'
        f'down_revision = "{down}"\nbranch_labels = None\ndepends_on = None\n\n\n'
        f"def upgrade() -> None:\n{body}\n\n\ndef downgrade() -> None:\n    pass\n")
    return path


def test_failing_revision_reported_and_scratch_dropped(tmp_path: Path, pg_server: str) -> None:
    project = _copy(tmp_path / "pg")
    path = _add_revision(project, '    op.add_column("events", sa.Column("x", sa.Integer()))\n'
                                  '    op.execute("SELECT * FROM no_such_table")')
    line = path.read_text().splitlines().index('    op.execute("SELECT * FROM no_such_table")') + 1
    result = trace(project / "alembic.ini", pg_server, ["0014"], crosscheck=False)
    assert [r.revision for r in result.revisions] == ["0014"]
    assert result.failure is not None
    assert result.failure.startswith(f"{path}:{line}: revision 0014 failed")
    assert "no_such_table" in result.failure
    ok, bad = rev(result, "0014").statements
    assert ok.error is None and blocking(ok) == {"events": "AccessExclusiveLock"}
    assert bad.error and "no_such_table" in bad.error and bad.line == line
    assert ok.blocking[0].held_ms is not None  # released by the rollback
    assert _scratch_left(pg_server) == []
    res = run_cli(["trace", "0014", "-c", str(project / "alembic.ini"),
                   "--url", pg_server, "--no-crosscheck"])
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == [f"sluice: error: {result.failure}"]
    assert "failed: " in res.stdout and "TR001" in res.stdout  # the report comes first


def test_interrupt_drops_scratch(tmp_path: Path, pg_server: str) -> None:
    project = _copy(tmp_path / "pg")
    _add_revision(project, "    raise KeyboardInterrupt")
    with pytest.raises(KeyboardInterrupt):
        trace(project / "alembic.ini", pg_server, ["0014"], crosscheck=False)
    assert _scratch_left(pg_server) == []


def test_sigterm_mid_statement_drops_scratch(tmp_path: Path, pg_server: str) -> None:
    project = _copy(tmp_path / "pg")
    _add_revision(project, '    op.execute("SELECT pg_sleep(30)")', down="0001")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "sluice"), "trace", "0014", "--url", pg_server,
         "--no-crosscheck", "-c", str(project / "alembic.ini")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    engine = create_engine(pg_server)
    try:
        deadline = time.monotonic() + 60
        running: list[object] = []
        while not running and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            with engine.connect() as conn:
                running = conn.execute(text(
                    "SELECT 1 FROM pg_stat_activity WHERE datname LIKE :p "
                    "AND query = 'SELECT pg_sleep(30)'"),
                    {"p": f"sluice_trace_%_{proc.pid}_%"}).all()
        assert running, proc.communicate(timeout=30)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode != 0 and "Traceback" not in err
        with engine.connect() as conn:
            left = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                {"p": f"sluice_trace_%_{proc.pid}_%"}).all()
        assert left == []
    finally:
        if proc.poll() is None:
            proc.kill()
        engine.dispose()


def test_env_py_on_another_database_is_refused(tmp_path: Path, pg_server: str,
                                               pg_url: str) -> None:
    project = _copy(tmp_path / "pg")
    env = project / "migrations" / "env.py"
    env.write_text(env.read_text().replace(
        "config.get_section(config.config_ini_section, {}),",
        f"{{'sqlalchemy.url': {pg_url!r}}},"))
    with pytest.raises(SluiceError, match="instead of the scratch database"):
        trace(project / "alembic.ini", pg_server, ["0002"], crosscheck=False)
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(text(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar()
    finally:
        engine.dispose()
    assert tables == 0
    assert _scratch_left(pg_server) == []


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def in_project(tmp_path: Path) -> Iterator[Path]:
    project = _copy(tmp_path / "pg")
    old = Path.cwd()
    os.chdir(project)
    try:
        yield project
    finally:
        os.chdir(old)


def test_cli_json_sarif_text_and_exit_codes(in_project: Path, pg_server: str) -> None:
    res = run_cli(["trace", "0002", "--url", pg_server, "--format", "json",
                   "--no-crosscheck"])
    assert res.exit_code == 1, res.output
    data = json.loads(res.stdout)
    (finding,) = data["findings"]
    assert set(finding) >= {"rule", "name", "severity", "message", "fix", "path", "line",
                            "revision"}
    assert finding["rule"] == "TR002" and finding["path"] == "migrations/versions/0002_index.py"
    (rt,) = data["revisions"]
    locks = rt["statements"][0]["locks"]
    assert {"relation": "events", "mode": "ShareLock", "flagged": True}.items() <= next(
        lk for lk in locks if lk["relation"] == "events").items()
    assert data["lock_tracing"]["available"] is True and data["crosscheck"] is None

    res = run_cli(["trace", "0009", "--url", pg_server, "--format", "sarif",
                   "--fail-on", "reads"])
    assert res.exit_code == 0, res.output  # SHARE ROW EXCLUSIVE lets reads through
    sarif = json.loads(res.stdout)
    run = sarif["runs"][0]
    assert {r["ruleId"] for r in run["results"]} >= {"TR002"}
    assert "TR001" in {d["id"] for d in run["tool"]["driver"]["rules"]}
    assert run["properties"]["crosscheck"]["ran"] is True

    res = run_cli(["trace", "0003", "--url", pg_server, "--no-crosscheck"])
    assert res.exit_code == 0, res.output
    assert "CREATE INDEX CONCURRENTLY" in res.stdout and "autocommit" in res.stdout


def test_a_sampler_that_fails_makes_the_gate_fail_closed(
        in_project: Path, pg_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The locks of a statement whose sampler failed were not measured: like a server
    that does not expose its locks, the gate cannot pass it (exit 2, one line), and
    ``--fail-on never`` reports it as a warning."""
    from sluice.trace.pg import PgProbe

    def broken(self: PgProbe, session_id: object) -> list[object]:
        raise RuntimeError("server closed the connection unexpectedly")

    monkeypatch.setattr(PgProbe, "sample_once", broken)
    res = run_cli(["trace", "0003", "--url", pg_server, "--no-crosscheck", "--format", "json"])
    assert res.exit_code == 2, res.output
    (line,) = res.stderr.strip().splitlines()[-1:]
    assert line.startswith("sluice: error: lock tracing stopped part way on "), res.stderr
    assert "server closed the connection" in line and "migrations/versions/0003" in line
    assert "--fail-on writes cannot judge" in line and "Traceback" not in res.stderr
    assert json.loads(res.stdout)["lock_tracing"]["available"] is False
    res = run_cli(["trace", "0003", "--url", pg_server, "--no-crosscheck", "--fail-on",
                   "never"])
    assert res.exit_code == 0, res.output
    assert res.stderr.strip().splitlines()[-1].startswith(
        "sluice: warning: lock tracing stopped part way on ")


def test_cli_unusable_input_one_line_exit_2(in_project: Path) -> None:
    cases = [
        (["trace", "--url", "sqlite:///x.db"], "PostgreSQL or MySQL/MariaDB"),
        (["trace", "--url", "postgresql+psycopg://u:s3cret@127.0.0.1:1/postgres"],
         "postgresql+psycopg://u:***@127.0.0.1:1/postgres: cannot connect"),
        (["trace", "nope", "--url", "postgresql+psycopg://postgres@127.0.0.1:1/postgres"],
         "revision 'nope'"),
        (["trace"], "--url"),
    ]
    for args, expected in cases:
        res = run_cli(args)
        assert res.exit_code == 2, (args, res.output)
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and expected in lines[0], (args, res.stderr)
        assert "s3cret" not in res.stderr and "Traceback" not in res.stderr
        assert res.stdout == ""


def test_materialized_view_refresh(tmp_path: Path, pg_server: str) -> None:
    project = _copy(tmp_path / "pg")
    _add_revision(project, '    op.execute("CREATE MATERIALIZED VIEW mv AS SELECT id FROM events")\n'
                           '    op.execute("CREATE UNIQUE INDEX mv_uq ON mv (id)")')
    _add_revision(project, '    op.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY mv")',
                  "0015", "0014")
    _add_revision(project, '    op.execute("REFRESH MATERIALIZED VIEW mv")', "0016", "0015")
    result = trace(project / "alembic.ini", pg_server, ["0014:0016"], crosscheck=False)
    assert result.failure is None
    # EXCLUSIVE on a materialized view: nobody writes one and plain reads go on
    conc = only(result, "0015")
    assert "ExclusiveLock" in modes(conc, "mv") and blocking(conc) == {}
    assert not [f for f in result.findings if f.revision == "0015"]
    plain = only(result, "0016")
    assert blocking(plain) == {"mv": "AccessExclusiveLock"}
    (f,) = [f for f in result.findings if f.revision == "0016"]
    assert f.rule == "TR001" and "every read of the materialized view" in f.message
    assert "REFRESH MATERIALIZED VIEW CONCURRENTLY" in f.fix and "unique index" in f.fix


def test_data_step_collapsed_and_checkpoint_table_not_seeded(tmp_path: Path,
                                                              pg_server: str) -> None:
    project = _copy(tmp_path / "pg")
    step = ('    from sluice.data import batched_update\n'
            '    batched_update("accounts", {"name": sa.text("name")}, batch_size=50)')
    _add_revision(project, step)
    _add_revision(project, step, "0015", "0014")
    result = trace(project / "alembic.ini", pg_server, ["0014", "0015"], seed_rows=SEED,
                   crosscheck=False)
    assert result.failure is None
    first, second = result.revisions
    assert "sluice_data_progress" not in second.seeded  # Sluice's own, like alembic_version
    assert all(s.step == "update accounts" for s in first.statements)
    batches = first.data_steps["update accounts"]
    assert set(first.data_steps) == {"update accounts"} and batches >= 1
    out = io.StringIO()
    render("text", result, result.findings, out)
    text_out = out.getvalue()
    assert f"sluice.data step 'update accounts': {batches} batch" in text_out
    assert "pg_catalog" not in text_out and "COMMIT" not in text_out
    assert len(text_out.splitlines()) < 40
