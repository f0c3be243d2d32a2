"""`sluice plan` says which revision its SQL preview failed on, where, and with what error."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.runner import Rev, chain, make_project

# Offline, op.get_bind() is a mock connection: reading from it fails like this.
READS = 'rows = op.get_bind().execute(sa.text("SELECT id FROM t0001")).fetchall()'


def test_sql_preview_failure_names_the_revision_file_line_and_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    revs = [*chain(2), Rev("r0003", READS), Rev("r0004", 'op.drop_table("t0001")')]
    ini = make_project(tmp_path / "proj", revs)
    res = run_cli(["plan", "-c", str(ini), "--url", url, "--format", "json"], catch_exceptions=False)
    plan = json.loads(res.stdout)
    error = plan["sql_error"]
    path = ini.parent / "migrations" / "versions" / "r0003.py"
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if READS in text)
    assert error.startswith(f"revision r0003 ({path}, line {line}) failed to render offline")
    assert "AttributeError: " in error  # the real exception class and its first line
    assert "\n" not in error
    res = run_cli(["plan", "-c", str(ini), "--url", url], catch_exceptions=False)
    assert f"SQL preview unavailable: revision r0003 ({path}, line {line})" in res.stdout


def test_sql_preview_failure_before_any_revision_blames_env_py(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ini = make_project(tmp_path / "proj", chain(2))
    env_py = ini.parent / "migrations" / "env.py"
    env_py.write_text(env_py.read_text().replace(
        "def run_migrations_offline() -> None:\n",
        "def run_migrations_offline() -> None:\n    raise KeyError('DATABASE_URL')\n"))
    res = run_cli(["plan", "-c", str(ini), "--url", url, "--format", "json"], catch_exceptions=False)
    error = json.loads(res.stdout)["sql_error"]
    assert error.startswith(f"{env_py}") and "before any revision" in error
    assert "KeyError: 'DATABASE_URL'" in error
