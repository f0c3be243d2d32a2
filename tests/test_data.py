"""sluice.data with an explicit connection: correctness, keys, resume, bad input, locks."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rich.console import Console

import sluice.data as data
from sluice.config import DataConfig, load_config
from sluice.data import (
    DataMigrationError,
    LockRetriesExhausted,
    backfill,
    batched_delete,
    batched_update,
    checkpoints,
    clear_checkpoints,
    dialects,
    keys,
)
from sluice.data.progress import ConsoleProgress
from sluice.data.settings import resolve_settings
from sluice.data.step import Step
from sluice.errors import ConfigError
from sluice.scratch import scratch_database
from tests.support.servers import server_url

ROWS = 53

md = sa.MetaData()
items = sa.Table(
    "items", md,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("n", sa.Integer, nullable=False, server_default="0"),
    sa.Column("label", sa.String(40)),
    sa.Column("code", sa.String(20), nullable=False, unique=True),
    sa.Column("maybe", sa.String(20), unique=True),
    sa.Column("grp", sa.Integer, nullable=False, server_default="0"),
)
pairs = sa.Table(
    "pairs", md,
    sa.Column("a", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("b", sa.String(10), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False, server_default="0"),
)
nokey = sa.Table(
    "nokey", md,
    sa.Column("x", sa.Integer, nullable=False),
    sa.Column("y", sa.Integer),
)
CONFIG = DataConfig(batch_size=5, target_batch_ms=0, log_interval_s=3600)


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mysql"])
def module_db(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database per backend for this module (tests reset its tables): creating a
    server database per test would cost more than the tests themselves."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('data') / 'test.db'}"
        return
    with scratch_database(server_url(request.param), prefix="sluice_t") as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture
def engine(module_db: str) -> Iterator[sa.Engine]:
    """Fresh tables: items, pairs, nokey seeded; no checkpoint table."""
    eng = sa.create_engine(module_db)
    if eng.dialect.name == "sqlite":  # no fsync per commit: atomicity is unaffected
        sa.event.listen(eng, "connect",
                        lambda dbapi_conn, _: dbapi_conn.execute("PRAGMA synchronous = OFF"))
    with eng.begin() as conn:
        old = sa.MetaData()
        old.reflect(conn)
        old.drop_all(conn)
    md.create_all(eng)
    with eng.begin() as conn:
        conn.execute(items.insert(), [
            {"id": i, "n": 0, "label": f"item {i}", "code": f"c{ROWS - i:04d}",
             "maybe": None, "grp": i % 3}
            for i in range(1, ROWS + 1)
        ])
        conn.execute(pairs.insert(), [
            {"a": i // 4, "b": f"b{(7 * i) % 4}", "n": 0} for i in range(ROWS)
        ])
        conn.execute(nokey.insert(), [{"x": i, "y": 0} for i in range(5)])
    yield eng
    eng.dispose()


def rows(engine: sa.Engine, table: sa.Table = items) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        pk = list(table.primary_key.columns)
        return [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(*pk))]


def progress(engine: sa.Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("sluice_data_progress"):
            return {}
        res = conn.execute(sa.text("SELECT * FROM sluice_data_progress"))
        return {r.step: dict(r._mapping) for r in res}


def run(fn: Any, engine: sa.Engine, *args: Any, **kw: Any) -> data.StepResult:
    kw.setdefault("config", CONFIG)
    kw.setdefault("step", "s")
    with engine.connect() as conn:
        return fn(*args, connection=conn, **kw)


class Boom(Exception):
    pass


def fail_after(k: int) -> Any:
    def on_batch(info: data.BatchInfo) -> None:
        if info.number == k:
            raise Boom(f"injected after batch {k}")
    return on_batch


# --------------------------------------------------------------------------- correctness


def test_batched_update_values_expressions_and_where(engine: sa.Engine) -> None:
    res = run(batched_update, engine, items, {"n": items.c.n + 1, "label": "even"},
              where=items.c.id % 2 == 0)
    got = rows(engine)
    assert all(r["n"] == (1 if r["id"] % 2 == 0 else 0) for r in got)
    assert all((r["label"] == "even") == (r["id"] % 2 == 0) for r in got)
    assert (res.rows_scanned, res.rows_changed) == (ROWS, ROWS // 2)
    assert res.batches == -(-ROWS // 5)  # fixed size: ceil(53 / 5)
    cp = progress(engine)["s"]
    assert cp["finished"] is not None and cp["rows_done"] == ROWS and cp["batches"] == res.batches
    assert json.loads(cp["last_key"]) == {"after": [ROWS], "upto": [ROWS]}


def test_update_by_table_name_with_a_where_from_another_table_object(engine: sa.Engine) -> None:
    light = sa.table("items", sa.column("grp"))
    run(batched_update, engine, "items", {"n": 7}, where=light.c.grp == 1)
    assert {r["id"] for r in rows(engine) if r["n"] == 7} == {
        i for i in range(1, ROWS + 1) if i % 3 == 1
    }


def test_composite_primary_key(engine: sa.Engine) -> None:
    res = run(batched_update, engine, pairs, {"n": pairs.c.n + 1}, batch_size=3)
    got = rows(engine, pairs)
    assert len(got) == ROWS and all(r["n"] == 1 for r in got)
    assert res.rows_scanned == ROWS
    last = json.loads(progress(engine)["s"]["last_key"])
    top = list(max((r["a"], r["b"]) for r in got))
    assert last == {"after": top, "upto": top}


def test_composite_key_resume_visits_every_row_once(engine: sa.Engine) -> None:
    with pytest.raises(DataMigrationError, match="injected after batch 4"):
        run(batched_update, engine, pairs, {"n": pairs.c.n + 1}, batch_size=3,
            on_batch=fail_after(4))
    assert sum(r["n"] for r in rows(engine, pairs)) == 12
    res = run(batched_update, engine, pairs, {"n": pairs.c.n + 1}, batch_size=4)
    assert res.resumed and all(r["n"] == 1 for r in rows(engine, pairs))


def test_custom_unique_key_walks_in_its_own_order(engine: sa.Engine) -> None:
    seen: list[tuple[Any, ...]] = []
    res = run(batched_update, engine, items, {"n": items.c.n + 1}, key="code",
              on_batch=lambda info: seen.append(info.last_key))
    assert all(r["n"] == 1 for r in rows(engine))
    assert res.rows_scanned == ROWS
    assert seen == sorted(seen) and seen[0] == ("c0004",)  # code order, not id order


def test_a_floating_point_key_is_refused(engine: sa.Engine) -> None:
    """MySQL returns a FLOAT rounded to 6 digits: ranges bounded by it skip rows, the last
    batch repeats forever, and a backfill's `key = value` finds nothing. No float keys."""
    floats = sa.Table("floats", sa.MetaData(),
                      sa.Column("id", sa.Float, primary_key=True, autoincrement=False),
                      sa.Column("n", sa.Integer, nullable=False))
    floats.create(engine)
    with engine.begin() as conn:
        conn.execute(floats.insert(), [{"id": i / 3, "n": 0} for i in range(1, 9)])
    for fn, args in ((batched_update, ({"n": 1},)), (backfill, (lambda r: r,))):
        with pytest.raises(DataMigrationError, match="key column 'id' of table 'floats' is "
                                                     "floating-point"):
            run(fn, engine, "floats", *args, config=CONFIG)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.sum(floats.c.n))).scalar() == 0
        assert not sa.inspect(conn).has_table("sluice_data_progress")


def test_batched_delete(engine: sa.Engine) -> None:
    res = run(batched_delete, engine, items, items.c.id % 4 == 0)
    assert [r["id"] for r in rows(engine)] == [i for i in range(1, ROWS + 1) if i % 4]
    assert res.rows_changed == ROWS // 4


def test_batched_delete_needs_an_explicit_where(engine: sa.Engine) -> None:
    with pytest.raises(DataMigrationError, match=r"where=sa.true\(\)"):
        run(batched_delete, engine, items, None)
    assert len(rows(engine)) == ROWS
    run(batched_delete, engine, items, sa.true())
    assert rows(engine) == []


def test_empty_table_finishes_at_once(engine: sa.Engine) -> None:
    run(batched_delete, engine, items, sa.true(), step="purge")
    res = run(batched_update, engine, items, {"n": 1})
    assert (res.batches, res.rows_scanned, res.skipped) == (0, 0, False)
    assert progress(engine)["s"]["finished"] is not None


def test_backfill_with_python(engine: sa.Engine) -> None:
    calls: list[int] = []

    def shout(chunk: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        calls.append(len(chunk))
        assert set(chunk[0]) == {"id", "label"}
        return [{"label": r["label"].upper()} if r["id"] % 5 else None for r in chunk]

    res = run(backfill, engine, items, shout, columns=["label"], where=items.c.grp != 2)
    got = rows(engine)
    for r in got:
        expected = f"item {r['id']}"
        if r["id"] % 5 and r["grp"] != 2:
            expected = expected.upper()
        assert r["label"] == expected
    assert sum(calls) == len([i for i in range(1, ROWS + 1) if i % 3 != 2])
    assert res.rows_changed == len([i for i in range(1, ROWS + 1) if i % 3 != 2 and i % 5])


def test_backfill_default_columns_and_key_columns_ignored_when_unchanged(
    engine: sa.Engine,
) -> None:
    def fn(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assert set(chunk[0]) == {c.name for c in items.columns}
        return [{"id": r["id"], "n": r["id"] * 10} for r in chunk]

    run(backfill, engine, "items", fn)
    assert all(r["n"] == r["id"] * 10 for r in rows(engine))


def test_backfill_keeps_the_types_of_the_table_given(engine: sa.Engine) -> None:
    class Tagged(sa.types.TypeDecorator[str]):
        impl = sa.String(40)
        cache_ok = True

        def process_bind_param(self, value: Any, dialect: Any) -> Any:
            return None if value is None else f"<{value}>"

    typed = sa.table("items", sa.column("label", Tagged()))
    run(backfill, engine, typed, lambda chunk: [{"label": "x"} for _ in chunk],
        columns=["label"])
    assert {r["label"] for r in rows(engine)} == {"<x>"}


def test_backfill_bad_results_roll_the_batch_back(engine: sa.Engine) -> None:
    cases: list[tuple[Any, str]] = [
        (lambda chunk: chunk[:-1], "returned 4 entries"),
        (lambda chunk: {"label": "x"}, "must return a list"),
        (lambda chunk: ["x" for _ in chunk], "return a dict of new values or None"),
        (lambda chunk: [{"nope": 1} for _ in chunk], "column 'nope'"),
        (lambda chunk: [{"id": r["id"] + 1} for r in chunk], "changed key column 'id'"),
    ]
    for bad, message in cases:
        with pytest.raises(DataMigrationError, match=message):
            run(backfill, engine, items, bad, columns=["label"])
        assert rows(engine)[0]["label"] == "item 1"
        assert progress(engine)["s"]["rows_done"] == 0


# --------------------------------------------------------------------------- resume


@pytest.mark.parametrize("k", [1, 4, 10])
def test_resume_after_crash_after_batch_k(engine: sa.Engine, k: int) -> None:
    with pytest.raises(DataMigrationError, match=f"stopped in on_batch.*checkpoint keeps "
                                                 f"{5 * k} rows done"):
        run(batched_update, engine, items, {"n": items.c.n + 1}, on_batch=fail_after(k))
    got = rows(engine)
    assert [r["id"] for r in got if r["n"] == 1] == list(range(1, 5 * k + 1))
    cp = progress(engine)["s"]
    assert (cp["rows_done"], cp["batches"], cp["finished"]) == (5 * k, k, None)
    res = run(batched_update, engine, items, {"n": items.c.n + 1})
    assert res.resumed and res.batches == -(-ROWS // 5)
    assert all(r["n"] == 1 for r in rows(engine))  # non-idempotent: each row exactly once


def test_a_checkpoint_that_is_no_key_of_the_step_is_refused(engine: sa.Engine) -> None:
    """A checkpoint written by another definition of the step (a composite key, now a
    single one) or edited by hand: one line saying how to start over, no row touched."""
    with pytest.raises(DataMigrationError, match="stopped in on_batch"):
        run(batched_update, engine, pairs, {"n": pairs.c.n + 1}, on_batch=fail_after(1))
    with engine.begin() as conn:
        conn.execute(pairs.update().values(n=0))
    for last_key in (None, "not json", '[{"unknown": 1}]', "{}"):
        if last_key is not None:
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE sluice_data_progress SET last_key = :k"),
                             {"k": last_key})
        with pytest.raises(DataMigrationError, match=r"step 's': its checkpoint .* is not a "
                                                     r"key of \(id\).*clear_checkpoints"):
            run(batched_update, engine, items, {"n": items.c.n + 1})
        assert all(r["n"] == 0 for r in rows(engine))


def test_crash_inside_a_batch_rolls_that_batch_back(engine: sa.Engine) -> None:
    def fn(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if chunk[0]["id"] > 15:
            raise Boom("bad row")
        return [{"n": r["n"] + 1} for r in chunk]

    with pytest.raises(DataMigrationError, match=r"stopped in batch 4: Boom: bad row at .*"
                                                 r"test_data.py:\d+.*15 rows done"):
        run(backfill, engine, items, fn, columns=["n"])
    assert [r["id"] for r in rows(engine) if r["n"]] == list(range(1, 16))
    res = run(backfill, engine, items, lambda c: [{"n": r["n"] + 1} for r in c], columns=["n"])
    assert res.resumed and all(r["n"] == 1 for r in rows(engine))


@pytest.mark.parametrize("autocommit", [False, True])
def test_failed_checkpoint_write_rolls_the_data_back(engine: sa.Engine, autocommit: bool,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Batch and checkpoint share one transaction, also on an AUTOCOMMIT connection (as in
    Alembic's autocommit_block), where the batch is grouped by explicit BEGIN/COMMIT."""
    real = checkpoints.Store.advance
    calls = {"n": 0}

    def flaky(self: Any, *args: Any, **kw: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise sa.exc.OperationalError("UPDATE sluice_data_progress", {}, Exception("gone"))
        real(self, *args, **kw)

    monkeypatch.setattr(checkpoints.Store, "advance", flaky)
    with engine.connect() as conn:
        if autocommit:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        with pytest.raises(DataMigrationError, match="stopped in batch 3"):
            batched_update(items, {"n": items.c.n + 1}, connection=conn, step="s",
                           config=CONFIG)
    assert [r["id"] for r in rows(engine) if r["n"]] == list(range(1, 11))
    assert progress(engine)["s"]["rows_done"] == 10


def test_interrupt_inside_a_batch_leaves_nothing_for_a_later_commit(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C between a batch's UPDATE and its checkpoint: the batch is rolled back, so
    the COMMIT Alembic sends when leaving autocommit_block has nothing half-done to commit."""
    real = checkpoints.Store.advance
    calls = {"n": 0}

    def interrupted(self: Any, *args: Any, **kw: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(self, *args, **kw)

    monkeypatch.setattr(checkpoints.Store, "advance", interrupted)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        with pytest.raises(KeyboardInterrupt):
            batched_update(items, {"n": items.c.n + 1}, connection=conn, step="s",
                           config=CONFIG)
        conn.commit()
    assert [r["id"] for r in rows(engine) if r["n"]] == list(range(1, 11))
    assert progress(engine)["s"]["rows_done"] == 10


def test_finished_step_is_not_run_again(engine: sa.Engine, capfd: pytest.CaptureFixture[str]
                                        ) -> None:
    run(batched_update, engine, items, {"n": items.c.n + 1})
    res = run(batched_update, engine, items, {"n": items.c.n + 1})
    assert res.skipped and all(r["n"] == 1 for r in rows(engine))
    assert "already finished" in capfd.readouterr().err
    with engine.connect() as conn:
        assert clear_checkpoints(conn, step="s") == 1
    run(batched_update, engine, items, {"n": items.c.n + 1})
    assert all(r["n"] == 2 for r in rows(engine))


def test_a_second_runner_on_the_same_step_is_stopped(engine: sa.Engine) -> None:
    def meddle(info: data.BatchInfo) -> None:
        if info.number == 2:  # another process records a batch of the same step
            with engine.begin() as other:
                other.execute(sa.text(
                    "UPDATE sluice_data_progress SET batches = batches + 1 WHERE step = 's'"))

    with pytest.raises(DataMigrationError, match="another process is running the same step"):
        run(batched_update, engine, items, {"n": items.c.n + 1}, on_batch=meddle)
    assert [r["id"] for r in rows(engine) if r["n"]] == list(range(1, 11))



def test_two_runs_creating_the_checkpoint_at_once_give_no_traceback(
        engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window of two runs that start together: this one found no checkpoint row, and
    the other inserted it before this one could. It looks again and resumes, guarded by
    the batch count, instead of a raw duplicate-key error."""
    run(batched_update, engine, items, {"n": items.c.n}, where=items.c.id < 0)  # the table
    with engine.begin() as other:
        other.execute(sa.text("DELETE FROM sluice_data_progress"))
        other.execute(sa.text(
            "INSERT INTO sluice_data_progress (revision, step, rows_done, rows_changed, "
            "batches, started, updated) VALUES ('', 's', 0, 0, 0, :t, :t)"),
            {"t": checkpoints.utcnow()})
    real_load = checkpoints.Store.load
    calls = []

    def load_before_the_other_insert(self: Any, conn: Any, revision: str, step: str) -> Any:
        calls.append(step)
        return None if len(calls) == 1 else real_load(self, conn, revision, step)

    monkeypatch.setattr(checkpoints.Store, "load", load_before_the_other_insert)
    result = run(batched_update, engine, items, {"n": items.c.n + 1})
    assert len(calls) == 2 and result.rows_changed == ROWS
    assert all(r["n"] == 1 for r in rows(engine))


def test_a_checkpoint_that_cannot_be_opened_twice_is_one_line(
        engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def duplicate(self: Any, conn: Any, revision: str, step: str, last_key: str) -> None:
        raise sa.exc.IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    monkeypatch.setattr(checkpoints.Store, "insert", duplicate)
    with pytest.raises(DataMigrationError, match=r"^sluice\.data: the checkpoint of step 's' "
                       r"\(revision \) was created by another process at the same moment: "
                       r"another process is running the same step\. Nothing was changed"):
        run(batched_update, engine, items, {"n": items.c.n + 1})
    assert all(r["n"] == 0 for r in rows(engine))


# --------------------------------------------------------------------------- bad input


def untouched(engine: sa.Engine) -> None:
    assert all(r["n"] == 0 and r["label"] == f"item {r['id']}" for r in rows(engine))
    assert all(cp["rows_done"] == 0 for cp in progress(engine).values())


U = batched_update


BAD_INPUT: list[tuple[Any, tuple[Any, ...], dict[str, Any], str]] = [
    (U, (nokey, {"y": 1}), {}, "has no primary key.*key='column'"),
    (U, (items, {"n": 1}), {"key": "grp"}, "not a unique, indexed"),
    (U, (items, {"n": 1}), {"key": "maybe"}, "allow NULL"),
    (U, (items, {"n": 1}), {"key": "nope"}, "not a column"),
    (U, (items, {"n": 1}, "id > 3"), {}, "got a string"),
    (U, (items, {"n": 1}, True), {}, r"sa.true\(\)"),
    (U, (items, {"n": 1}, sa.text("label = 'x'")), {}, "literal value 'x'"),
    (U, (items, {"n": 1}, sa.text("id > 10")), {}, "literal value '10'"),
    (U, (items, {"n": 1}, items.c.id > sa.literal_column("3")), {}, "literal value '3'"),
    (U, (items, {"label": sa.text("'x'")}), {}, r"values\['label'\]"),
    (U, (items, {"nope": 1}), {}, "sets column 'nope'"),
    (U, (items, {"id": items.c.id + 100}), {}, "changes key column 'id'"),
    (U, (items, {}), {}, "at least one column"),
    (U, (items, {"n": 1}, sa.column("nope") == 1), {}, "column 'nope'"),
    (U, ("missing", {"n": 1}), {}, "table 'missing' does not exist"),
    (backfill, (items, lambda c: c, "label"), {}, "columns= must be a list"),
    (backfill, (items, lambda c: c, ["nope"]), {}, "columns= names 'nope'"),
    (backfill, (items, "not callable"), {}, "needs a function"),
]


def test_bad_input_is_refused_before_any_row_is_touched(engine: sa.Engine) -> None:
    for fn, args, kw, message in BAD_INPUT:
        with pytest.raises(DataMigrationError, match=message):
            run(fn, engine, *args, **kw)
        untouched(engine)


def test_bound_text_is_accepted(engine: sa.Engine) -> None:
    run(batched_update, engine, items, {"label": "big"},
        where=sa.text("id > :cut").bindparams(cut=50))
    assert [r["id"] for r in rows(engine) if r["label"] == "big"] == [51, 52, 53]


def test_outside_alembic_the_step_needs_a_name_and_a_clean_connection(
    engine: sa.Engine,
) -> None:
    with pytest.raises(DataMigrationError, match="name the step"):
        run(batched_update, engine, items, {"n": 1}, step=None)
    with pytest.raises(DataMigrationError, match="outside an Alembic migration"):
        batched_update(items, {"n": 1}, step="s")
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        with pytest.raises(DataMigrationError, match="transaction in progress"):
            batched_update(items, {"n": 1}, step="s", connection=conn, config=CONFIG)
    untouched(engine)


def test_bad_settings(engine: sa.Engine) -> None:
    for setting, value in (("batch_size", 0), ("pause_ms", -1), ("lock_timeout_ms", 0),
                           ("max_retries", -2), ("target_batch_ms", 1.5)):
        with pytest.raises(DataMigrationError,
                           match=f"^sluice.data: {setting}=: expected an integer"):
            run(batched_update, engine, items, {"n": 1}, **{setting: value})
        bad_config = DataConfig(**{setting: value})
        with pytest.raises(DataMigrationError, match=f"tool.sluice.data.{setting}"):
            run(batched_update, engine, items, {"n": 1}, config=bad_config)
    untouched(engine)


@pytest.mark.parametrize("value", ['""', '"  "'])
def test_an_empty_progress_table_is_refused_when_the_config_loads(tmp_path: Path,
                                                                  value: str) -> None:
    (tmp_path / "sluice.toml").write_text(f"[data]\nbatch_size = 10\nprogress_table = {value}\n")
    with pytest.raises(ConfigError, match=r"sluice.toml:3: data.progress_table: expected a "
                                          r"table name"):
        load_config(tmp_path)


def test_autocommit_connection_still_commits_batch_and_checkpoint_together(
    engine: sa.Engine,
) -> None:
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        with pytest.raises(DataMigrationError):
            batched_update(items, {"n": items.c.n + 1}, connection=conn, step="s",
                           config=CONFIG, on_batch=fail_after(2))
    assert progress(engine)["s"]["rows_done"] == 10
    assert sum(r["n"] for r in rows(engine)) == 10


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize("value", [
    7, "abc", 1.5, None, decimal.Decimal("12.340"), dt.datetime(2024, 2, 3, 4, 5, 6, 7),
    dt.date(2024, 2, 3), dt.time(4, 5, 6), uuid.UUID(int=12345), b"\x00\xff",
])
def test_key_codec_round_trip(value: Any) -> None:
    assert keys.decode_key(keys.encode_key([value, 1])) == (value, 1)


def test_key_codec_refuses_unknown_types() -> None:
    with pytest.raises(DataMigrationError, match="cannot checkpoint a key value"):
        keys.encode_key([object()])


def test_string_and_datetime_composite_key(engine: sa.Engine) -> None:
    eng = engine
    m = sa.MetaData()
    ev = sa.Table("events", m,
                  sa.Column("src", sa.String(20), primary_key=True),
                  sa.Column("at", sa.DateTime, primary_key=True),
                  sa.Column("seen", sa.Integer, nullable=False))
    m.create_all(eng)
    base = dt.datetime(2024, 1, 1)
    with eng.begin() as conn:
        conn.execute(ev.insert(), [
            {"src": f"s{i % 4}", "at": base + dt.timedelta(minutes=i), "seen": 0}
            for i in range(30)
        ])
    with eng.connect() as conn:
        with pytest.raises(DataMigrationError):
            batched_update(ev, {"seen": ev.c.seen + 1}, connection=conn, step="e",
                           config=CONFIG, on_batch=fail_after(3))
        batched_update(ev, {"seen": ev.c.seen + 1}, connection=conn, step="e", config=CONFIG)
        assert conn.execute(sa.select(ev.c.seen).distinct()).scalars().all() == [1]


# --------------------------------------------------------------------------- throttling


def adaptive(target_ms: int, max_batch_size: int = 100_000) -> Any:
    step = Step(kind="update", table="t", values={"a": 1}, where=None, key=None,
                step="s", schema=None, connection=None, revision=None, config=None,
                on_batch=None, settings={})
    step.opts = resolve_settings(
        DataConfig(target_batch_ms=target_ms, max_batch_size=max_batch_size), {}, "x")
    return step


def test_adaptive_batch_size_moves_towards_the_target() -> None:
    step = adaptive(100)
    assert step._next_size(1000, 1000, 1000, 50.0) == 1500     # too fast: grow, at most 1.5x
    step = adaptive(100)
    assert step._next_size(1000, 1000, 1000, 80.0) == 1250     # near the target: 100/80
    step = adaptive(100)
    assert step._next_size(1000, 1000, 1000, 400.0) == 500     # too slow: shrink, at most /2
    step = adaptive(100)
    assert step._next_size(1000, 1000, 1000, 125.0) == 800     # slow: shrink at once
    assert adaptive(100, 1200)._next_size(1000, 1000, 1000, 20.0) == 1200  # capped
    assert adaptive(100)._next_size(1000, 1000, 12, 400.0) == 1000  # last partial batch
    assert adaptive(0)._next_size(1000, 1000, 1000, 400.0) == 1000  # fixed size


def test_adaptive_size_is_smoothed_and_converges() -> None:
    step = adaptive(50)
    size = 1000
    for ms in [50.0] * 5:
        size = step._next_size(size, size, size, ms)
    assert size == 1000  # on target: stays
    size = step._next_size(size, size, size, 30.0)  # one lucky fast batch
    assert size == 1250  # smoothed: halfway to the 1,667 that batch alone suggests
    # a steady cost of 0.02 ms per row: converges to ~2,500 rows for 50 ms
    for _ in range(30):
        size = step._next_size(size, size, size, size * 0.02)
    assert 2400 <= size <= 2600


def test_adaptive_run_grows_fast_batches(engine: sa.Engine) -> None:
    sizes: list[int] = []
    run(batched_update, engine, items, {"n": items.c.n + 1}, batch_size=2,
        target_batch_ms=10_000, on_batch=lambda info: sizes.append(info.batch_size))
    assert sizes[:5] == [2, 3, 4, 6, 9]
    assert all(r["n"] == 1 for r in rows(engine))


def test_pause_between_batches(engine: sa.Engine) -> None:
    t0 = time.monotonic()
    res = run(batched_update, engine, items, {"n": 1}, batch_size=20, pause_ms=150)
    assert res.batches == 3
    assert time.monotonic() - t0 >= 0.3  # two pauses between three batches


# --------------------------------------------------------------------------- locks


@pytest.fixture
def server_engine(engine: sa.Engine) -> sa.Engine:
    if engine.dialect.name == "sqlite":
        pytest.skip("row locks need PostgreSQL or MySQL/MariaDB")
    return engine


def hold_row_lock(engine: sa.Engine, row_id: int) -> Any:
    """Lock one row from another connection; returns the function that releases it."""
    conn = engine.connect()
    conn.execute(sa.text("SELECT id FROM items WHERE id = :i FOR UPDATE"), {"i": row_id})

    def release() -> None:
        if not conn.closed:
            conn.rollback()
            conn.close()

    return release


def test_lock_timeout_retries_then_stops_with_the_checkpoint_kept(
    server_engine: sa.Engine,
) -> None:
    release = hold_row_lock(server_engine, 23)
    try:
        with pytest.raises(LockRetriesExhausted, match=r"after 1 retries.*checkpoint is kept: "
                                                       r"(\d+) rows done.*rerun the upgrade"):
            run(batched_update, server_engine, items, {"n": items.c.n + 1},
                lock_timeout_ms=100, max_retries=1)
    finally:
        release()
    done = progress(server_engine)["s"]["rows_done"]
    assert 20 <= done < 23  # up to the locked row; a retried batch is smaller
    assert [r["id"] for r in rows(server_engine) if r["n"]] == list(range(1, done + 1))
    res = run(batched_update, server_engine, items, {"n": items.c.n + 1})
    assert res.resumed and all(r["n"] == 1 for r in rows(server_engine))


def test_lock_timeout_retry_succeeds_once_the_lock_is_released(
    server_engine: sa.Engine,
) -> None:
    release = hold_row_lock(server_engine, 23)
    sizes: list[int] = []

    def on_batch(info: data.BatchInfo) -> None:
        sizes.append(info.batch_size)
        if info.batch_size < 5:  # the retried, smaller batch got through
            release()

    try:
        res = run(batched_update, server_engine, items, {"n": items.c.n + 1},
                  lock_timeout_ms=100, max_retries=3, on_batch=on_batch)
    finally:
        release()
    # the batch that hit the lock was retried smaller (InnoDB's next-key locking also
    # locks the row just after a range, so there it takes one more halving)
    assert sizes[:4] == [5, 5, 5, 5] and sizes[4] < 5
    assert all(r["n"] == 1 for r in rows(server_engine))
    assert res.rows_scanned == ROWS


def test_mysql_session_lock_timeouts_are_restored(server_engine: sa.Engine) -> None:
    if server_engine.dialect.name != "mysql":
        pytest.skip("MySQL sets lock wait timeouts per session")
    with server_engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT @@SESSION.innodb_lock_wait_timeout").scalar()
        conn.rollback()
        batched_update(items, {"n": 1}, connection=conn, step="s", config=CONFIG,
                       lock_timeout_ms=2500)
        assert conn.exec_driver_sql("SELECT @@SESSION.innodb_lock_wait_timeout").scalar() \
            == before


# --------------------------------------------------------------------------- feedback


def test_plain_log_lines_and_summary(engine: sa.Engine, capfd: pytest.CaptureFixture[str]
                                     ) -> None:
    if engine.dialect.name == "mysql":
        # InnoDB updates the row estimate the progress line shows in the background after
        # the fixture's inserts (54 for 53 rows, now and then); measured now it is exact
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE TABLE items").fetchall()
    run(batched_update, engine, items, {"n": 1},
        config=DataConfig(batch_size=10, target_batch_ms=0, log_interval_s=0))
    err = capfd.readouterr().err
    assert f"step 's': starting, ~{ROWS} rows, batches of 10" in err
    assert f"10 of ~{ROWS} rows (18.9%)" in err and "rows/s" in err and "ETA" in err
    assert f"done: {ROWS} rows scanned, {ROWS} changed, 6 batches" in err
    assert "slowest batch" in err
    assert "\x1b[" not in err  # no terminal control codes in CI logs


class RecordingProgress:
    """A caller's own progress object: records what a step reports to it."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def start(self, label: str, total: int | None, done: int) -> None:
        self.calls.append(("start", label, done))

    def say(self, message: str) -> None:
        self.calls.append(("say", message))

    def update(self, done: int, changed: int, batch_size: int) -> None:
        self.calls.append(("update", done, changed, batch_size))

    def close(self) -> None:
        self.calls.append(("close",))


def test_a_given_progress_gets_every_message_and_nothing_is_printed(
        engine: sa.Engine, capfd: pytest.CaptureFixture[str]) -> None:
    rec = RecordingProgress()
    config = DataConfig(batch_size=20, target_batch_ms=0, log_interval_s=0)
    run(batched_update, engine, items, {"n": 1}, config=config, progress=rec)
    run(batched_update, engine, items, {"n": 1}, config=config, progress=rec)  # finished
    assert capfd.readouterr() == ("", "")
    kinds = [c[0] for c in rec.calls]
    assert kinds == ["start", "say", "update", "update", "update", "close", "say", "say"]
    assert rec.calls[0] == ("start", "step 's'", 0)
    assert "step 's': starting" in rec.calls[1][1]
    assert [c[1:] for c in rec.calls if c[0] == "update"] == [
        (20, 20, 20), (40, 40, 20), (ROWS, ROWS, 20)]
    assert f"done: {ROWS} rows scanned, {ROWS} changed, 3 batches" in rec.calls[6][1]
    assert "step 's' already finished" in rec.calls[7][1]


def test_estimated_total_from_statistics(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE items")
        elif engine.dialect.name == "mysql":
            conn.exec_driver_sql("ANALYZE TABLE items")
        target = sa.table("items")
        assert dialects.estimate_rows(conn, target, dialects.backend_of(conn)) == ROWS


def test_progress_bar_on_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    rep = ConsoleProgress(interval_s=10, console=console)
    rep.start("step 'x'", 1000, 0)
    rep.update(500, 250, 100)
    rep.close()
    text = out.getvalue()
    assert "step 'x'" in text and "500/~1,000 rows" in text and "rows/s" in text
    assert "batch 100" in text
