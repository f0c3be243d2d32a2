"""`sluice plan` says which revision its SQL preview failed on, where, and with what error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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


def test_a_downgrade_that_drops_data_is_high_risk(tmp_path: Path) -> None:
    # lint reads upgrades only, so nothing flagged the drop a downgrade makes: "risk: low"
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'a.db'}"
    revs = [*chain(1), Rev("r0002", 'op.add_column("t0001", sa.Column("notes", sa.Text()))',
                           downgrade='op.drop_column("t0001", "notes")'),
            Rev("r0003", 'op.create_table("empty", sa.Column("id", sa.Integer(), '
                         'primary_key=True))', downgrade='op.drop_table("empty")')]
    ini = make_project(tmp_path / "proj", revs)
    assert run_cli(["upgrade", "-c", str(ini), "--url", url]).exit_code == 0
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO t0001 (id, name, notes) VALUES (1, 'a', 'x'), "
                             "(2, 'b', 'y')"))
    engine.dispose()
    res = run_cli(["plan", "r0001", "--downgrade", "-c", str(ini), "--url", url,
                   "--format", "json", "--no-sql"], catch_exceptions=False)
    ops = {(op["kind"], op["target"].split()[0]): op
           for rev in json.loads(res.stdout)["revisions"] for op in rev["operations"]}
    drop_column = next(op for (kind, _), op in ops.items() if kind == "drop_column")
    assert drop_column["risk"] == "high"
    assert "2 rows for good" in drop_column["why"]
    drop_table = next(op for (kind, _), op in ops.items() if kind == "drop_table")
    assert drop_table["risk"] == "low" and drop_table["why"] is None  # known to be empty
    text = run_cli(["plan", "r0001", "--downgrade", "-c", str(ini), "--url", url, "--no-sql"],
                   catch_exceptions=False).stdout
    assert "drops the column and its 2 rows for good" in text
    up = run_cli(["plan", "-c", str(ini), "--url", f"sqlite:///{tmp_path / 'b.db'}",
                  "--format", "json", "--no-sql"], catch_exceptions=False)
    assert all(op["why"] is None for rev in json.loads(up.stdout)["revisions"]
               for op in rev["operations"])


def test_sql_that_names_no_table_shows_its_opening_words(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    revs = [*chain(1), Rev("r0002", 'op.execute("SELECT 1")\n'
                                    'op.execute("UPDATE t0001 SET name = \'x\' WHERE id = 1")')]
    ini = make_project(tmp_path / "proj", revs)
    res = run_cli(["plan", "-c", str(ini), "--url", url, "--format", "json", "--no-sql"],
                  catch_exceptions=False)
    targets = [op["target"] for rev in json.loads(res.stdout)["revisions"]
               for op in rev["operations"] if op["kind"] == "execute"]
    assert targets == ["SELECT 1", "t0001"]


@pytest.mark.postgres
def test_plan_fails_when_the_upgrade_would_stop_for_a_missing_backup(tmp_path: Path,
                                                                    pg_url: str) -> None:
    # plan exited 0 and the deploy then stopped with "no backup_command is configured"
    ini = make_project(tmp_path / "proj", chain(1))
    res = run_cli(["plan", "--env", "prod", "-c", str(ini), "--url", pg_url, "--no-sql",
                   "--format", "json"], catch_exceptions=False)
    assert res.exit_code == 1, res.output
    plan = json.loads(res.stdout)
    assert plan["refusals"] == [] and len(plan["blockers"]) == 1
    assert "no backup_command is configured for prod" in plan["blockers"][0]
    toml = ini.parent / "sluice.toml"
    toml.write_text(toml.read_text().replace(
        "[environments.prod]\n", "[environments.prod]\nbackup_command = 'true'\n", 1))
    assert run_cli(["plan", "--env", "prod", "-c", str(ini), "--url", pg_url,
                    "--no-sql"]).exit_code == 0


def test_guard_messages_spell_the_table_as_the_file_does(tmp_path: Path) -> None:
    # a sluice.toml project was told to set keys in [tool.sluice.environments.prod]
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ini = make_project(tmp_path / "proj", chain(2))
    assert run_cli(["upgrade", "-c", str(ini), "--url", url]).exit_code == 0
    res = run_cli(["plan", "r0001", "--downgrade", "--env", "prod", "-c", str(ini),
                   "--url", url, "--no-sql"], catch_exceptions=False)
    assert res.exit_code == 1
    assert "allow_downgrade = true in [environments.prod] turns this guard off" in res.stdout
    assert "[tool.sluice.environments" not in res.stdout


def test_a_timeout_of_zero_reads_off() -> None:
    from sluice.runner.plan import _timeout

    assert _timeout(0) == "off" and _timeout(None) == "-" and _timeout(5000) == "5.0s"


def test_the_text_plan_names_revision_files_as_the_docs_show(tmp_path: Path) -> None:
    """Each revision's file is shown relative to the working folder (as every other path
    Sluice prints), absolute only outside it; JSON keeps the absolute path."""
    ini = make_project(tmp_path / "proj", chain(2))
    url = f"sqlite:///{tmp_path / 'a.db'}"
    res = run_cli(["plan", "--url", url], cwd=ini.parent, catch_exceptions=False)
    assert "\n   migrations/versions/r0001.py\n" in res.stdout, res.stdout
    elsewhere = run_cli(["plan", "-c", str(ini), "--url", url], cwd=tmp_path,
                        catch_exceptions=False)
    assert "\n   proj/migrations/versions/r0001.py\n" in elsewhere.stdout, elsewhere.stdout
    outside = tmp_path / "outside"
    outside.mkdir()
    res = run_cli(["plan", "-c", str(ini), "--url", url], cwd=outside, catch_exceptions=False)
    assert f"\n   {ini.parent / 'migrations' / 'versions' / 'r0001.py'}\n" in res.stdout
    res = run_cli(["plan", "--url", url, "--format", "json"], cwd=ini.parent,
                  catch_exceptions=False)
    path = json.loads(res.stdout)["revisions"][0]["path"]
    assert path == str(ini.parent / "migrations" / "versions" / "r0001.py")
