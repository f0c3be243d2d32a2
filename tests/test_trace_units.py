"""``sluice trace`` pieces that need no database: lock semantics, revision selection,
the lint comparison, advice, rendering, the sampler."""

from __future__ import annotations

import dataclasses
import io
import json
import time
from pathlib import Path

import pytest

from sluice.core.project import alembic_config, script_directory
from sluice.errors import SluiceError
from sluice.lint.model import Finding
from sluice.trace.crosscheck import Spans, compare
from sluice.trace.findings import advice, annotate, fails, trace_findings
from sluice.trace.model import Lock, RevisionTrace, Statement, TraceResult
from sluice.trace.modes import mode_info
from sluice.trace.mysql import MySQLProbe, lock_tracing_status, statement_target
from sluice.trace.probe import RawLock, Sampler
from sluice.trace.render import render
from sluice.trace.runner import select_revisions, server_url

PG_FIXTURE = Path(__file__).parent / "fixtures" / "trace" / "pg"


# --------------------------------------------------------------------------- lock modes


@pytest.mark.parametrize("mode, blocks", [
    ("AccessShareLock", None),
    ("RowShareLock", None),
    ("RowExclusiveLock", None),
    ("ShareUpdateExclusiveLock", None),
    ("ShareLock", "writes"),
    ("ShareRowExclusiveLock", "writes"),
    ("ExclusiveLock", "writes"),
    ("AccessExclusiveLock", "reads and writes"),
])
def test_postgres_modes(mode: str, blocks: str | None) -> None:
    info = mode_info("postgresql", mode)
    assert info.blocks == blocks
    assert info.label.isupper()


def test_postgres_exclusive_lets_plain_reads_through() -> None:
    assert "plain reads go on" in mode_info("postgresql", "ExclusiveLock").detail
    assert "SELECT ... FOR UPDATE" in mode_info("postgresql", "ExclusiveLock").detail


@pytest.mark.parametrize("mode, blocks", [
    ("SHARED_READ", None),
    ("SHARED_WRITE", None),
    ("SHARED_UPGRADABLE", None),
    ("SHARED_NO_WRITE", "writes"),
    ("SHARED_READ_ONLY", "writes"),
    ("COPY", "writes"),
    ("SHARED_NO_READ_WRITE", "reads and writes"),
    ("EXCLUSIVE", "reads and writes"),
])
def test_mysql_modes(mode: str, blocks: str | None) -> None:
    assert mode_info("mariadb", mode).blocks == blocks


def test_unknown_mode_is_kept_and_harmless() -> None:
    info = mode_info("postgresql", "SIReadLock")
    assert info.name == "SIReadLock" and info.blocks is None


def test_strength_order() -> None:
    order = ["AccessShareLock", "RowExclusiveLock", "ShareLock", "AccessExclusiveLock"]
    strengths = [mode_info("postgresql", m).strength for m in order]
    assert strengths == sorted(strengths)


# --------------------------------------------------------------------------- MariaDB status


def test_mariadb_not_available_messages() -> None:
    off = lock_tracing_status(0, None)
    assert off is not None and off.startswith("lock tracing is not available on this server")
    assert "performance_schema is OFF" in off
    assert "performance_schema=ON" in off and "my.cnf" in off
    assert "wait/lock/metadata/sql/mdl" in off
    disabled = lock_tracing_status(1, "NO")
    assert disabled is not None and "instrument is disabled" in disabled
    assert "UPDATE performance_schema.setup_instruments" in disabled
    assert "does not exist" in (lock_tracing_status(1, None) or "")
    assert "GRANT SELECT" in (lock_tracing_status(1, "YES", readable=False) or "")
    assert lock_tracing_status(1, "YES") is None


def test_mysql_statement_target_and_implicit_commit() -> None:
    assert statement_target("ALTER TABLE `events` ADD COLUMN x INT") == "events"
    assert statement_target("alter online table shop.events add x int") == "events"
    assert statement_target("CREATE UNIQUE INDEX ix ON events (kind)") == "events"
    assert statement_target("UPDATE events SET x = 1") is None
    probe = MySQLProbe.__new__(MySQLProbe)
    assert probe.implicit_commit("  alter table t add x int")
    assert probe.implicit_commit("CREATE INDEX ix ON t (x)")
    assert not probe.implicit_commit("CREATE TEMPORARY TABLE t (x int)")
    assert not probe.implicit_commit("INSERT INTO t VALUES (1)")


# --------------------------------------------------------------------------- input


def test_server_url_validation() -> None:
    with pytest.raises(SluiceError, match="PostgreSQL or MySQL/MariaDB, not sqlite"):
        server_url("sqlite:///x.db")
    with pytest.raises(SluiceError, match="not a database URL"):
        server_url("::nonsense::")
    bare = server_url("postgresql://u:pw@h/db")
    assert bare.drivername in ("postgresql+psycopg2", "postgresql+psycopg")
    assert server_url("mysql://root@h/test").drivername in ("mysql+mysqldb", "mysql+pymysql")
    assert server_url("mysql+pymysql://root@h/test").drivername == "mysql+pymysql"


def test_select_revisions() -> None:
    script = script_directory(alembic_config(PG_FIXTURE / "alembic.ini"))

    def ids(*specs: str) -> list[str]:
        return [s.revision for s in select_revisions(script, specs)]

    assert ids() == [f"{i:04d}" for i in range(1, 14)]
    assert ids("head") == ["0013"]
    assert ids("0005", "0003") == ["0003", "0005"]
    assert ids("0003:0005") == ["0003", "0004", "0005"]
    assert ids(":0002") == ["0001", "0002"]
    assert ids("0012:") == ["0012", "0013"]
    with pytest.raises(SluiceError, match="revision 'nope'"):
        ids("nope")


def test_reversed_range_names_both_revisions_in_one_line() -> None:
    script = script_directory(alembic_config(PG_FIXTURE / "alembic.ini"))
    with pytest.raises(SluiceError) as err:
        select_revisions(script, ["0009:0002"])
    text = str(err.value)
    assert "\n" not in text and "IndexError" not in text
    assert "0009" in text and "0002" in text and "reversed" in text
    assert "write 0002:0009" in text


# --------------------------------------------------------------------------- measurements


def _lock(relation: str, mode: str, *, existing: bool = True, kind: str = "table",
          table: str | None = None, backend: str = "postgresql") -> Lock:
    info = mode_info(backend, mode)
    return Lock(relation=relation, kind=kind, table=table, mode=mode, mode_label=info.label,
                granted=True, existing=existing, blocks=info.blocks,
                blocks_detail=info.detail, held_ms=10.0)


def _stmt(index: int, sql: str, line: int, locks: list[Lock], *, rewrites: list[str] = (),
          autocommit: bool = False, path: str = "/x/0001_a.py") -> Statement:
    return Statement(index=index, sql=sql, path=path, line=line, duration_ms=1.0,
                     autocommit=autocommit, locks=locks, rewrites=list(rewrites))


def _result(statements: list[Statement], path: str = "/x/0001_a.py") -> TraceResult:
    rt = RevisionTrace(revision="0001", path=path, message="m", down_revisions=(),
                       statements=statements)
    annotate(rt, "postgresql")
    return TraceResult(backend="postgresql", server_version="15", server="pg",
                       lock_tracing=True, revisions=[rt])


def test_annotate_covered_locks_and_rewrites_under_an_earlier_lock() -> None:
    first = _stmt(1, "ALTER TABLE t ADD COLUMN a int", 10,
                  [_lock("t", "AccessExclusiveLock")])
    second = _stmt(2, "ALTER TABLE t ADD COLUMN b timestamptz DEFAULT clock_timestamp()", 11,
                   [_lock("t", "ShareLock"),
                    _lock("t_pkey", "AccessExclusiveLock", kind="index", table="t")],
                   rewrites=["t"])
    third = _stmt(3, "CREATE INDEX CONCURRENTLY ix ON t (a)", 12, [], autocommit=True)
    fourth = _stmt(4, "ALTER TABLE t ADD COLUMN c int", 13, [_lock("t", "AccessExclusiveLock")])
    result = _result([first, second, third, fourth])
    assert [lk.relation for lk in first.blocking] == ["t"]
    assert second.blocking == [] and all(lk.covered for lk in second.flagged_locks)
    assert [(h.table, h.line) for h in second.rewrites_under] == [("t", 10)]
    assert second.dangerous
    # the autocommit block committed: the next statement's lock is new again
    assert [lk.relation for lk in fourth.blocking] == ["t"]
    rules = [(f.line, f.rule) for f in trace_findings(result)]
    assert rules == [(10, "TR001"), (11, "TR001"), (13, "TR001")]
    rewrite = trace_findings(result)[1]
    assert "while holding ACCESS EXCLUSIVE on it (taken at line 10)" in rewrite.message


def test_index_lock_covered_by_its_tables_lock_in_the_same_statement() -> None:
    s = _stmt(1, "ALTER TABLE t ALTER COLUMN a TYPE bigint", 5,
              [_lock("t", "AccessExclusiveLock"), _lock("t", "ShareLock"),
               _lock("t_pkey", "AccessExclusiveLock", kind="index", table="t")],
              rewrites=["t"])
    result = _result([s])
    assert [(lk.relation, lk.mode) for lk in s.blocking] == [("t", "AccessExclusiveLock")]
    (f,) = trace_findings(result)
    assert f.rule == "TR001" and "It also rewrote t" in f.message


def test_rewrite_without_blocking_lock_is_tr003() -> None:
    s = _stmt(1, "ALTER TABLE t FORCE", 5, [_lock("t", "SHARED_UPGRADABLE",
                                                  backend="mariadb")], rewrites=["t"])
    result = _result([s])
    result.backend = "mariadb"
    result.lock_tracing = False
    (f,) = trace_findings(result)
    assert f.rule == "TR003" and f.severity == "warning"
    assert "could not be traced" in f.message
    assert not fails(result, "writes")


def test_fails() -> None:
    reads = _result([_stmt(1, "x", 1, [_lock("t", "AccessExclusiveLock")])])
    writes = _result([_stmt(1, "x", 1, [_lock("t", "ShareLock")])])
    new_table = _result([_stmt(1, "x", 1, [_lock("t", "AccessExclusiveLock", existing=False)])])
    assert fails(reads, "reads") and fails(reads, "writes") and not fails(reads, "never")
    assert fails(writes, "writes") and not fails(writes, "reads")
    assert not fails(new_table, "writes")


@pytest.mark.parametrize("sql, mode, rewrites, expected", [
    ("CREATE INDEX ix ON t (a)", "ShareLock", [], "postgresql_concurrently=True"),
    ("DROP INDEX ix", "AccessExclusiveLock", [], "DROP INDEX CONCURRENTLY"),
    ("ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY(a) REFERENCES p (id)",
     "ShareRowExclusiveLock", [], "postgresql_not_valid=True"),
    ("ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY(a) REFERENCES p (id) NOT VALID",
     "ShareRowExclusiveLock", [], "NOT VALID already skips the scan"),
    ("CREATE TABLE c (id int, p_id int REFERENCES p (id))", "ShareRowExclusiveLock", [],
     "without the foreign key"),
    ("ALTER TABLE t ALTER COLUMN a SET NOT NULL", "AccessExclusiveLock", [],
     "CHECK (column IS NOT NULL) NOT VALID"),
    ("ALTER TABLE t ALTER COLUMN a TYPE BIGINT", "AccessExclusiveLock", ["t"],
     "Add a new column with the new type"),
    ("ALTER TABLE t ALTER COLUMN a TYPE VARCHAR(100)", "AccessExclusiveLock", [],
     "No rewrite was measured"),
    ("ALTER TABLE t ADD COLUMN a timestamptz DEFAULT clock_timestamp()",
     "AccessExclusiveLock", ["t"], "without a default"),
    ("ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)", "AccessExclusiveLock", [],
     "UNIQUE USING INDEX"),
    ("ALTER TABLE t ADD COLUMN a int", "AccessExclusiveLock", [], "lock_timeout"),
])
def test_postgres_advice(sql: str, mode: str, rewrites: list[str], expected: str) -> None:
    s = _stmt(1, sql, 1, [], rewrites=rewrites)
    assert expected in advice(s, _lock("t", mode), "postgresql")


def test_mysql_advice() -> None:
    copy = _stmt(1, "ALTER TABLE t MODIFY a BIGINT", 1, [], rewrites=["t"])
    assert "ALGORITHM=INPLACE, LOCK=NONE" in advice(copy, _lock("t", "COPY", backend="mariadb"),
                                                    "mariadb")
    fk = _stmt(1, "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY(a) REFERENCES p (id)", 1, [])
    assert "foreign_key_checks = 0" in advice(fk, _lock("p", "SHARED_NO_WRITE",
                                                        backend="mariadb"), "mariadb")
    brief = _stmt(1, "ALTER TABLE t ADD COLUMN a INT", 1, [])
    assert "lock_wait_timeout" in advice(brief, _lock("t", "EXCLUSIVE", backend="mariadb"),
                                         "mariadb")


# --------------------------------------------------------------------------- cross-check

REVISION = '''"""r"""
from alembic import op
import sqlalchemy as sa


def upgrade():
    op.create_index("ix_a", "t", ["a"])
    op.add_column(
        "t",
        sa.Column("b", sa.Integer()),
    )
    op.create_index("ix_c", "t", ["c"], postgresql_concurrently=True)
    with op.batch_alter_table("t") as batch:
        batch.alter_column("d", nullable=False)
    op.execute("SELECT 1")
'''


def _finding(rule: str, name: str, line: int, path: str, severity: str = "error") -> Finding:
    return Finding(rule=rule, name=name, severity=severity, message="m",  # type: ignore[arg-type]
                   fix="", path=path, line=line, revision="0001", dialect="postgresql")


def test_spans(tmp_path: Path) -> None:
    path = tmp_path / "0001_a.py"
    path.write_text(REVISION)
    spans = Spans(str(path))
    assert spans.span(7) == (7, 7)
    assert spans.span(8) == (8, 11)
    assert spans.span(10) == (8, 11)
    assert spans.span(13) == (13, 14)  # a batch runs its operations when the block ends
    assert spans.span(99) == (99, 99)


def test_compare_missed_danger_false_alarm_agreed(tmp_path: Path) -> None:
    path = str(tmp_path / "0001_a.py")
    Path(path).write_text(REVISION)
    stmts = [
        _stmt(1, "CREATE INDEX ix_a ON t (a)", 7, [_lock("t", "ShareLock")], path=path),
        _stmt(2, "ALTER TABLE t ADD COLUMN b INTEGER", 8,
              [_lock("t", "AccessExclusiveLock")], path=path),
        _stmt(3, "CREATE INDEX CONCURRENTLY ix_c ON t (c)", 12,
              [_lock("t", "ShareUpdateExclusiveLock")], autocommit=True, path=path),
        _stmt(4, "ALTER TABLE t ALTER COLUMN d SET NOT NULL", 13,
              [_lock("t", "AccessExclusiveLock")], path=path),
    ]
    result = _result(stmts, path=path)
    families = {"SL201": "postgres-locking", "SL206": "postgres-locking",
                "SL208": "postgres-locking", "SL002": "destructive", "SL999": "script"}
    findings = [
        _finding("SL201", "create-index-non-concurrently", 7, path),
        # a locking rule on the concurrent build: the measured lock was harmless
        _finding("SL201", "create-index-non-concurrently", 12, path),
        # the batch op is reported on its own line, inside the with block
        _finding("SL206", "set-not-null", 14, path),
        # a locking rule on a line that never ran is not compared
        _finding("SL208", "type-change-rewrites-table", 15, path),
        # info findings do not count as seeing the danger
        _finding("SL999", "something", 9, path, severity="info"),
    ]
    cc = compare(result, findings, tmp_path, families)
    assert cc.ran and cc.agreed == 2
    kinds = [(i.kind, i.line) for i in cc.items]
    assert kinds == [("missed-danger", 8), ("false-alarm", 12)]
    missed = cc.items[0]
    assert missed.measured == "ACCESS EXCLUSIVE on t (blocks reads and writes)"
    assert missed.lint == ["SL999 something (info)"]
    false = cc.items[1]
    assert false.lint == ["SL201 create-index-non-concurrently (error)"]
    assert false.measured == "no lock blocking reads or writes of an existing table"


def test_compare_rewrite_rule_without_rewrite(tmp_path: Path) -> None:
    path = str(tmp_path / "0001_a.py")
    Path(path).write_text(REVISION)
    s = _stmt(1, "ALTER TABLE t ALTER COLUMN a TYPE VARCHAR(100)", 7,
              [_lock("t", "AccessExclusiveLock")], path=path)
    result = _result([s], path=path)
    findings = [_finding("SL208", "type-change-rewrites-table", 7, path)]
    cc = compare(result, findings, tmp_path, {"SL208": "postgres-locking"})
    assert cc.agreed == 1
    assert [(i.kind, i.measured.split(" (")[0]) for i in cc.items] == [
        ("false-alarm", "no rewrite")]
    # relative paths from lint resolve against the alembic.ini folder
    rel = [_finding("SL208", "type-change-rewrites-table", 7, "0001_a.py")]
    assert compare(result, rel, tmp_path, {"SL208": "postgres-locking"}).agreed == 1


# --------------------------------------------------------------------------- rendering


def test_render_formats() -> None:
    s = _stmt(1, "CREATE INDEX ix ON t (a)", 7, [_lock("t", "ShareLock"),
                                                  _lock("ix", "AccessExclusiveLock",
                                                        existing=False, kind="index")])
    result = _result([s])
    result.lock_tracing = False
    result.lock_tracing_note = "lock tracing is not available on this server: because"
    findings = trace_findings(result)
    out = io.StringIO()
    render("text", result, findings, out)
    text = out.getvalue()
    assert "SHARE t" in text and "blocks writes" in text
    assert "1 more (harmless or covered; -v lists them)" in text
    assert "lock tracing is not available on this server: because" in text
    assert "TR002 blocks-writes" in text
    assert "longest write-blocking lock" not in text  # not measured without lock tracing
    verbose = io.StringIO()
    render("text", result, findings, verbose, verbose=True)
    assert "ACCESS EXCLUSIVE ix" in verbose.getvalue()

    out = io.StringIO()
    render("json", result, findings, out)
    data = json.loads(out.getvalue())
    assert data["findings"][0]["rule"] == "TR002"
    assert data["lock_tracing"] == {"available": False, "note": result.lock_tracing_note}
    assert data["revisions"][0]["statements"][0]["locks"][0]["blocks"] == "writes"

    out = io.StringIO()
    render("sarif", result, findings, out)
    sarif = json.loads(out.getvalue())
    run = sarif["runs"][0]
    assert run["results"][0]["ruleId"] == "TR002"
    assert run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    assert {"TR001", "TR002", "TR003", "TR101", "TR102"} <= {
        d["id"] for d in run["tool"]["driver"]["rules"]}
    assert run["properties"]["lock_tracing"]["available"] is False

    out = io.StringIO()
    render("github", result, findings, out)
    assert out.getvalue().startswith("::error ")


def test_text_names_each_revisions_longest_write_blocking_lock() -> None:
    short = dataclasses.replace(_lock("t", "ShareLock"), held_ms=3.0)
    long = dataclasses.replace(_lock("t", "AccessExclusiveLock"), held_ms=812.0)
    result = _result([_stmt(1, "CREATE INDEX ix ON t (a)", 7, [short]),
                      _stmt(2, "ALTER TABLE t ADD COLUMN b int", 9, [long])])
    out = io.StringIO()
    render("text", result, trace_findings(result), out)
    assert "longest write-blocking lock: ACCESS EXCLUSIVE on t, held 812 ms (statement 2, line 9)" \
        in out.getvalue()
    harmless = _result([_stmt(1, "SELECT 1", 7, [])])
    out = io.StringIO()
    render("text", harmless, trace_findings(harmless), out)
    assert "longest write-blocking lock: none" in out.getvalue()


# --------------------------------------------------------------------------- sampler


def test_sampler_collects_until_stopped_and_survives_errors() -> None:
    calls = {"n": 0}

    def poll() -> list[RawLock]:
        calls["n"] += 1
        granted = calls["n"] > 1
        return [RawLock("t", "t", "table", None, "ShareLock", granted)]

    sampler = Sampler(poll)
    sampler.start()
    time.sleep(0.02)
    (lock,) = sampler.stop()
    assert sampler.samples >= 2 and lock.granted  # the granted sighting wins

    def broken() -> list[RawLock]:
        raise RuntimeError("connection lost\nmore")

    sampler = Sampler(broken)
    sampler.start()
    time.sleep(0.01)
    assert sampler.stop() == [] and sampler.error == "connection lost"
    assert Sampler(poll).stop() == []  # never started


def test_a_sampled_statement_with_nothing_seen_is_not_a_false_alarm(tmp_path: Path) -> None:
    # SET NOT NULL in autocommit_block takes its ACCESS EXCLUSIVE lock for a millisecond:
    # the sampler sees it in one run and not in the next. Seeing nothing proves nothing,
    # so it was a "false alarm" (and exit 1) every other run.
    path = str(tmp_path / "0001_a.py")
    Path(path).write_text(REVISION)
    families = {"SL206": "postgres-locking"}
    findings = [_finding("SL206", "set-not-null", 13, path)]
    unseen = _stmt(1, "ALTER TABLE t ALTER COLUMN d SET NOT NULL", 13, [], autocommit=True,
                   path=path)
    cc = compare(_result([unseen], path=path), findings, tmp_path, families)
    assert cc.items == [] and cc.unobserved == 1
    assert cc.as_dict()["unobserved"] == 1
    seen = _stmt(1, "ALTER TABLE t ALTER COLUMN d SET NOT NULL", 13,
                 [_lock("t", "AccessExclusiveLock")], autocommit=True, path=path)
    cc = compare(_result([seen], path=path), findings, tmp_path, families)
    assert cc.items == [] and cc.agreed == 1 and cc.unobserved == 0
    # inside the transaction every lock is read after the statement: nothing is nothing
    inside = _stmt(1, "ALTER TABLE t ALTER COLUMN d SET NOT NULL", 13, [], path=path)
    cc = compare(_result([inside], path=path), findings, tmp_path, families)
    assert [i.kind for i in cc.items] == ["false-alarm"] and cc.unobserved == 0


def test_advice_leaves_out_the_lock_timeout_the_revision_already_set() -> None:
    # every TR001 told a recipe's statements to SET lock_timeout, which they ran under
    stmts = [
        _stmt(1, "SET lock_timeout = '5s'", 10, []),
        _stmt(2, "ALTER TABLE t ALTER COLUMN d SET NOT NULL", 11,
              [_lock("t", "AccessExclusiveLock")]),
        _stmt(3, "RESET lock_timeout", 12, []),
        _stmt(4, "ALTER TABLE u ADD COLUMN e INTEGER", 13, [_lock("u", "AccessExclusiveLock")]),
    ]
    result = _result(stmts)
    found = {f.line: f.fix for f in trace_findings(result) if f.rule == "TR001"}
    assert "lock_timeout" not in found[11]
    assert "SET lock_timeout = '3s'" in found[13]
    assert found[11].startswith("1. ")  # the steps are numbered without a gap


def test_a_locking_finding_under_an_earlier_stronger_lock_is_not_a_false_alarm(
        tmp_path: Path) -> None:
    # ADD COLUMN (ACCESS EXCLUSIVE) then CREATE INDEX (SHARE, covered by it) in one
    # transaction: SL201 on the index was called a false alarm
    path = str(tmp_path / "0001_a.py")
    Path(path).write_text(REVISION)
    stmts = [_stmt(1, "ALTER TABLE t ADD COLUMN b INTEGER", 8,
                   [_lock("t", "AccessExclusiveLock")], path=path),
             _stmt(2, "CREATE INDEX ix_c ON t (c)", 7, [_lock("t", "ShareLock")], path=path)]
    result = _result(stmts, path=path)
    assert result.revisions[0].statements[1].blocking == []  # covered by the ALTER's lock
    findings = [_finding("SL201", "create-index-non-concurrently", 7, path)]
    cc = compare(result, findings, tmp_path, {"SL201": "postgres-locking"})
    assert [i.kind for i in cc.items if i.line == 7] == []


def test_every_mode_detail_reads_after_it() -> None:
    # the findings say "... it {detail}": "it the table is copied row by row" read wrong
    from sluice.trace.modes import MYSQL_MODES, PG_MODES

    for mode in [*PG_MODES.values(), *MYSQL_MODES.values()]:
        if mode.blocks:  # (only blocking locks make findings)
            assert mode.detail.split()[0] in ("blocks", "copies"), mode


def test_a_moment_of_lock_in_its_own_transaction_under_the_timeout_is_not_a_finding() -> None:
    """A recipe's ADD COLUMN: its own transaction (autocommit_block), under the lock
    timeout the block set, rewriting nothing, held a moment. Its wait is bounded and its
    hold is short: shown, not reported (sluice trace failed on Sluice's own recipe)."""
    def run(held: float, *, timed: bool = True, autocommit: bool = True,
            rewrites: tuple[str, ...] = ()) -> list[str]:
        lock = _lock("users", "AccessExclusiveLock")
        lock.held_ms = held
        stmts = [_stmt(1, "SET lock_timeout = '5s'" if timed else "SELECT 1", 10, []),
                 _stmt(2, "ALTER TABLE users ADD COLUMN IF NOT EXISTS token UUID", 11, [lock],
                       autocommit=autocommit, rewrites=rewrites)]
        result = _result(stmts)
        return [f.rule for f in trace_findings(result)]

    assert run(3.0) == []
    assert run(120.0) == ["TR001"]  # held long: a scan under the lock
    assert run(3.0, timed=False) == ["TR001"]  # an unbounded wait
    assert run(3.0, autocommit=False) == ["TR001"]  # held until the revision commits
    assert run(3.0, rewrites=("users",)) == ["TR001"]  # copied the table


def _mysql_ddl(sql: str, locks: list[Lock], duration_ms: float,
               rewrites: list[str]) -> TraceResult:
    for lk in locks:
        lk.observed = "sampled"
    stmt = Statement(index=1, sql=sql, path="/x/0001_a.py", line=16, duration_ms=duration_ms,
                     implicit_commit=True, locks=locks, rewrites=rewrites)
    rt = RevisionTrace(revision="0001", path="/x/0001_a.py", message="m",
                       down_revisions=(), statements=[stmt])
    annotate(rt, "mariadb")
    return TraceResult(backend="mariadb", server_version="10.11", server="my",
                       lock_tracing=True, revisions=[rt])


def test_mysql_finding_states_the_sampled_hold_and_copy_advice_only_for_a_copy() -> None:
    exclusive = _lock("events", "EXCLUSIVE", backend="mariadb")
    exclusive.held_ms = 5.7
    result = _mysql_ddl("ALTER TABLE events MODIFY name VARCHAR(50) NOT NULL",
                        [exclusive], 539.0, ["events"])
    (f,) = trace_findings(result)
    assert "Held 5.7 ms here" in f.message and "statement's 539 ms" not in f.message
    assert "no table copy seen" in f.message and "copied under the lock" not in f.message
    assert "silently copying" not in f.fix and "rebuilt in place" in f.fix

    copy = _lock("events", "COPY", backend="mariadb")
    copy.held_ms = 94.0
    result = _mysql_ddl("ALTER TABLE events MODIFY amount BIGINT NULL", [copy], 99.0,
                        ["events"])
    (f,) = trace_findings(result)
    assert "Held 94 ms here" in f.message and "silently copying" in f.fix


def test_step_statements_collapse_into_one_aligned_row() -> None:
    stmts = [_stmt(i, "UPDATE t SET a = 1" if i > 1 else "ALTER TABLE t ADD COLUMN a int",
                   10 if i == 1 else 11, []) for i in range(1, 121)]
    for s in stmts[1:]:
        s.step = "update t"
    stmts[-1].sql = "COMMIT"
    result = _result(stmts)
    result.revisions[0].data_steps = {"update t": 40}
    out = io.StringIO()
    render("text", result, result.findings, out)
    lines = out.getvalue().splitlines()
    assert any("sluice.data step 'update t': 40 batches (119 statements" in ln for ln in lines)
    assert not any("COMMIT" in ln for ln in lines)
    header = next(ln for ln in lines if "statement" in ln and "line" in ln)
    row = next(ln for ln in lines if "2-120" in ln)
    assert row.index("11") + 2 == header.index("line") + 4  # "line" stays right-aligned
