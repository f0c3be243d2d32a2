"""How long ``sluice trace`` says a lock was held: the sampler's unbroken stretches, the
locks earlier statements of a transaction still hold, and the longest write-blocking lock
of a revision."""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from sluice.trace import probe
from sluice.trace.model import Lock, RevisionTrace, Statement
from sluice.trace.modes import mode_info
from sluice.trace.probe import RawLock, Sampler


def _raw(key: str, mode: str, granted: bool = True) -> RawLock:
    return RawLock(key=key, name=key, kind="table", table=None, mode=mode, granted=granted)


def test_sampler_keeps_the_longest_unbroken_stretch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake clock ticks once per reading: poll k starts at 2k and ends at 2k+1, the
    sampler starts at 1. A lock seen in polls i..j was taken after poll i-1 began and
    released before poll j+1 ended."""
    clock = itertools.count(1)
    monkeypatch.setattr(probe, "now", lambda: float(next(clock)))
    script = {
        1: [_raw("t", "B"), _raw("t", "C", granted=False)],
        2: [_raw("t", "A"), _raw("t", "B")],
        3: [_raw("t", "A"), _raw("t", "B")],
        4: [_raw("t", "B")],
        5: [_raw("t", "A"), _raw("t", "B")],
        6: [_raw("t", "B")],
    }
    polls = itertools.count(1)
    sampler: Sampler

    def poll() -> list[RawLock]:
        k = next(polls)
        if k == len(script):
            sampler._stop.set()  # the loop ends after this poll, deterministically
        return script[k]

    sampler = Sampler(poll, interval=0)
    sampler.start()
    assert sampler._thread is not None
    sampler._thread.join(timeout=10)
    seen = sampler.stop()
    assert {(lk.mode, lk.granted) for lk in seen} == {("A", True), ("B", True), ("C", False)}
    # A: polls 2-3 (start of poll 1 = 2 to end of poll 4 = 9), then poll 5 alone (8 to 13)
    assert sampler.held_for("t", "A") == 7.0
    # B: every poll, still held at stop (the 14th reading), from the sampler's start (1)
    assert sampler.held_for("t", "B") == 13.0
    assert sampler.held_for("t", "C") is None  # never granted
    assert sampler.held_for("t", "D") is None


def _lock(relation: str, mode: str, held: float | None, *, existing: bool = True,
          backend: str = "postgresql", observed: str = "after statement") -> Lock:
    info = mode_info(backend, mode)
    return Lock(relation=relation, kind="table", mode=mode, mode_label=info.label,
                granted=True, existing=existing, blocks=info.blocks,
                blocks_detail=info.detail, held_ms=held, observed=observed)  # type: ignore[arg-type]


def test_longest_write_blocking_lock_of_a_revision() -> None:
    rt = RevisionTrace("0002", "0002.py", None, ("0001",))
    assert rt.longest_write_blocking is None and rt.as_dict()["longest_write_blocking"] is None
    rt.statements = [
        Statement(1, "ALTER TABLE a ADD COLUMN x int", "0002.py", 10, 1.0,
                  locks=[_lock("a", "AccessExclusiveLock", 40.0),
                         _lock("new", "AccessExclusiveLock", 900.0, existing=False)]),
        Statement(2, "CREATE INDEX CONCURRENTLY ix ON b (x)", "0002.py", 11, 800.0,
                  autocommit=True,
                  locks=[_lock("b", "ShareUpdateExclusiveLock", 800.0, observed="sampled")]),
        Statement(3, "ALTER TABLE c ADD CONSTRAINT f FOREIGN KEY ...", "0002.py", 12, 2.0,
                  locks=[_lock("c", "ShareRowExclusiveLock", 55.5)]),
    ]
    found = rt.longest_write_blocking
    assert found is not None
    stmt, lock = found
    # the lock on a table created by the revision and the lock that blocks nothing do not
    # count, however long they were held
    assert (stmt.index, lock.relation, lock.mode_label) == (3, "c", "SHARE ROW EXCLUSIVE")
    assert rt.as_dict()["longest_write_blocking"] == {
        "statement": 3, "line": 12, "relation": "c", "mode": "ShareRowExclusiveLock",
        "mode_label": "SHARE ROW EXCLUSIVE", "blocks": "writes", "observed": "after statement",
        "held_ms": 55.5}
    mdl = _lock("d", "SHARED_NO_WRITE", 70.0, backend="mariadb", observed="sampled")
    rt.statements[1].locks.append(mdl)
    assert rt.longest_write_blocking == (rt.statements[1], mdl)


# ---------------------------------------------------------------------- on PostgreSQL

ENV_PY = '''\
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                            prefix="sqlalchemy.", poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
'''


def _revision(rev: str, down: str | None, body: str) -> str:
    return textwrap.dedent(f'''\
        """r{rev}"""
        import sqlalchemy as sa
        from alembic import op

        revision = "{rev}"
        down_revision = {down!r}
        branch_labels = None
        depends_on = None


        def upgrade() -> None:
        ''') + textwrap.indent(textwrap.dedent(body), "    ")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = postgresql://x\n",
        encoding="utf-8")
    (tmp_path / "migrations" / "env.py").write_text(ENV_PY, encoding="utf-8")
    (tmp_path / "migrations" / "script.py.mako").write_text("", encoding="utf-8")
    (versions / "0001.py").write_text(_revision("0001", None, '''\
        op.create_table("a", sa.Column("id", sa.Integer(), primary_key=True),
                        sa.Column("n", sa.Integer()))
        op.execute("INSERT INTO a (id, n) SELECT g, g FROM generate_series(1, 2000) AS g")
        '''), encoding="utf-8")
    (versions / "0002.py").write_text(_revision("0002", "0001", '''\
        op.add_column("a", sa.Column("x", sa.Integer()))
        op.execute("SELECT count(*) FROM a")
        with op.get_context().autocommit_block():
            op.execute("CREATE INDEX CONCURRENTLY ix_a_n ON a (n)")
        op.execute("SELECT pg_sleep(0.05)")
        '''), encoding="utf-8")
    yield tmp_path / "alembic.ini"


@pytest.mark.postgres
def test_locks_held_from_earlier_statements_and_the_longest(project: Path) -> None:
    from sluice.trace import trace
    from tests.support.servers import server_url

    result = trace(project, server_url("postgresql"), ["0002"], crosscheck=False)
    assert result.failure is None
    (rt,) = result.revisions
    add, count, build, sleep = rt.statements
    assert [lk.mode_label for lk in add.blocking] == ["ACCESS EXCLUSIVE"]
    assert add.held_earlier == []
    # the scan runs while the ADD COLUMN's lock is still held (same transaction) ...
    assert [(lk.relation, lk.mode_label) for lk in count.held_earlier] == [
        ("a", "ACCESS EXCLUSIVE")]
    # ... the concurrent build starts after the block's commit released it
    assert build.autocommit and build.held_earlier == [] and build.blocking == []
    assert sleep.held_earlier == []
    longest = rt.longest_write_blocking
    assert longest is not None and longest[0] is add
    assert longest[1].held_ms is not None
    # held from the ADD COLUMN to the commit: over the scan that followed it
    assert longest[1].held_ms >= add.duration_ms + count.duration_ms
    data = rt.as_dict()
    assert data["longest_write_blocking"]["statement"] == add.index
    assert data["statements"][1]["held_earlier"] == [
        {"relation": "a", "mode": "AccessExclusiveLock", "mode_label": "ACCESS EXCLUSIVE",
         "blocks": "reads and writes"}]
