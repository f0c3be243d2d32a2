"""The MariaDB recipes' ``IF NOT EXISTS`` keeps a rerun safe, and keeps nothing else: an index
or a column of the same name with another definition stops the fixed revision with an error
naming it, as the naive op stops on the name, instead of leaving a schema the revision does
not describe. The normal run and the rerun after a kill still complete."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from sluice.core.project import alembic_config
from sluice.scratch import scratch_database
from tests.support.cli import run_cli
from tests.support.modules import forget_modules
from tests.support.revisions import PLAIN_ENV_PY, revision_source
from tests.support.servers import server_url

IMPORTS = "import sqlalchemy as sa\nfrom alembic import op\n"

BASE = revision_source("0001", None, '''\
    op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("email", sa.String(100)), sa.Column("nick", sa.String(30)))
    ''', 'op.drop_table("users")\n', only_imports=IMPORTS)

CHANGE = revision_source("0002", "0001", '''\
    op.create_index("ix_users_email", "users", ["email"])
    op.add_column("users", sa.Column("note", sa.String(200), nullable=True))
    op.add_column("users", sa.Column("score", sa.Integer(), nullable=True))
    ''', '''\
    op.drop_column("users", "score")
    op.drop_column("users", "note")
    op.drop_index("ix_users_email", table_name="users")
    ''', only_imports=IMPORTS)


@pytest.fixture
def fixed(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A project with :data:`CHANGE` fixed by ``sluice fix`` for MariaDB, on a scratch
    database of its own."""
    with scratch_database(server_url("mysql"), prefix="sluice_t") as db:
        url = db.render_as_string(hide_password=False)
        root = tmp_path / "project"
        versions = root / "migrations" / "versions"
        versions.mkdir(parents=True)
        (root / "alembic.ini").write_text(
            f"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {url}\n",
            encoding="utf-8")
        (root / "pyproject.toml").write_text(
            '[tool.sluice.lint]\ntarget_mysql_version = "mariadb-10.11"\n', encoding="utf-8")
        (root / "migrations" / "env.py").write_text(PLAIN_ENV_PY, encoding="utf-8")
        (root / "migrations" / "script.py.mako").write_text("", encoding="utf-8")
        (versions / "0001_base.py").write_text(BASE, encoding="utf-8")
        (versions / "0002_change.py").write_text(CHANGE, encoding="utf-8")
        done = run_cli(["fix", "-c", str(root / "alembic.ini"), "--dialect", "mysql"])
        assert done.exit_code == 0, done.output
        text = (versions / "0002_change.py").read_text(encoding="utf-8")
        assert "IF NOT EXISTS" in text and "ALGORITHM=" in text, text
        yield root, url


def alembic(root: Path, url: str, fn: str, rev: str) -> None:
    forget_modules(root)
    getattr(command, fn)(alembic_config(root / "alembic.ini", url=url, stdout=io.StringIO()),
                         rev)


def execute(url: str, sql: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def definition(url: str) -> list[tuple[str, ...]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT concat('column ', column_name, ' ', column_type, ' ', is_nullable) "
                "FROM information_schema.columns WHERE table_schema = database() "
                "AND table_name = 'users' UNION ALL SELECT concat('index ', index_name, ' ', "
                "column_name, ' ', seq_in_index) FROM information_schema.statistics "
                "WHERE table_schema = database() AND table_name = 'users' ORDER BY 1").all()
    finally:
        engine.dispose()
    return [tuple(r) for r in rows]


@pytest.mark.mysql
def test_mariadb_fixed_revision_runs_and_reruns(fixed: tuple[Path, str]) -> None:
    root, url = fixed
    alembic(root, url, "upgrade", "head")
    want = definition(url)
    assert ("column note varchar(200) YES",) in want and ("index ix_users_email email 1",) in want
    # a kill after every step ran, before the version row was written: the rerun completes
    alembic(root, url, "stamp", "0001")
    alembic(root, url, "upgrade", "head")
    assert definition(url) == want
    # a kill after the index only
    alembic(root, url, "downgrade", "0001")
    execute(url, "CREATE INDEX ix_users_email ON users (email)")
    alembic(root, url, "upgrade", "head")
    assert definition(url) == want


@pytest.mark.mysql
def test_mariadb_an_index_name_in_use_on_other_columns_stops_the_fixed_revision(
        fixed: tuple[Path, str]) -> None:
    root, url = fixed
    alembic(root, url, "upgrade", "0001")
    execute(url, "CREATE INDEX ix_users_email ON users (nick)")
    before = definition(url)
    with pytest.raises(sa.exc.DBAPIError, match=r"ix_users_email on users is not the index "
                       r"this revision creates \(email\): it is \(nick\); drop or rename it "
                       r"first"):
        alembic(root, url, "upgrade", "head")
    assert definition(url) == before


@pytest.mark.mysql
def test_mariadb_a_unique_index_of_the_name_stops_the_fixed_revision(
        fixed: tuple[Path, str]) -> None:
    root, url = fixed
    alembic(root, url, "upgrade", "0001")
    execute(url, "CREATE UNIQUE INDEX ix_users_email ON users (email)")
    with pytest.raises(sa.exc.DBAPIError, match=r"ix_users_email on users is not the index "
                       r"this revision creates \(email\): it is UNIQUE \(email\)"):
        alembic(root, url, "upgrade", "head")


@pytest.mark.mysql
def test_mariadb_a_column_of_the_name_with_another_type_stops_the_fixed_revision(
        fixed: tuple[Path, str]) -> None:
    root, url = fixed
    alembic(root, url, "upgrade", "0001")
    execute(url, "ALTER TABLE users ADD COLUMN note INT")
    with pytest.raises(sa.exc.DBAPIError, match=r"column note on users is not the column "
                       r"this revision adds \(varchar\(200\) NULL\): it is int NULL; drop or "
                       r"rename it first"):
        alembic(root, url, "upgrade", "head")


@pytest.mark.mysql
def test_mariadb_a_not_null_column_of_the_name_stops_the_fixed_revision(
        fixed: tuple[Path, str]) -> None:
    root, url = fixed
    alembic(root, url, "upgrade", "0001")
    execute(url, "ALTER TABLE users ADD COLUMN score INT NOT NULL DEFAULT 0")
    with pytest.raises(sa.exc.DBAPIError, match=r"column score on users is not the column "
                       r"this revision adds \(int NULL\): it is int NOT NULL"):
        alembic(root, url, "upgrade", "head")
