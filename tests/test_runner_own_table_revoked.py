"""The deploy role's privileges on Sluice's own tables revoked while ``sluice upgrade``
runs (an owner tightening grants mid-deploy): the run stops, and says so, naming the
table, the GRANT to run and where the database is, not that it lost the migration lock.

A real ``sluice upgrade`` process pauses inside r0002 while the owner revokes; the next
audit write (r0003's ``running`` mark) is refused.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sluice.data.checkpoints import Store
from sluice.owned import DATA_PROGRESS_TABLE
from sluice.runner import audit
from sluice.runner.lock import LockLost, MigrationLock
from tests.support import faults
from tests.support.runner import Rev, go, make_project


@pytest.fixture(params=["postgresql", "mysql"])
def owner_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url" if request.param == "postgresql"
                                       else "mysql_url"))


def _run(admin: sa.Engine, *statements: str) -> None:
    with admin.connect() as conn:
        for sql in statements:
            conn.exec_driver_sql(sql.replace("%", "%%"))


@pytest.fixture
def revisions() -> list[Rev]:
    return faults.instrumented_chain(3)


def committing_r0003() -> list[Rev]:
    """r0003 commits what it did so far: it enters an autocommit block (as a sluice.data
    step or a concurrent index build does) after its table and its row in the ran table."""
    revs = faults.instrumented_chain(3)
    revs[2].upgrade += "\nwith op.get_context().autocommit_block():\n    pass"
    return revs


def data_step_r0003() -> list[Rev]:
    """r0003 updates t0001's rows in a sluice.data step of one row a batch, and waits
    after its first batch for the file ``go_step`` (having written ``in_step``)."""
    revs = faults.instrumented_chain(3)
    revs[2].header += "from sluice.data import batched_update\n"
    revs[2].upgrade = (  # a revision of its own, as a data step should be
        "def _pause(info):\n"
        "    if info.number == 1:\n"
        "        (_dir / 'in_step').write_text('x')\n"
        "        _wait_for('go_step')\n"
        "batched_update('t0001', {'name': 'x'}, step='names', batch_size=1, "
        "target_batch_ms=0, on_batch=_pause)")
    return revs


@pytest.fixture
def deployer(owner_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             revisions: list[Rev]) -> Iterator[tuple[Path, str, str, sa.Engine]]:
    """A project the owner upgraded to r0001 (Sluice's tables are the owner's) and a login
    role that may migrate and use Sluice's tables: the project, the role's URL and
    account, the owner's engine."""
    monkeypatch.setenv("SLUICE_FAULT_DIR", str(tmp_path))
    ini = make_project(tmp_path / "p", revisions)
    faults.create_ran_table(owner_url)
    assert go(ini, owner_url, target="r0001").status == "applied"
    name = f"sluice_r_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(owner_url, isolation_level="AUTOCOMMIT")
    pg = owner_url.startswith("postgresql")
    db = str(sa.make_url(owner_url).database)
    account = name if pg else f"'{name}'@'%'"
    Store(DATA_PROGRESS_TABLE).table.create(admin)
    tables = ["alembic_version", "sluice_lock_holder", "sluice_history", faults.RAN_TABLE,
              DATA_PROGRESS_TABLE, "t0001"]
    if pg:
        _run(admin, f"CREATE ROLE {name} LOGIN", f"GRANT USAGE, CREATE ON SCHEMA public TO {name}",
             f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(tables)} TO {name}",
             f"GRANT USAGE ON SEQUENCE sluice_history_id_seq TO {name}")
    else:
        _run(admin, f"CREATE USER {account}",
             f"GRANT CREATE, ALTER, DROP, INDEX ON `{db}`.* TO {account}",
             *(f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{db}`.{t} TO {account}"
               for t in tables))
    try:
        yield (ini, sa.make_url(owner_url).set(username=name).render_as_string(
            hide_password=False), account, admin)
    finally:
        _run(admin, *([f"DROP OWNED BY {name}", f"DROP ROLE IF EXISTS {name}"] if pg
                      else [f"DROP USER IF EXISTS {account}"]))
        admin.dispose()


@pytest.mark.parametrize("revisions", [faults.instrumented_chain(3), committing_r0003()],
                         ids=["transactional", "r0003-commits"])
@pytest.mark.parametrize("table", ["sluice_history"])
def test_a_privilege_revoked_on_sluice_s_table_mid_run_is_named(
        tmp_path: Path, owner_url: str, table: str,
        deployer: tuple[Path, str, str, sa.Engine]) -> None:
    ini, url, account, admin = deployer
    pg = owner_url.startswith("postgresql")

    proc = faults.start(ini, url, tmp_path, "a", SLUICE_FAULT_PAUSE="r0002")
    faults.wait_until(lambda: (tmp_path / "paused").exists(), "the run to reach r0002", [proc])
    db = "" if pg else f"`{sa.make_url(owner_url).database}`."
    _run(admin, f"REVOKE INSERT, UPDATE ON {db}{table} FROM {account}")
    (tmp_path / "go_on").write_text("go")
    code = proc.wait(timeout=120)
    proc.communicate()
    err = (tmp_path / "a.err").read_text()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert "Traceback" not in err and "[SQL:" not in err, err
    assert "lost the migration lock" not in err and "connection is gone" not in err, err
    first = next(line for line in lines if line.startswith("sluice: error: "))
    assert "sluice_history" in first and re.search(r"permission denied|command denied",
                                                   first), first
    # fail closed on every backend: no revision after the refusal is applied. On
    # PostgreSQL the run is one transaction (r0002 and r0003), rolled back as a whole
    # once r0003's refused mark is read, before anything is committed
    at = "r0001" if pg else "r0002"
    assert first.endswith(f"the database is at {at}"), first
    with admin.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == at
        ran = {r[0] for r in conn.exec_driver_sql(f"SELECT rev FROM {faults.RAN_TABLE}")}
        assert "r0003" not in ran, ran
        assert not sa.inspect(conn).has_table("t0003")
    grants = re.findall(r"GRANT [^;]+;", err)
    assert grants, err
    _run(admin, *grants)
    rerun = faults.start(ini, url, tmp_path, "b")
    assert rerun.wait(timeout=120) == 0, (tmp_path / "b.err").read_text()
    rerun.communicate()


@pytest.mark.parametrize("owner_url", ["mysql"], indirect=True)  # PostgreSQL pipelines it
def test_a_refused_running_mark_is_not_a_lost_lock(
        owner_url: str, deployer: tuple[Path, str, str, sa.Engine]) -> None:
    """The mark written on the lock's own connection, refused: the lock is still held,
    the error names the table and the GRANT, not a lost lock or a gone connection."""
    _, url, account, admin = deployer
    lock = MigrationLock(url, timeout_ms=0)
    lock.acquire()
    try:
        assert lock.audit_conn is not None
        run = audit.RunRecord(audit.new_run_id(), "dev", "ci", "host", 1, "sluice upgrade",
                              [audit.StepRecord("r0002", "upgrade", "r0001", "r0002", None)])
        audit.insert_pending(lock.audit_conn, run)
        _run(admin, f"REVOKE UPDATE ON `{sa.make_url(owner_url).database}`.sluice_history "
             f"FROM {account}")
        with pytest.raises(LockLost) as caught:
            lock.mark_running(run.steps[0])
        message, hint = str(caught.value), caught.value.hint or ""
        assert "cannot mark the next revision running in sluice_history" in message, message
        assert "UPDATE command denied" in message, message
        assert "lost the migration lock" not in message and "gone" not in message, message
        assert "GRANT SELECT, INSERT, UPDATE, DELETE ON " in hint, hint
        lock.verify()  # still held
    finally:
        lock.release()


@pytest.mark.parametrize("revisions", [data_step_r0003()])
def test_a_checkpoint_privilege_revoked_mid_step_names_the_grant(
        tmp_path: Path, owner_url: str, deployer: tuple[Path, str, str, sa.Engine]) -> None:
    """The deploy role's UPDATE on the checkpoint table revoked while a data step runs
    under ``sluice upgrade``: the step stops at its next checkpoint write, and the run's
    error names the table and gives the GRANT; granted again, a rerun resumes."""
    ini, url, account, admin = deployer
    pg = owner_url.startswith("postgresql")
    db = "" if pg else f"`{sa.make_url(owner_url).database}`."
    _run(admin, "INSERT INTO t0001 (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    proc = faults.start(ini, url, tmp_path, "a")
    faults.wait_until(lambda: (tmp_path / "in_step").exists(), "the step's first batch",
                      [proc])
    _run(admin, f"REVOKE UPDATE ON {db}{DATA_PROGRESS_TABLE} FROM {account}")
    (tmp_path / "go_step").write_text("go")
    code = proc.wait(timeout=120)
    proc.communicate()
    err = (tmp_path / "a.err").read_text()
    assert code == 1, err  # a revision failed
    assert "Traceback" not in err and "[SQL:" not in err, err
    first = next(line for line in err.splitlines() if line.startswith("sluice: error: "))
    assert f"cannot write its checkpoint in {DATA_PROGRESS_TABLE}" in first, first
    grants = re.findall(r"GRANT [^;]+;", err)
    assert any(DATA_PROGRESS_TABLE in g for g in grants), err
    _run(admin, *grants)
    rerun = faults.start(ini, url, tmp_path, "b")
    assert rerun.wait(timeout=120) == 0, (tmp_path / "b.err").read_text()
    rerun.communicate()
    with admin.connect() as conn:
        assert {r[0] for r in conn.exec_driver_sql("SELECT name FROM t0001")} == {"x"}
