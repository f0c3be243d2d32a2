"""`sluice upgrade`/`downgrade`/`plan`/`history` on SQLite, PostgreSQL and MariaDB: audit,
guards and their overrides, dry run, lock waiting, plain `alembic upgrade` through env.py."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from sluice.errors import PolicyViolation, SluiceError
from sluice.runner import audit
from sluice.runner.api import history, make_plan
from sluice.runner.backup import BackupFailed
from sluice.runner.lock import Holder, LockTimeout, MigrationLock
from sluice.runner.run import MigrationFailed
from tests.support.cli import run_cli
from tests.support.db import tables
from tests.support.project import cfg as alembic_cfg
from tests.support.runner import (
    SLUICE_TOML,
    Rev,
    add_revision,
    chain,
    go,
    make,
    make_project,
    rows,
    version,
    with_env,
)

# --------------------------------------------------------------------------- basics


def test_upgrade_audits_each_revision_and_is_idempotent(tmp_path: Path, db_url: str) -> None:
    ini = make(tmp_path)
    msgs: list[str] = []
    result = go(ini, db_url, msgs=msgs)
    assert result.status == "applied" and result.after == ["r0003"]
    assert [s.status for s in result.steps] == ["succeeded"] * 3
    assert {"t0001", "t0002", "t0003", "sluice_history"} <= tables(db_url)
    assert any("r0002 done" in m for m in msgs)
    entries = rows(db_url)
    assert [e.revision for e in entries] == ["r0003", "r0002", "r0001"]  # newest first
    for e in entries:
        path = ini.parent / "migrations" / "versions" / f"{e.revision}.py"
        assert e.checksum == hashlib.sha256(path.read_bytes()).hexdigest()
        assert e.status == "succeeded" and e.direction == "upgrade" and e.environment == "dev"
        assert e.duration_ms is not None and e.finished is not None
        assert e.host and e.user and e.pid == os.getpid()
    assert entries[0].from_revision == "r0002" and entries[2].from_revision is None
    again = go(ini, db_url)
    assert again.status == "up-to-date" and len(rows(db_url)) == 3
    out = run_cli(["history", "-c", str(ini), "--url", db_url, "--format", "json"],
                  catch_exceptions=False)
    data = json.loads(out.stdout)
    assert [e["revision"] for e in data["entries"]] == ["r0003", "r0002", "r0001"]
    assert data["checksum_mismatches"] == []


def test_cli_upgrade_json_and_history_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ini = make(tmp_path)
    res = run_cli(["upgrade", "r0002", "-c", str(ini), "--url", url, "--format", "json"],
                  catch_exceptions=False)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["status"] == "applied" and data["after"] == ["r0002"]
    assert [r["revision"] for r in data["revisions"]] == ["r0001", "r0002"]
    res = run_cli(["history", "-c", str(ini), "--url", url], catch_exceptions=False)
    assert res.exit_code == 0 and "r0002" in res.stdout and "succeeded" in res.stdout
    res = run_cli(["upgrade", "-c", str(ini), "--url", url, "--sql"], catch_exceptions=False)
    assert "CREATE TABLE t0003" in res.stdout and "t0002 (" not in res.stdout


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    ini = make(tmp_path)
    res = run_cli(["upgrade", "-c", str(ini), "--url",
                   "postgresql+psycopg://u:hunter2@127.0.0.1:1/nope"], catch_exceptions=False)
    assert res.exit_code == 2
    assert "hunter2" not in res.stderr and "Traceback" not in res.stderr
    assert res.stderr.startswith("sluice: error: postgresql+psycopg://u:***@127.0.0.1:1/nope: "
                                 "cannot connect:")
    assert len(res.stderr.strip().splitlines()) == 1


def test_unwired_env_py_is_refused(tmp_path: Path) -> None:
    from tests.support.runner import ENV_PY

    plain = ENV_PY.replace("from sluice import configure_options\n", "")
    plain = plain.replace(",\n        **configure_options(config),", ",")
    plain = plain.replace(",\n                          **configure_options(config))", ")")
    ini = make_project(tmp_path / "p", chain(1), env_py=plain)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with pytest.raises(SluiceError, match="does not pass sluice.configure_options"):
        go(ini, url)
    assert "t0001" not in tables(url)


# --------------------------------------------------------------------------- dry run


def test_dry_run_rolls_everything_back(tmp_path: Path, db_url: str) -> None:
    ini = make(tmp_path)
    if db_url.startswith("mysql"):
        with pytest.raises(SluiceError, match="no transactional DDL") as err:
            go(ini, db_url, dry_run=True)
        assert "--sql" in (err.value.hint or "")
        assert "t0001" not in tables(db_url)
        return
    go(ini, db_url, target="r0001")
    result = go(ini, db_url, dry_run=True)
    assert result.status == "dry-run"
    assert [s.revision for s in result.steps] == ["r0002", "r0003"]
    assert all(s.duration_ms is not None and s.status == "rolled_back" for s in result.steps)
    assert "rolled back" in result.render() and "r0003" in result.render()
    assert version(db_url) == ["r0001"]
    assert not {"t0002", "t0003"} & tables(db_url)
    assert [e.revision for e in rows(db_url)] == ["r0001"]  # a dry run writes no audit rows


def test_dry_run_on_empty_sqlite_leaves_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ini = make(tmp_path)
    assert go(ini, url, dry_run=True).status == "dry-run"
    assert tables(url) == {"sluice_lock_holder"}  # the lock's bookkeeping, nothing else


# --------------------------------------------------------------------------- lock


def test_waiting_process_names_the_holder_and_gives_up(tmp_path: Path, db_url: str) -> None:
    toml = SLUICE_TOML.replace('[environments.dev]\nmigration_lock_timeout = "30s"',
                               '[environments.dev]\nmigration_lock_timeout = "1s"')
    ini = make(tmp_path, toml=toml)
    holder = Holder(environment="prod", command="deploy #42")
    lock = MigrationLock(db_url, timeout_ms=0, holder=holder)
    lock.acquire()
    msgs: list[str] = []
    try:
        with pytest.raises(LockTimeout) as err:
            go(ini, db_url, msgs=msgs)
    finally:
        lock.release()
    text_ = str(err.value)
    assert f"pid {os.getpid()}" in text_ and "deploy #42" in text_ and "since" in text_
    assert "nothing was changed" in (err.value.hint or "")
    assert any("waiting for the migration lock" in m and "deploy #42" in m for m in msgs)
    assert "t0001" not in tables(db_url)
    assert go(ini, db_url).status == "applied"  # released: the next run goes through


def test_rows_of_a_dead_run_are_reconciled(tmp_path: Path, db_url: str) -> None:
    ini = make(tmp_path)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        audit.ensure_table(conn)
        dead = audit.RunRecord("deadbeef", "dev", "ci", "old-host", 99999, "sluice upgrade", [
            audit.StepRecord("r0001", "upgrade", None, "r0001", None),
            audit.StepRecord("r0002", "upgrade", "r0001", "r0002", None),
        ])
        audit.insert_pending(conn, dead)
        dead.steps[0].started = audit.utcnow()
        audit.mark_running(conn, dead.steps[0])
    engine.dispose()
    msgs: list[str] = []
    result = go(ini, db_url, msgs=msgs)
    assert any("old-host pid 99999" in w and "died" in w for w in result.warnings)
    old = {e.revision: e for e in rows(db_url) if e.run_id == "deadbeef"}
    assert old["r0001"].status == "failed" and "interrupted" in (old["r0001"].error or "")
    assert old["r0002"].status == "skipped"


# --------------------------------------------------------------------------- failures


def test_failed_revision_is_recorded_and_transactional_dbs_roll_back(tmp_path: Path,
                                                                      db_url: str) -> None:
    revs = chain(3)
    revs[1] = Rev("r0002", 'op.create_table("half", sa.Column("id", sa.Integer()))\n'
                           'op.execute("SELECT * FROM no_such_table")')
    ini = make(tmp_path, revs)
    with pytest.raises(MigrationFailed) as err:
        go(ini, db_url)
    result = err.value.result
    statuses = {s.revision: s.status for s in result.steps}
    assert statuses["r0002"] == "failed" and statuses["r0003"] == "skipped"
    if db_url.startswith("postgresql"):
        # one transaction for the whole run: r0001 went with it
        assert statuses["r0001"] == "rolled_back" and version(db_url) == []
        assert "rolled back" in str(err.value)
    else:
        assert statuses["r0001"] == "succeeded" and version(db_url) == ["r0001"]
    if not db_url.startswith("mysql"):
        assert "half" not in tables(db_url)  # SQLite: Sluice wraps each revision in BEGIN
    recorded = {e.revision: e for e in rows(db_url)}
    assert recorded["r0002"].status == "failed" and "no_such_table" in (recorded["r0002"].error or "")


def test_checksum_change_is_reported(tmp_path: Path, db_url: str) -> None:
    ini = make(tmp_path)
    go(ini, db_url, target="r0002")
    path = ini.parent / "migrations" / "versions" / "r0001.py"
    path.write_text(path.read_text() + "\n# edited after it was applied\n")
    msgs: list[str] = []
    result = go(ini, db_url, msgs=msgs)
    assert any("r0001 changed after it was applied" in w for w in result.warnings)
    assert any(m.startswith("warning:") and "r0001" in m for m in msgs)
    report = history(ini, url=db_url)
    assert [m.revision for m in report.mismatches] == ["r0001"]
    assert "[file changed since applied]" in report.render()


def test_line_endings_are_not_a_change(tmp_path: Path) -> None:
    """The deploy host's checkout and the one reading history may differ in line endings
    (git's autocrlf on Windows): that is not an edit, as it is not for sluice.sum. A row
    an older Sluice recorded from a CRLF file (its raw bytes' digest) still matches."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ini = make(tmp_path)
    go(ini, url, target="r0002")
    versions = ini.parent / "migrations" / "versions"
    for name in ("r0001.py", "r0002.py"):
        path = versions / name
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    result = go(ini, url)
    assert not any("changed after it was applied" in w for w in result.warnings)
    assert history(ini, url=url).mismatches == []
    (versions / "r0003.py").write_bytes((versions / "r0003.py").read_bytes().replace(
        b"\n", b"\r\n"))
    raw_crlf = hashlib.sha256((versions / "r0003.py").read_bytes()).hexdigest()
    with create_engine(url).begin() as conn:  # as an older Sluice recorded it: raw bytes
        conn.execute(text("UPDATE sluice_history SET checksum = :c WHERE revision = 'r0003'"),
                     {"c": raw_crlf})
    assert history(ini, url=url).mismatches == []


# --------------------------------------------------------------------------- policy


def test_downgrade_refused_in_production_unless_allowed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ini = make(tmp_path)
    go(ini, url)
    res = run_cli(["downgrade", "r0001", "-c", str(ini), "--url", url, "--env", "prod", "--yes"],
                  catch_exceptions=False)
    assert res.exit_code == 1
    assert "downgrade refused in prod" in res.stderr and "--allow-downgrade" in res.stderr
    assert version(url) == ["r0003"]
    res = run_cli(["downgrade", "r0001", "-c", str(ini), "--url", url, "--env", "prod", "--yes",
                   "--allow-downgrade"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert version(url) == ["r0001"]
    backups = list(tmp_path.glob("a.db.*-r0003.backup"))  # production: SQLite backup first
    assert len(backups) == 1 and version(f"sqlite:///{backups[0]}") == ["r0003"]
    down = [e for e in rows(url) if e.direction == "downgrade"]
    assert [e.revision for e in down] == ["r0002", "r0003"] and down[0].environment == "prod"
    # dev allows downgrades without the flag
    assert go(ini, url, direction="downgrade", target="base").after == []


@pytest.mark.parametrize(("start", "command", "spec"), [
    ("r0004", "downgrade", "-1"),
    ("r0004", "downgrade", "-2"),
    ("r0004", "downgrade", "r0004-1"),
    ("r0004", "downgrade", "head-3"),
    ("r0004", "downgrade", "base"),
    ("r0001", "upgrade", "+2"),
    ("r0001", "upgrade", "r0001+1"),
    ("r0002", "upgrade", "heads"),
])
def test_relative_revisions_resolve_as_in_alembic(tmp_path: Path, start: str, command: str,
                                                  spec: str) -> None:
    from alembic import command as alembic_command

    ini = make(tmp_path, chain(4))
    ours, theirs = (f"sqlite:///{tmp_path / name}" for name in ("ours.db", "alembic.db"))
    for url in (ours, theirs):
        go(ini, url, target=start)
    res = run_cli([command, spec, "-c", str(ini), "--url", ours, "--yes", "--env", "dev"],
                  catch_exceptions=False)
    assert res.exit_code == 0, res.output
    getattr(alembic_command, command)(alembic_cfg(ini.parent, theirs), spec)
    assert version(ours) == version(theirs)
    assert version(ours) != [start]


def test_plan_takes_a_relative_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ini = make(tmp_path)
    go(ini, url)
    res = run_cli(["plan", "-1", "-c", str(ini), "--url", url, "--format", "json", "--no-sql"],
                  catch_exceptions=False)
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    assert plan["direction"] == "downgrade"
    assert [r["revision"] for r in plan["revisions"]] == ["r0003"]
    # the production refusal's own commands, with -1 in them, run as printed
    from tests.support.doc_commands import command_error, commands_in

    res = run_cli(["downgrade", "-1", "-c", str(ini), "--url", url, "--env", "prod", "--yes"],
                  catch_exceptions=False)
    assert res.exit_code == 1 and "downgrade refused in prod" in res.stderr
    suggested = [argv for line in res.stderr.splitlines() if "sluice " in line
                 for argv in commands_in(line[line.index("sluice "):])]
    assert any("-1" in argv for argv in suggested), res.stderr
    for argv in suggested:
        assert command_error(tuple(argv)) is None, argv
    assert version(url) == ["r0003"]
    # an option's value that looks like a relative revision stays the option's value
    res = run_cli(["downgrade", "-c", str(ini), "--url", url, "--yes", "-1", "--format", "json"],
                  catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert version(url) == ["r0002"]


def test_confirmation_in_production(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ini = make(tmp_path)
    res = run_cli(["upgrade", "-c", str(ini), "--url", url, "--env", "prod"],
                  catch_exceptions=False)
    assert res.exit_code == 1 and "no terminal to ask on" in res.stderr
    assert "--yes" in res.stderr and tables(url) <= {"sluice_lock_holder"}
    seen: list[Any] = []

    def no(plan: Any) -> bool:
        seen.append(plan)
        return False

    with pytest.raises(PolicyViolation, match="not confirmed"):
        go(ini, url, env="prod", confirm=no)
    assert [r.revision for r in seen[0].revisions] == ["r0001", "r0002", "r0003"]
    assert "CREATE TABLE t0001" in seen[0].render()
    assert version(url) == []
    result = go(ini, url, env="prod", confirm=lambda plan: True)
    assert result.status == "applied" and result.backup is not None


DROP = Rev("r0004", 'op.drop_table("t0003")',
           'op.create_table("t0003", sa.Column("id", sa.Integer(), primary_key=True))')


def test_lint_errors_refused_in_production(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ini = make(tmp_path, [*chain(3), DROP])
    res = run_cli(["upgrade", "-c", str(ini), "--url", url, "--env", "prod", "--yes"],
                  catch_exceptions=False)
    assert res.exit_code == 1
    assert "upgrade refused in prod" in res.stderr and "SL001" in res.stderr
    assert "sluice: ignore[SL001]" in res.stderr
    assert version(url) == []
    # dev does not block
    assert go(ini, url, target="r0003").status == "applied"
    # override 1: a reviewed suppression in the script
    path = ini.parent / "migrations" / "versions" / "r0004.py"
    path.write_text(path.read_text().replace(
        'op.drop_table("t0003")',
        'op.drop_table("t0003")  # sluice: ignore[SL001] table unused since v2.3'))
    assert go(ini, url, env="prod", yes=True).status == "applied"


def test_lint_guard_can_be_switched_off_per_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    toml = with_env(SLUICE_TOML, "prod", "block_on_lint_errors = false")
    ini = make(tmp_path, [*chain(3), DROP], toml=toml)
    assert go(ini, url, env="prod", yes=True).status == "applied"


def test_backup_failure_aborts_before_anything_changes(tmp_path: Path, db_url: str) -> None:
    script = tmp_path / "dump.py"
    script.write_text("import sys, pathlib\n"
                      "pathlib.Path(sys.argv[1]).write_text(' '.join(sys.argv[2:]))\n"
                      "sys.exit(int(sys.argv[-1]))\n")
    out = tmp_path / "args.txt"
    cmd = f"{sys.executable} {script} {out} {{revision}} {{target}} {{env}} {{timestamp}}"
    toml = with_env(SLUICE_TOML, "prod", f"backup_command = '{cmd} 5'")
    ini = make(tmp_path, toml=toml)
    with pytest.raises(BackupFailed, match="exit 5"):
        go(ini, db_url, env="prod", yes=True)
    assert out.read_text().startswith("base head prod ")
    assert not {"t0001"} & tables(db_url) and not rows(db_url)
    (ini.parent / "sluice.toml").write_text(with_env(SLUICE_TOML, "prod", f"backup_command = '{cmd} 0'"))
    result = go(ini, db_url, env="prod", yes=True)
    assert result.status == "applied" and result.backup is not None


# --------------------------------------------------------------------------- plan


def test_plan_shows_sizes_risk_sql_and_guards(tmp_path: Path, db_url: str) -> None:
    toml = SLUICE_TOML + "\n[lint]\nlarge_table_rows = 3\n"
    add = Rev("r0004", 'op.add_column("t0001", sa.Column("x", sa.Integer(), nullable=False))',
              'op.drop_column("t0001", "x")')
    ini = make(tmp_path, [*chain(3), add], toml=toml)
    go(ini, db_url, target="r0001")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t0001 (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')"))
    engine.dispose()
    res = run_cli(["plan", "-c", str(ini), "--url", db_url, "--format", "json", "--env", "prod"],
                  catch_exceptions=False)
    assert res.exit_code == 1, res.output  # prod would refuse the SL106 error
    plan = json.loads(res.stdout)
    assert plan["current"] == ["r0001"] and plan["target"] == "head"
    assert [r["revision"] for r in plan["revisions"]] == ["r0002", "r0003", "r0004"]
    r4 = plan["revisions"][2]
    op = r4["operations"][0]
    assert op["kind"] == "add_column" and op["table"] == "t0001"
    assert op["table_size"]["rows"] == 3 and op["large_table"] is True
    assert op["risk"] == "high" and any(f["rule"] == "SL106" for f in op["findings"])
    assert any("ALTER TABLE t0001 ADD" in s for s in r4["sql"])
    assert plan["revisions"][0]["operations"][0]["table_size"]["exists"] is False
    assert any("refused" in g for g in plan["refusals"])
    res = run_cli(["plan", "-c", str(ini), "--url", db_url], catch_exceptions=False)
    assert res.exit_code == 0 and "LARGE" in res.stdout and "SL106" in res.stdout
    down = make_plan(ini, target="base", url=db_url, with_sql=False)
    assert down.direction == "downgrade" and [r.revision for r in down.revisions] == ["r0001"]


# --------------------------------------------------------------------------- plain alembic


def test_plain_alembic_upgrade_gets_lock_timeouts_and_audit(tmp_path: Path, db_url: str) -> None:
    from alembic import command

    ini = make(tmp_path)
    command.upgrade(alembic_cfg(ini.parent, db_url, "env=dev"), "r0001")
    assert "sluice_history" not in tables(db_url)  # dev: plain alembic is not guarded
    command.upgrade(alembic_cfg(ini.parent, db_url, "env=prod"), "head")
    entries = rows(db_url)
    assert [(e.revision, e.status, e.via) for e in entries] == [
        ("r0003", "succeeded", "alembic upgrade"), ("r0002", "succeeded", "alembic upgrade")]
    lock = MigrationLock(db_url, timeout_ms=0)
    lock.acquire()  # released when env.py handed its connection back
    lock.release()
    revs = chain(4)
    add_revision(ini, Rev("r0004", revs[3].upgrade + '\nop.execute("SELECT * FROM nope")'),
                 "r0003")
    with pytest.raises(Exception, match="nope"):
        command.upgrade(alembic_cfg(ini.parent, db_url, "env=prod"), "head")
    failed = rows(db_url)[0]
    assert failed.revision == "r0004" and failed.status == "failed"
    lock.acquire()
    lock.release()


# --------------------------------------------------------------------------- environments


def test_environment_url_with_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = with_env(SLUICE_TOML, "staging", 'url = "sqlite:///${SLUICE_T_DIR}/staging.db"')
    ini = make(tmp_path, toml=toml)
    res = run_cli(["upgrade", "-c", str(ini), "--env", "staging"], catch_exceptions=False)
    assert res.exit_code == 2 and "SLUICE_T_DIR is not set" in res.stderr
    assert "environments.staging.url" in res.stderr
    monkeypatch.setenv("SLUICE_T_DIR", str(tmp_path))
    res = run_cli(["upgrade", "-c", str(ini), "--env", "staging"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert version(f"sqlite:///{tmp_path / 'staging.db'}") == ["r0003"]
    res = run_cli(["upgrade", "-c", str(ini), "--env", "staging", "-x", "env=prod"],
                  catch_exceptions=False)
    assert res.exit_code == 2 and "disagree" in res.stderr


def test_environment_reaches_env_py_and_revisions(shop: Path) -> None:
    """`--env prod` is passed on as `-x env=prod`: the shop's demo data step skips itself."""
    prod_url = f"sqlite:///{shop / 'prod.db'}"
    dev_url = f"sqlite:///{shop / 'dev.db'}"
    ini = shop / "alembic.ini"
    assert run_cli(["upgrade", "-c", str(ini), "--url", prod_url, "--env", "prod", "--yes"],
                   catch_exceptions=False).exit_code == 0
    assert run_cli(["upgrade", "-c", str(ini), "--url", dev_url],
                   catch_exceptions=False).exit_code == 0

    def demo_rows(url: str) -> int:
        engine = create_engine(url)
        with engine.connect() as conn:
            n = conn.execute(text("SELECT count(*) FROM products WHERE sku LIKE 'DEMO-%'")).scalar()
        engine.dispose()
        return int(n or 0)

    assert demo_rows(prod_url) == 0 and demo_rows(dev_url) == 2
    assert [e.environment for e in rows(prod_url)] == ["prod", "prod"]
    assert list(shop.glob("prod.db.*-base.backup"))  # the shop's prod requires a backup


def test_lint_guard_that_cannot_lint_stops_the_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ini = make(tmp_path, toml=SLUICE_TOML + '\n[lint]\ntrees = ["no-such-tree"]\n')
    res = run_cli(["upgrade", "-c", str(ini), "--url", url, "--env", "prod", "--yes"],
                  catch_exceptions=False)
    assert res.exit_code == 2 and "cannot lint the revisions to apply" in res.stderr
    assert version(url) == []
    assert go(ini, url).status == "applied"  # dev has no lint guard
