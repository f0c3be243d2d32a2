"""sluice.data inside real `alembic upgrade` runs: transactions, resume, stamping, --sql, gates."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import alembic.context
import alembic.op
import pytest
import sqlalchemy as sa
from alembic import command

from sluice.data import DataMigrationError
from tests.support.project import cfg, edit

FIXTURE = Path(__file__).parent / "fixtures" / "data" / "project"
ROWS = 30  # 0001 seeds this many items; batches of 7 (fixture sluice.toml)


@pytest.fixture(autouse=True)
def _no_migration_left_installed() -> Iterator[None]:
    """A plain ``alembic upgrade`` that raises leaves ``alembic.op`` and
    ``alembic.context`` proxying to its objects (Alembic removes them on success only):
    later tests in this process must not find a migration running."""
    yield
    for module in (alembic.op, alembic.context):
        proxy = getattr(module, "_proxy", None)
        if proxy is not None:
            proxy._remove_proxy()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "project"
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    return dest


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    eng = sa.create_engine(db_url)
    yield eng
    eng.dispose()


HEADER = '''\
"""data step

Revision ID: {rev}
Revises: {down}
"""
import os

import sqlalchemy as sa
from alembic import op

from sluice import only_in, skip_in
from sluice.data import backfill, batched_delete, batched_update

revision = "{rev}"
down_revision = "{down}"

items = sa.table("items", sa.column("id"), sa.column("n"), sa.column("label"),
                 sa.column("doubled"))


def crash_after(k):
    """on_batch hook: fail after batch k while SLUICE_TEST_CRASH names this step."""
    def hook(info):
        if os.environ.get("SLUICE_TEST_CRASH") == f"{{k}}" and info.number == k:
            raise RuntimeError(f"crash after batch {{k}}")
    return hook


def crash_here(where):
    if os.environ.get("SLUICE_TEST_CRASH") == where:
        raise RuntimeError(f"crash at {{where}}")
'''


def write_revision(project: Path, upgrade: str, downgrade: str = "pass", *, rev: str = "0002",
                   down: str = "0001", extra: str = "") -> None:
    text = HEADER.format(rev=rev, down=down) + textwrap.dedent(extra) + "\n\n"
    text += "def upgrade() -> None:\n" + textwrap.indent(textwrap.dedent(upgrade), "    ")
    text += "\n\ndef downgrade() -> None:\n" + textwrap.indent(textwrap.dedent(downgrade), "    ")
    (project / "migrations" / "versions" / f"{rev}_data.py").write_text(text + "\n")


def upgrade(project: Path, url: str, *x: str, rev: str = "head") -> None:
    command.upgrade(cfg(project, url, f"rows={ROWS}", *x), rev)


def version(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def items(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM items ORDER BY id"))]


def checkpoints(engine: sa.Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("sluice_data_progress"):
            return {}
        return {r.step: dict(r._mapping)
                for r in conn.execute(sa.text("SELECT * FROM sluice_data_progress"))}


def test_steps_run_in_upgrade_and_checkpoints_leave_with_the_stamp(
    project: Path, db_url: str, engine: sa.Engine, capfd: pytest.CaptureFixture[str],
) -> None:
    write_revision(project, """
        op.add_column("items", sa.Column("extra", sa.Integer(), nullable=True))
        extra = sa.table("items", sa.column("extra"))
        batched_update(items, {"n": items.c.n + 1, "extra": 5})
        backfill("items", lambda rows: [{"doubled": r["id"] * 2} for r in rows], columns=["id"])
        batched_delete(items, items.c.id > 25)
        op.create_index("ix_items_n", "items", ["n"])
    """, """
        op.drop_index("ix_items_n", table_name="items")
        op.drop_column("items", "extra")
    """)
    upgrade(project, db_url)
    got = items(engine)
    assert [r["id"] for r in got] == list(range(1, 26))
    assert all(r["n"] == 1 and r["extra"] == 5 and r["doubled"] == 2 * r["id"] for r in got)
    assert version(engine) == "0002"
    assert checkpoints(engine) == {}  # deleted in the transaction that stamped 0002
    with engine.connect() as conn:
        assert "ix_items_n" in {i["name"] for i in sa.inspect(conn).get_indexes("items")}
    err = capfd.readouterr().err
    for name in ("update items", "backfill items", "delete items"):
        assert f"step '{name}' (revision 0002) done" in err


def test_crash_mid_step_keeps_the_work_before_it_and_resumes(
    project: Path, db_url: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_revision(project, """
        if not sa.inspect(op.get_bind()).has_table("audit"):  # rerun-safe DDL before a step
            op.create_table("audit", sa.Column("id", sa.Integer(), primary_key=True))
        batched_update(items, {"n": items.c.n + 1}, on_batch=crash_after(3))
    """)
    monkeypatch.setenv("SLUICE_TEST_CRASH", "3")
    with pytest.raises(DataMigrationError, match=r"step 'update items' \(revision 0002\) "
                                                 r"stopped in on_batch.*21 rows done.*rerun"):
        upgrade(project, db_url)
    assert version(engine) == "0001"  # not stamped with a step unfinished
    with engine.connect() as conn:
        assert sa.inspect(conn).has_table("audit")  # committed before the first batch
    cp = checkpoints(engine)["update items"]
    assert (cp["rows_done"], cp["batches"], cp["finished"]) == (21, 3, None)
    assert [r["id"] for r in items(engine) if r["n"]] == list(range(1, 22))

    monkeypatch.delenv("SLUICE_TEST_CRASH")
    upgrade(project, db_url)
    assert version(engine) == "0002"
    assert all(r["n"] == 1 for r in items(engine))
    assert checkpoints(engine) == {}


def test_crash_in_second_step_skips_the_first_on_rerun(
    project: Path, db_url: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    write_revision(project, """
        batched_update(items, {"n": items.c.n + 1})
        batched_update(items, {"n": items.c.n + 10}, on_batch=crash_after(2))
        backfill(items, lambda rows: [{"label": r["label"] + "!"} for r in rows],
                 columns=["label"], step="exclaim")
    """)
    monkeypatch.setenv("SLUICE_TEST_CRASH", "2")
    with pytest.raises(DataMigrationError, match="update items #2"):
        upgrade(project, db_url)
    cps = checkpoints(engine)
    assert set(cps) == {"update items", "update items #2"}
    assert cps["update items"]["finished"] is not None
    assert cps["update items #2"]["rows_done"] == 14
    monkeypatch.delenv("SLUICE_TEST_CRASH")
    capfd.readouterr()
    upgrade(project, db_url)
    err = capfd.readouterr().err
    assert "step 'update items' (revision 0002) already finished" in err
    assert "step 'update items #2' (revision 0002): resuming from the checkpoint after key " \
           "[14] (14 rows done in 2 batches)" in err
    got = items(engine)
    assert all(r["n"] == 11 and r["label"] == f"item {r['id']}!" for r in got)
    assert version(engine) == "0002"


def test_crash_after_the_steps_before_the_stamp(
    project: Path, db_url: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_revision(project, """
        batched_update(items, {"n": items.c.n + 1})
        op.create_index("ix_items_label", "items", ["label"])
        crash_here("end")
    """)
    monkeypatch.setenv("SLUICE_TEST_CRASH", "end")
    with pytest.raises(RuntimeError, match="crash at end"):
        upgrade(project, db_url)
    assert version(engine) == "0001"
    assert checkpoints(engine)["update items"]["finished"] is not None
    if engine.dialect.name == "postgresql":  # the work after the step shares the stamp's fate
        with engine.connect() as conn:
            assert "ix_items_label" not in {
                i["name"] for i in sa.inspect(conn).get_indexes("items")}
    else:  # MySQL and SQLite commit DDL at once: make DDL after a step rerun-safe, too
        with engine.begin() as conn:
            conn.execute(sa.text("DROP INDEX ix_items_label ON items" if
                                 engine.dialect.name == "mysql" else "DROP INDEX ix_items_label"))
    monkeypatch.delenv("SLUICE_TEST_CRASH")
    upgrade(project, db_url)
    assert version(engine) == "0002"
    assert all(r["n"] == 1 for r in items(engine))  # the finished step did not run again


def test_downgrade_and_upgrade_again_runs_the_steps_again(
    project: Path, db_url: str, engine: sa.Engine,
) -> None:
    write_revision(project, """
        batched_update(items, {"n": items.c.n + 1})
    """, """
        batched_update(items, {"n": items.c.n + 10})
    """)
    upgrade(project, db_url)
    command.downgrade(cfg(project, db_url), "0001")
    assert version(engine) == "0001"
    assert checkpoints(engine) == {}
    upgrade(project, db_url)
    assert all(r["n"] == 12 for r in items(engine))
    assert checkpoints(engine) == {}


def test_downgrade_steps_have_their_own_checkpoints(
    project: Path, db_url: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_revision(project, """
        batched_update(items, {"n": items.c.n + 1}, step="bump")
    """, """
        batched_update(items, {"n": items.c.n - 1}, step="bump", on_batch=crash_after(1))
    """)
    upgrade(project, db_url)
    monkeypatch.setenv("SLUICE_TEST_CRASH", "1")
    with pytest.raises(DataMigrationError, match="step 'downgrade: bump'"):
        command.downgrade(cfg(project, db_url), "0001")
    assert set(checkpoints(engine)) == {"downgrade: bump"}
    monkeypatch.delenv("SLUICE_TEST_CRASH")
    command.downgrade(cfg(project, db_url), "0001")
    assert all(r["n"] == 0 for r in items(engine))
    assert version(engine) == "0001"
    assert checkpoints(engine) == {}


def test_a_step_with_its_own_revision_id_leaves_with_the_stamp_too(
    project: Path, db_url: str, engine: sa.Engine,
) -> None:
    """revision= changes the id stored with the checkpoint; the row still leaves when the
    running revision is stamped, so a downgrade and upgrade runs the step again."""
    write_revision(project, """
        batched_update(items, {"n": items.c.n + 1}, revision="custom")
    """)
    upgrade(project, db_url)
    assert checkpoints(engine) == {}
    command.downgrade(cfg(project, db_url), "0001")
    upgrade(project, db_url)
    assert all(r["n"] == 2 for r in items(engine))
    assert checkpoints(engine) == {}


def test_explicit_connection_from_op_get_bind(project: Path, db_url: str,
                                              engine: sa.Engine) -> None:
    write_revision(project, """
        batched_update(items, {"n": 3}, connection=op.get_bind(), step="with bind")
    """)
    upgrade(project, db_url)
    assert all(r["n"] == 3 for r in items(engine))
    assert checkpoints(engine) == {}


def test_a_step_name_used_twice_is_refused(project: Path, db_url: str,
                                          engine: sa.Engine) -> None:
    write_revision(project, """
        batched_update(items, {"n": items.c.n + 1}, step="same")
        batched_update(items, {"n": items.c.n + 1}, step="same")
    """)
    with pytest.raises(DataMigrationError, match="step name 'same' is used twice"):
        upgrade(project, db_url)
    assert all(r["n"] == 1 for r in items(engine))


def test_environment_gates_around_steps(project: Path, db_url: str, engine: sa.Engine,
                                        capfd: pytest.CaptureFixture[str]) -> None:
    write_revision(project, """
        prod_only()
        with skip_in("dev"):
            batched_update(items, {"n": items.c.n + 1})
        batched_update(items, {"doubled": items.c.id}, step="everywhere")
    """, extra="""
        @only_in("prod")
        def prod_only():
            batched_update(items, {"label": "prod"})
    """)
    upgrade(project, db_url)
    err = capfd.readouterr().err
    assert "step prod_only skipped in environment 'dev'" in err
    assert "block skipped in environment 'dev'" in err
    got = items(engine)
    assert all(r["n"] == 0 and r["label"] != "prod" and r["doubled"] == r["id"] for r in got)

    command.downgrade(cfg(project, db_url), "0001")
    upgrade(project, db_url, "env=prod")
    got = items(engine)
    assert all(r["n"] == 1 and r["label"] == "prod" for r in got)


OFFLINE_URLS = {
    "sqlite": "sqlite://",
    "postgresql": "postgresql+psycopg://u@localhost/db",
    "mysql": "mysql+pymysql://u@localhost/db",
}


@pytest.mark.parametrize("dialect", sorted(OFFLINE_URLS))
def test_sql_mode_renders_one_statement_and_says_why(
    project: Path, dialect: str, capsys: pytest.CaptureFixture[str],
) -> None:
    write_revision(project, """
        batched_update(items, {"n": items.c.n + 1, "label": "x"}, where=items.c.id > 10)
        batched_delete("items", where=sa.column("label") == "old")
        backfill(items, lambda rows: rows, columns=["label"], step="python")
    """)
    command.upgrade(cfg(project, OFFLINE_URLS[dialect], f"rows={ROWS}"), "0001:0002", sql=True)
    out, err = capsys.readouterr()
    update_head = "-- sluice.data update step 'update items' (revision 0002) on table items:"
    assert update_head in out
    assert "-- Batching, throttling and checkpoints need an online run" in out
    assert "UPDATE items SET n=(items.n + 1), label='x' WHERE items.id > 10;" in out
    assert "DELETE FROM items WHERE items.label = 'old';" in out
    assert "-- sluice.data backfill step 'python' (revision 0002) on table items:" in out
    assert "-- NOT RENDERED: it runs the Python function" in out
    assert "backfill cannot be rendered in --sql mode" in err
    assert "sluice_data_progress" not in out
    assert out.index(update_head) < out.index("UPDATE alembic_version")


@pytest.mark.parametrize("dialect", sorted(OFFLINE_URLS))
def test_sql_mode_renders_values_naming_other_columns(
    project: Path, dialect: str, capsys: pytest.CaptureFixture[str],
) -> None:
    """Offline there is no table to reflect: columns named only inside a value
    expression (a table given by name, bare sa.column()) are rendered all the same."""
    write_revision(project, """
        batched_update("items", {"doubled": sa.func.length(sa.column("label"))}, step="len")
        batched_update(items, {"n": sa.column("doubled") + 1}, where=items.c.id > 3,
                       step="plus")
    """)
    command.upgrade(cfg(project, OFFLINE_URLS[dialect], f"rows={ROWS}"), "0001:0002", sql=True)
    out = capsys.readouterr().out
    assert "UPDATE items SET doubled=length(items.label);" in out
    assert "UPDATE items SET n=(items.doubled + 1) WHERE items.id > 3;" in out


def test_env_py_with_its_own_outer_transaction_is_refused(
    project: Path, db_url: str, engine: sa.Engine,
) -> None:
    edit(project / "migrations" / "env.py",
         "    with connectable.connect() as connection:\n",
         "    with connectable.connect() as connection, connection.begin():\n")
    write_revision(project, """
        batched_update(items, {"n": 1})
    """)
    upgrade(project, db_url, rev="0001")
    with pytest.raises(DataMigrationError, match="transaction it opened itself"):
        upgrade(project, db_url)
    assert all(r["n"] == 0 for r in items(engine))
