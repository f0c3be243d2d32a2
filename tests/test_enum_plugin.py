"""A project whose env.py imports alembic-postgresql-enum: that plugin compares enum values
itself, so Sluice's enum comparator stands down, and the revision autogenerate writes
upgrades. Both writing the same change made ``ADD VALUE`` run twice: the upgrade failed
with ``enum label "suspended" already exists``.

Each command runs in its own process, as a user runs it: importing the plugin registers
its comparators for the rest of a process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest
import sqlalchemy as sa

# not imported here: importing the plugin registers its operations and autogenerate
# comparators for the rest of the process
pytestmark = pytest.mark.skipif(find_spec("alembic_postgresql_enum") is None,
                                reason="alembic-postgresql-enum is in the test extras")

MODELS = '''\
import enum

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Status(enum.Enum):
    active = "active"
    banned = "banned"


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[Status] = mapped_column(sa.Enum(Status, name="status"))
'''

BIN = Path(sys.executable).parent


def run(project: Path, *argv: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=project, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == code, done.stdout + done.stderr
    return done


def values(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(
                "SELECT unnest(enum_range(NULL::status))::text")).scalars())
    finally:
        engine.dispose()


def test_enum_changes_are_left_to_the_plugin(tmp_path: Path, pg_url: str) -> None:
    project = tmp_path / "app"
    project.mkdir()
    run(project, "alembic", "init", "migrations")
    ini = project / "alembic.ini"
    ini.write_text(ini.read_text().replace(
        "sqlalchemy.url = driver://user:pass@localhost/dbname", f"sqlalchemy.url = {pg_url}"))
    env_py = project / "migrations" / "env.py"
    env_py.write_text(env_py.read_text().replace(
        "target_metadata = None",
        "import alembic_postgresql_enum  # noqa: F401\nfrom models import Base\n\n"
        "target_metadata = Base.metadata"))
    (project / "models.py").write_text(MODELS)
    run(project, "sluice", "init")
    run(project, "alembic", "revision", "--autogenerate", "-m", "init")
    run(project, "sluice", "upgrade")
    models = project / "models.py"
    models.write_text(models.read_text().replace(
        '    banned = "banned"\n', '    banned = "banned"\n    suspended = "suspended"\n'))
    run(project, "alembic", "revision", "--autogenerate", "-m", "suspended")
    (path,) = (project / "migrations" / "versions").glob("*_suspended.py")
    text = path.read_text()
    assert "op.add_enum_value(" in text and "ADD VALUE IF NOT EXISTS" not in text, text
    run(project, "sluice", "upgrade")
    assert values(pg_url) == ["active", "banned", "suspended"]
    lint = run(project, "sluice", "lint", "--no-cache")
    assert "2 read statically, 0 rendered offline" in lint.stdout, lint.stdout
    run(project, "sluice", "downgrade", "-1")
    assert values(pg_url) == ["active", "banned"]
    run(project, "sluice", "upgrade")

    # A value removed: the plugin swaps the type, rewriting the table under an ACCESS
    # EXCLUSIVE lock (SL208, an error on PostgreSQL), which autogenerate refuses as it
    # refuses any error-level finding, with the override that writes it anyway.
    models.write_text(models.read_text().replace('    banned = "banned"\n', ""))
    refused = run(project, "alembic", "revision", "--autogenerate", "-m", "unban", code=255)
    assert "refused 1 dangerous operation; no revision written" in refused.stderr
    assert "execute public.users.status [SL208 type-change-rewrites-table]" in refused.stderr
    assert not list((project / "migrations" / "versions").glob("*_unban.py"))
    run(project, "alembic", "-x", "allow=execute:public.users.status", "revision",
        "--autogenerate", "-m", "unban")
    (path,) = (project / "migrations" / "versions").glob("*_unban.py")
    assert ("[HIGH  ] sync_enum_values public.status (12 statements)  SL105 warning, "
            "SL208 error allowed") in path.read_text()
    run(project, "sluice", "upgrade")
    assert values(pg_url) == ["active", "suspended"]
