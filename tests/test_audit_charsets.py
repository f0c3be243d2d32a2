"""A failed revision whose error holds text the database cannot store as it is (a Latin-1
MariaDB database or audit table, a LATIN1 PostgreSQL database): the run reports its own
error and writes its audit rows. Before, the audit write failed with "Incorrect string
value" / "has no equivalent in encoding", that database error replaced the revision's
own, and the rows of the revisions that had succeeded were left ``running``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sluice.runner.database import ascii_text
from sluice.runner.result import MigrationFailed
from tests.support.runner import Rev, chain, go, make_project, rows
from tests.support.servers import server_url

ERROR = "größe 漢字 😀 failed"
REVISIONS = [*chain(2), Rev(id="r0003", upgrade=f"raise RuntimeError({ERROR!r})")]


def _failed_run(root: Path, url: str) -> dict[str, tuple[str, str | None]]:
    ini = make_project(root, REVISIONS)
    with pytest.raises(MigrationFailed) as failed:
        go(ini, url)
    assert ERROR in str(failed.value)  # the revision's own error, not the audit write's
    return {r.revision: (r.status, r.error) for r in rows(url)}


def _execute(url: str, *statements: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_a_latin1_mariadb_database_gets_a_utf8mb4_audit_table(tmp_path: Path,
                                                              mysql_url: str) -> None:
    database = make_url(mysql_url).database
    _execute(mysql_url, f"ALTER DATABASE `{database}` CHARACTER SET latin1")
    found = _failed_run(tmp_path / "p", mysql_url)
    assert found == {"r0001": ("succeeded", None), "r0002": ("succeeded", None),
                     "r0003": ("failed", f"RuntimeError: {ERROR}")}
    engine = create_engine(mysql_url)
    try:
        with engine.connect() as conn:
            for table in ("sluice_history", "sluice_lock_holder"):
                ddl = conn.execute(text(f"SHOW CREATE TABLE {table}")).one()[1]
                assert "CHARSET=utf8mb4" in ddl, ddl
    finally:
        engine.dispose()


def test_an_audit_table_in_latin1_keeps_the_error_escaped(tmp_path: Path,
                                                          mysql_url: str) -> None:
    """A table an older Sluice created in a Latin-1 database: the row is written with the
    characters it cannot hold escaped, rather than lost."""
    database = make_url(mysql_url).database
    _execute(mysql_url, f"ALTER DATABASE `{database}` CHARACTER SET latin1")
    go(make_project(tmp_path / "first", chain(1)), mysql_url)
    _execute(mysql_url, "DELETE FROM sluice_history",
             "ALTER TABLE sluice_history CONVERT TO CHARACTER SET latin1",
             "DROP TABLE t0001", "DELETE FROM alembic_version")
    found = _failed_run(tmp_path / "p", mysql_url)
    escaped = ascii_text(f"RuntimeError: {ERROR}")
    assert escaped == "RuntimeError: gr\\xf6\\xdfe \\u6f22\\u5b57 \\U0001f600 failed"
    assert found == {"r0001": ("succeeded", None), "r0002": ("succeeded", None),
                     "r0003": ("failed", escaped)}


@pytest.fixture
def latin1_pg_url() -> Iterator[str]:
    """A PostgreSQL database in LATIN1 of its own, dropped afterwards."""
    server = server_url("postgresql")
    name = f"sluice_t_latin1_{uuid.uuid4().hex[:12]}"
    _execute(server, f"CREATE DATABASE {name} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' "
                     "TEMPLATE template0")
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        _execute(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_latin1_postgresql_database_keeps_the_error_escaped(tmp_path: Path,
                                                              latin1_pg_url: str) -> None:
    found = _failed_run(tmp_path / "p", latin1_pg_url)
    assert found == {
        "r0001": ("rolled_back", "rolled back with the failed revision's transaction"),
        "r0002": ("rolled_back", "rolled back with the failed revision's transaction"),
        "r0003": ("failed", ascii_text(f"RuntimeError: {ERROR}"))}


def test_a_user_name_the_database_cannot_hold_is_recorded_escaped(
        tmp_path: Path, latin1_pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lock holder row and the audit rows of a user whose name the database's
    encoding cannot hold: written escaped, and the run goes ahead (before, the lock holder
    row failed and the run stopped before migrating)."""
    name = "jürgen_漢字"
    monkeypatch.setenv("LOGNAME", name)
    go(make_project(tmp_path / "p", chain(2)), latin1_pg_url)
    found = rows(latin1_pg_url)
    assert sorted((r.revision, r.status) for r in found) == [("r0001", "succeeded"),
                                                              ("r0002", "succeeded")]
    assert {r.user for r in found} == {ascii_text(name)}
    assert ascii_text(name) == "j\\xfcrgen_\\u6f22\\u5b57"
