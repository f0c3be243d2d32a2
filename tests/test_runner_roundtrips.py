"""What ``sluice upgrade`` sends to the database beyond plain ``alembic upgrade head``,
counted (never timed): statements and commits through SQLAlchemy, on every connection of
the run (env.py's, the probe's, the lock's and the audit's).

Per revision, the only extra is one statement on the lock's connection that checks the
lock and writes the revision's ``running`` audit mark at once (PostgreSQL, MySQL; on
PostgreSQL through psycopg 3 it is sent without waiting, and counted here too). The
statements the server runs are counted too (an ``executemany`` runs one per row): on
PostgreSQL the run's pending rows and final rows are one statement each, so the mark is
the only statement per revision there. On
SQLite it is the ``BEGIN`` that puts the revision's DDL in a transaction (the driver does
not), in process, not a round trip; its lock check needs no query and its progress stays
in memory until the migration commits (one writer at a time). Everything
else (lock, audit rows, version table reads) is a fixed cost per run, bounded here so a
probe that comes back per revision, or a new fixed one, fails the test.
"""

from __future__ import annotations

import collections
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import event
from sqlalchemy.engine import Engine

from sluice.core.project import alembic_config
from sluice.runner.api import migrate
from sluice.runner.lock_marks import AsyncMarks
from sluice.runner.run import RunOptions
from sluice.scratch import scratch_database
from tests.support.runner import chain, make_project
from tests.support.servers import server_url

#: Sluice's fixed statements and commits on a fresh database, beyond Alembic's: probe
#: (version table read), lock (setup, take, session, holder row and its table), heads
#: under the lock, stale-row check, audit table and pending rows, the lock check before
#: the commit, final heads and rows, release. On PostgreSQL the audit connection's server
#: session is read while the connection is set up, not by a statement of its own. On
#: MySQL/MariaDB the UPDATE privilege on the audit table is tried by a statement of its
#: own before the pending rows (on PostgreSQL it is part of their INSERT), so a role that
#: may only add rows is refused before anything changes.
FIXED_LIMIT = {"sqlite": 28, "postgresql": 26, "mysql": 26}


@contextmanager
def counted() -> Iterator[collections.Counter[str]]:
    seen: collections.Counter[str] = collections.Counter()

    def on_statement(conn: Any, cursor: Any, statement: str, parameters: Any,
                     context: Any, executemany: bool) -> None:
        seen["statements"] += 1
        # what the server runs: an executemany is one statement per parameter set
        seen["executed"] += len(parameters) if executemany else 1

    def on_commit(*args: Any) -> None:
        seen["commits"] += 1

    send = AsyncMarks.send

    def counted_send(self: AsyncMarks, *args: Any) -> None:
        seen["statements"] += 1  # a mark sent through libpq, not through SQLAlchemy
        seen["executed"] += 1
        send(self, *args)

    event.listen(Engine, "before_cursor_execute", on_statement)
    event.listen(Engine, "commit", on_commit)
    AsyncMarks.send = counted_send  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        AsyncMarks.send = send  # type: ignore[method-assign]
        event.remove(Engine, "before_cursor_execute", on_statement)
        event.remove(Engine, "commit", on_commit)


@contextmanager
def fresh_url(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'app.db'}"
        return
    with scratch_database(server_url(backend), prefix="sluice_t") as url:
        yield url.render_as_string(hide_password=False)


def sluice_upgrade(ini: Path, url: str) -> None:
    result = migrate(ini, RunOptions(target="head", yes=True, notify=lambda m: None),
                     env="dev", url=url)
    assert result.status == "applied"


def alembic_upgrade(ini: Path, url: str) -> None:
    command.upgrade(alembic_config(ini, url=url, x_args=["env=dev"], stdout=io.StringIO()),
                    "head")


def count(tmp_path: Path, backend: str, revisions: int,
          run: Callable[[Path, str], None]) -> collections.Counter[str]:
    folder = tmp_path / f"{run.__name__}{revisions}"
    ini = make_project(folder, chain(revisions))
    with fresh_url(backend, folder) as url, counted() as seen:
        run(ini, url)
    return seen


@pytest.mark.parametrize("backend, per_revision, executed", [
    ("sqlite", 1, 3), ("postgresql", 1, 1), ("mysql", 1, 3)])
def test_dev_upgrade_adds_one_statement_per_revision_at_most(
        tmp_path: Path, backend: str, per_revision: int, executed: int) -> None:
    """``per_revision``: statements sent (an ``executemany`` is one); ``executed``: what
    the server runs (an ``executemany`` is one per row). On PostgreSQL a run's pending
    rows and final rows are one statement each, so the mark is the only one per revision;
    elsewhere each revision's pending and final row are a row of an ``executemany``."""
    few, many = 2, 7
    s_few = count(tmp_path, backend, few, sluice_upgrade)
    s_many = count(tmp_path, backend, many, sluice_upgrade)
    a_few = count(tmp_path, backend, few, alembic_upgrade)
    a_many = count(tmp_path, backend, many, alembic_upgrade)
    extra = {k: (s_many[k] - s_few[k]) - (a_many[k] - a_few[k])
             for k in ("statements", "executed", "commits")}
    assert extra == {"statements": per_revision * (many - few),
                     "executed": executed * (many - few), "commits": 0}, (
        s_few, s_many, a_few, a_many)
    fixed = (s_few["statements"] + s_few["commits"]
             - a_few["statements"] - a_few["commits"] - per_revision * few)
    assert 0 < fixed <= FIXED_LIMIT[backend], (s_few, a_few)

