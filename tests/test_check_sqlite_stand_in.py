"""The default ``sluice check`` database is a temporary SQLite file. On a project whose
own URL names PostgreSQL or MySQL, a failure there may be SQLite's alone: the fix says so
and how to check on the project's own database server, instead of claiming that `alembic
upgrade head` fails the same way."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.cli import run_cli
from tests.support.runner import ENV_PY, Rev, make_project


def project(tmp_path: Path, url: str, env_py: str = ENV_PY, upgrade: str = "pass") -> Path:
    ini = make_project(tmp_path / "proj", [Rev(id="r0001", upgrade=upgrade)], env_py=env_py)
    text = ini.read_text()
    ini.write_text("\n".join(f"sqlalchemy.url = {url}" if line.startswith("sqlalchemy.url")
                             else line for line in text.splitlines()) + "\n")
    return ini


SCHEMA_ENV = ENV_PY.replace("context.configure(connection=connection, target_metadata=None,",
                            "context.configure(connection=connection, target_metadata=None, "
                            "version_table_schema='app',")


@pytest.mark.parametrize("url", ["postgresql+psycopg://ci@db.example/app",
                                 "mysql+pymysql://ci@db.example/app"])
def test_env_py_failing_on_sqlite_says_so(tmp_path: Path, url: str) -> None:
    assert SCHEMA_ENV != ENV_PY
    ini = project(tmp_path, url, env_py=SCHEMA_ENV)
    done = run_cli(["check", "--only", "upgrade", "-c", ini])
    assert done.exit_code == 1, done.output
    assert "fails the same way" not in done.output
    dialect = url.split("+")[0]
    assert f"the project's URL is {dialect}" in done.output
    driver = url.split("://")[0]
    assert f"sluice check --url {driver}://USER@HOST/" in done.output and "--scratch" in done.output


def test_a_revision_failing_on_sqlite_says_so(tmp_path: Path) -> None:
    ini = project(tmp_path, "postgresql+psycopg://ci@db.example/app",
                  upgrade='op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")')
    done = run_cli(["check", "--only", "upgrade", "-c", ini])
    assert done.exit_code == 1, done.output
    assert "upgrade of revision r0001 failed" in done.output
    assert "the project's URL is postgresql" in done.output


def test_a_sqlite_project_keeps_the_plain_fix(tmp_path: Path) -> None:
    ini = project(tmp_path, "sqlite:///%(here)s/app.db", env_py=SCHEMA_ENV)
    done = run_cli(["check", "--only", "upgrade", "-c", ini])
    assert done.exit_code == 1
    assert f"`alembic -c {ini} upgrade head` fails the same way" in done.output
    assert "the project's URL is" not in done.output


def test_a_downgrade_failing_on_sqlite_says_so(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "proj", [Rev(id="r0001", upgrade='op.execute("SELECT 1")',
                                               downgrade='op.execute("DROP TYPE mood")')])
    text = ini.read_text()
    ini.write_text(text.replace("sqlite:///%(here)s/app.db", "postgresql://ci@db.example/app"))
    done = run_cli(["check", "--only", "roundtrip", "-c", ini])
    assert done.exit_code == 1, done.output
    assert "downgrade of revision r0001 failed" in done.output
    assert "the project's URL is postgresql" in done.output


ENUM_ENV = ENV_PY.replace(
    "from sluice import configure_options\n",
    "from sluice import configure_options\n\nimport sqlalchemy as sa\n\nMETA = sa.MetaData()\n"
    "sa.Table('users', META, sa.Column('id', sa.Integer, primary_key=True),\n"
    "         sa.Column('status', sa.Enum('active', 'suspended', name='status')),\n"
    "         sa.Column('note', sa.String(40)))\n",
).replace("context.configure(connection=connection, target_metadata=None,",
          "context.configure(connection=connection, target_metadata=META,")

ENUM_REVS = [
    Rev(id="r0001", upgrade="op.create_table('users', sa.Column('id', sa.Integer, "
        "primary_key=True), sa.Column('status', sa.Enum('active', name='status')), "
        "sa.Column('note', sa.String({note})))", downgrade="op.drop_table('users')"),
    # the new value, where the project's database has native enums
    Rev(id="r0002", upgrade="if op.get_bind().dialect.name == 'postgresql':\n"
        "        op.execute(\"ALTER TYPE status ADD VALUE 'suspended'\")"),
]


def enum_project(tmp_path: Path, url: str, note: int = 40) -> Path:
    revs = [Rev(id=r.id, upgrade=r.upgrade.format(note=note), downgrade=r.downgrade)
            for r in ENUM_REVS]
    ini = make_project(tmp_path / "proj", revs, env_py=ENUM_ENV)
    text = ini.read_text()
    ini.write_text(text.replace("sqlite:///%(here)s/app.db", url))
    return ini


def test_native_enum_values_are_not_compared_on_sqlite(tmp_path: Path) -> None:
    """On SQLite an enum is a VARCHAR as long as its longest value; a value the project
    adds on PostgreSQL (ALTER TYPE, a plugin's op) never lengthens it there, so comparing it
    failed a healthy project."""
    ini = enum_project(tmp_path, "postgresql+psycopg://ci@db.example/app")
    done = run_cli(["check", "--only", "upgrade,drift", "-c", ini])
    assert done.exit_code == 0, done.output
    assert ("native enum columns (users.status) are not compared on the temporary SQLite "
            "database") in done.output
    assert ("sluice check --url postgresql+psycopg://USER@HOST/postgres --scratch"
            in done.output)


def test_other_drift_on_sqlite_is_still_found_and_says_where_it_ran(tmp_path: Path) -> None:
    ini = enum_project(tmp_path, "postgresql+psycopg://ci@db.example/app", note=20)
    done = run_cli(["check", "--only", "upgrade,drift", "-c", ini])
    assert done.exit_code == 1, done.output
    assert "column users.note" in done.output and "status" not in done.output.split(
        "note:")[0].split("drift")[1]
    assert "the project's URL is postgresql" in done.output


def test_a_sqlite_project_compares_its_enums(tmp_path: Path) -> None:
    ini = enum_project(tmp_path, "sqlite:///%(here)s/app.db")
    done = run_cli(["check", "--only", "upgrade,drift", "-c", ini])
    assert done.exit_code == 1, done.output
    assert "column users.status" in done.output


@pytest.mark.parametrize("url", ["postgresql+psycopg://ci@db.example/app",
                                 "mysql+pymysql://ci@db.example/app"])
def test_a_pass_on_the_stand_in_says_what_it_did_not_check(tmp_path: Path, url: str) -> None:
    # A MariaDB project whose downgrade drops an index a foreign key needs passes on
    # SQLite and fails on MariaDB: a green run must say where it ran.
    ini = project(tmp_path, url)
    done = run_cli(["check", "--only", "upgrade,roundtrip", "-c", ini])
    assert done.exit_code == 0, done.output
    dialect = url.split("+")[0]
    assert f"not on {dialect}" in done.output
    assert f"sluice check --url {url.split('://')[0]}://USER@HOST/" in done.output
    json_done = run_cli(["check", "--only", "upgrade", "--format", "json", "-c", ini])
    assert f"not on {dialect}" in json_done.output


def test_a_pass_of_a_sqlite_project_has_no_such_note(tmp_path: Path) -> None:
    ini = project(tmp_path, "sqlite:///%(here)s/app.db")
    done = run_cli(["check", "--only", "upgrade", "-c", ini])
    assert done.exit_code == 0, done.output
    assert "not on " not in done.output


ENUM_TABLE = ('op.create_table("orders", sa.Column("id", sa.Integer(), primary_key=True), '
              'sa.Column("status", sa.Enum("new", "paid", name="order_status")))')


@pytest.mark.postgres
def test_an_enum_type_left_by_the_downgrade_is_named_with_its_drop(tmp_path: Path) -> None:
    from tests.support.servers import server_url

    server = server_url("postgresql")
    ini = make_project(tmp_path / "proj", [Rev(id="r0001", upgrade=ENUM_TABLE,
                                               downgrade='op.drop_table("orders")')])
    done = run_cli(["check", "--only", "upgrade,roundtrip", "--url", server, "--scratch",
                    "-c", ini])
    assert done.exit_code == 1, done.output
    # the round trip's snapshot has the enum types: found before the upgrade runs again
    assert ("enum type order_status: exists after the downgrade, not before the upgrade"
            in done.output)
    assert "sa.Enum(name='order_status').drop(op.get_bind(), checkfirst=True)" in done.output


IDENTITY_ENV = ENV_PY.replace(
    "from sluice import configure_options\n",
    "from sluice import configure_options\n\nimport sqlalchemy as sa\n\nMETA = sa.MetaData()\n"
    "sa.Table('users', META, sa.Column('id', sa.Integer, sa.Identity(), primary_key=True),\n"
    "         sa.Column('note', sa.String({note})))\n",
).replace("context.configure(connection=connection, target_metadata=None,",
          "context.configure(connection=connection, target_metadata=META,")
IDENTITY_REV = Rev(id="r0001", upgrade="op.create_table('users', sa.Column('id', sa.Integer, "
                   "sa.Identity(), primary_key=True), sa.Column('note', sa.String(40)))",
                   downgrade="op.drop_table('users')")


def identity_project(tmp_path: Path, url: str, note: int = 40) -> Path:
    ini = make_project(tmp_path / "proj", [IDENTITY_REV],
                       env_py=IDENTITY_ENV.replace("{note}", str(note)))
    text = ini.read_text()
    ini.write_text(text.replace("sqlite:///%(here)s/app.db", url))
    return ini


def test_identity_columns_are_not_compared_on_sqlite(tmp_path: Path) -> None:
    """SQLite has no identity columns (an INTEGER PRIMARY KEY numbers its rows itself) and
    reflects none: an Identity() column of a PostgreSQL project was drift on the stand-in
    ("no default in the database, identity in the models") on a healthy project."""
    ini = identity_project(tmp_path, "postgresql+psycopg://ci@db.example/app")
    done = run_cli(["check", "--only", "upgrade,drift", "-c", ini])
    assert done.exit_code == 0, done.output
    assert ("identity columns (users.id) are not compared on the temporary SQLite "
            "database") in done.output
    assert ("sluice check --url postgresql+psycopg://USER@HOST/postgres --scratch"
            in done.output)


def test_drift_beside_an_identity_column_is_still_found_on_sqlite(tmp_path: Path) -> None:
    ini = identity_project(tmp_path, "postgresql+psycopg://ci@db.example/app", note=20)
    done = run_cli(["check", "--only", "upgrade,drift", "-c", ini])
    assert done.exit_code == 1, done.output
    assert "column users.note" in done.output
    assert "column users.id" not in done.output


TABLE_ENV = ENV_PY.replace(
    "from sluice import configure_options\n",
    "from sluice import configure_options\n\nimport sqlalchemy as sa\n\nMETA = sa.MetaData()\n"
    "sa.Table('notes', META, sa.Column('id', sa.Integer, primary_key=True),\n"
    "         sa.Column('body', sa.String(40)))\n",
).replace("context.configure(connection=connection, target_metadata=None,",
          "context.configure(connection=connection, target_metadata=META,")
TABLE_REV = Rev(id="r0001", upgrade="op.create_table('notes', sa.Column('id', sa.Integer, "
                "primary_key=True), sa.Column('body', sa.String(40)))",
                downgrade="op.drop_table('notes')")


def _printed_scratch_command(output: str) -> str:
    found = re.findall(r"`(sluice check --url [^`]*--scratch[^`]*)`", output)
    assert found, output
    return found[0]


@pytest.mark.parametrize(("backend", "url"), [
    # SQLAlchemy's default drivers (psycopg2, mysqlclient) are not installed here: a
    # suggested postgresql:// or mysql:// URL would not load
    ("postgresql", "postgresql://ci@db.example/app"),
    ("postgresql", "postgresql+pg8000://ci@db.example/app"),
    ("postgresql", "postgresql+psycopg://ci@db.example/app"),
    ("mysql", "mysql://ci@db.example/app"),
    ("mysql", "mariadb+pymysql://ci@db.example/app"),
])
def test_the_printed_scratch_command_runs_as_printed(tmp_path: Path, backend: str,
                                                     url: str) -> None:
    """The stand-in's notes give the command that checks on the project's own server;
    with the placeholders filled in, it runs as printed, through an installed driver."""
    from tests.support.servers import server_url

    server = make_url(server_url(backend))
    ini = make_project(tmp_path / "proj", [TABLE_REV], env_py=TABLE_ENV)
    ini.write_text(ini.read_text().replace("sqlite:///%(here)s/app.db", url))
    done = run_cli(["check", "--only", "upgrade,drift", "-c", ini])
    assert done.exit_code == 0, done.output
    printed = _printed_scratch_command(done.output)
    assert "USER@HOST" in printed
    # SQLAlchemy 2.0 reads postgresql:// as psycopg2, 2.1 as psycopg: the driver is named
    assert re.search(r"--url (postgresql|mysql|mariadb)\+\w+://", printed), printed
    args = shlex.split(printed.replace("USER@HOST", f"{server.username}@{server.host}:"
                                                    f"{server.port}"))
    assert args[:2] == ["sluice", "check"]
    ran = run_cli([*args[1:], "--format", "json"], cwd=ini.parent)
    assert ran.exit_code == 0, (printed, ran.output)
    report = json.loads(ran.stdout)
    assert {c["name"]: c["status"] for c in report["checks"]}["roundtrip"] == "pass", report
