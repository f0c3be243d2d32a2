"""A revision that fails after an ``autocommit_block`` ran (a ``sluice.data`` step commits
each batch in one, a concurrent index is built in one) has committed part of itself even
where DDL is transactional: the failure report says what stays committed, never "nothing
was applied", and a lock timeout there is not retried as if nothing had run."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from sluice.errors import SluiceError
from sluice.runner.run import MigrationFailed
from tests.support.cli import SLUICE, run_process
from tests.support.runner import Rev, go, make_project, version

UPGRADE_DATA = '''\
from sluice.data import batched_update
batched_update(items, {"v": "x"}, where=items.c.v.is_(None))
op.execute("UPDATE no_such_table SET v = 1")'''

UPGRADE_COMMIT = '''\
bind = op.get_bind()
bind.execute(sa.text("UPDATE items SET v = 'x'"))
bind.commit()
op.execute("UPDATE no_such_table SET v = 1")'''

UPGRADE_BLOCK = '''\
with op.get_context().autocommit_block():
    op.execute("UPDATE items SET v = 'x'")
op.execute("UPDATE no_such_table SET v = 1")'''

CREATE = ('op.create_table("items", sa.Column("id", sa.Integer(), primary_key=True), '
          'sa.Column("v", sa.String(10)))\n'
          'op.bulk_insert(sa.table("items", sa.column("id"), sa.column("v")), '
          '[{"id": i, "v": None} for i in range(1, 51)])')


def run_failing(tmp_path: Path, url: str, body: str) -> MigrationFailed:
    header = 'items = sa.table("items", sa.column("id"), sa.column("v"))\n'
    ini = make_project(tmp_path / "proj", [
        Rev(id="r0001", upgrade=CREATE),
        Rev(id="r0002", upgrade=body, header=header),
    ])
    assert go(ini, url, target="r0001").status == "applied"
    try:
        go(ini, url)
    except MigrationFailed as exc:
        return exc
    raise AssertionError("r0002 did not fail")


def items_done(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM items WHERE v = 'x'"))
                       .scalar_one())
    finally:
        engine.dispose()


def test_a_data_step_s_batches_stay_committed_and_the_report_says_so(
        tmp_path: Path, db_url: str) -> None:
    failed = run_failing(tmp_path, db_url, UPGRADE_DATA)
    message = str(failed)
    assert "nothing of r0002 was applied" not in message
    # MySQL too: no DDL of the revision committed, only the step's batches, which a rerun
    # resumes (listing them as rolled back, with "do not re-run", was wrong there)
    assert "committed" in message and "autocommit" in message
    assert "the next run resumes them" in message and "Do not re-run" not in (failed.hint or "")
    assert items_done(db_url) == 50
    assert version(db_url) == ["r0001"]


@pytest.mark.parametrize("body", [UPGRADE_BLOCK, UPGRADE_COMMIT], ids=["block", "commit"])
def test_what_a_revision_committed_itself_stays_and_the_report_says_so(
        tmp_path: Path, db_url: str, body: str) -> None:
    """An autocommit block, or the revision committing Alembic's connection itself
    (``op.get_bind().commit()``, SQLAlchemy 2's way)."""
    failed = run_failing(tmp_path, db_url, body)
    assert "nothing of r0002 was applied" not in str(failed)
    assert items_done(db_url) == 50


DRY_CASES = {
    "block": 'with op.get_context().autocommit_block():\n    op.execute("UPDATE items SET v = \'x\'")',
    "commit": 'bind = op.get_bind()\nbind.execute(sa.text("UPDATE items SET v = \'x\'"))\n'
              'bind.commit()',
    "data step": UPGRADE_DATA.rsplit("\n", 1)[0],
}


@pytest.mark.parametrize("case", list(DRY_CASES))
def test_a_dry_run_never_commits(tmp_path: Path, db_url: str, case: str) -> None:
    """--dry-run promises that everything is rolled back: a revision that would commit
    part of itself (an autocommit block, a data step's batches, a commit of Alembic's
    connection) stops the rehearsal before that commit, and nothing changes."""
    header = 'items = sa.table("items", sa.column("id"), sa.column("v"))\n'
    ini = make_project(tmp_path / "proj", [
        Rev(id="r0001", upgrade=CREATE),
        Rev(id="r0002", upgrade=DRY_CASES[case], header=header),
    ])
    try:
        go(ini, db_url, dry_run=True)
    except (MigrationFailed, SluiceError) as exc:
        message = str(exc)
    else:
        raise AssertionError("the dry run did not stop")
    if db_url.startswith("mysql"):  # refused before anything runs: no transactional DDL
        assert message.startswith("--dry-run is not possible on ")
    else:
        assert message.startswith("dry run stopped in r0002: a dry run cannot rehearse it: "
                                  "it ")
        assert "would commit the rehearsal for real" in message
    assert version(db_url) == []
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert not sa.inspect(conn).has_table("items")
    finally:
        engine.dispose()


def test_no_alembic_context_is_left_installed_after_a_failure(tmp_path: Path) -> None:
    """Alembic leaves ``alembic.op`` proxying to the failed run's Operations when a
    migration raises; Sluice's in-process runs (the runner, ``sluice check``) leave it as
    they found it, so later code in the process does not think it runs in a migration."""
    import alembic.op as op_mod

    from tests.support.cli import run_cli

    url = f"sqlite:///{tmp_path / 'a.db'}"
    run_failing(tmp_path, url, UPGRADE_BLOCK)
    assert getattr(op_mod, "_proxy", None) is None
    ini = tmp_path / "proj" / "alembic.ini"
    assert run_cli(["check", "--only", "upgrade", "-c", ini]).exit_code == 1
    assert getattr(op_mod, "_proxy", None) is None


PART_COMMITTED = '''op.add_column("items", sa.Column("c1", sa.Integer(), nullable=True))
with op.get_context().autocommit_block():
    op.create_index("ix_items_c1", "items", ["c1"], postgresql_concurrently=True)
    op.execute("SELECT * FROM no_such_table")'''


@pytest.mark.postgres
def test_a_rerun_after_a_part_committed_failure_does_not_say_nothing_was_applied(
        tmp_path: Path, pg_url: str) -> None:
    # the index stayed; the rerun said "nothing of r0002 was applied" and the advice to
    # fix and rerun failed on it
    ini = make_project(tmp_path / "proj", [Rev(id="r0001", upgrade=CREATE),
                                           Rev(id="r0002", upgrade=PART_COMMITTED)])
    first = run_process([SLUICE, "upgrade", "--url", pg_url, "-c", ini])
    assert first.returncode == 1, first.stderr
    assert "stays committed" in first.stderr and "safe to run again" in first.stderr
    path = ini.parent / "migrations" / "versions" / "r0002.py"
    path.write_text(path.read_text().replace('    op.execute("SELECT * FROM no_such_table")\n',
                                             ""))
    rerun = run_process([SLUICE, "upgrade", "--url", pg_url, "-c", ini])
    assert rerun.returncode == 1, rerun.stderr  # the index is there already
    assert "nothing of r0002 was applied" not in rerun.stderr, rerun.stderr
    assert "an earlier run" in rerun.stderr and "after committing part of it" in rerun.stderr
