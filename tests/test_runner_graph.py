"""plan, upgrade and downgrade refuse a broken revision graph, or none at all, before
touching the database: one line naming the file and line, exit 2, in every environment.

Alembic keeps one of two files that declare the same id (with a warning), so an upgrade
applied one of them and passed; a dangling down_revision or a cycle came out as a
message about the database, or as Alembic's bare KeyError.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import SLUICE, run_process
from tests.support.runner import ENV_PY, Rev, chain, make_project, version


def _project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj", chain(3))


def _run(ini: Path, *args: str) -> tuple[int, str]:
    done = run_process([SLUICE, *args, "-c", ini], cwd=ini.parent)
    return done.returncode, done.stderr


COMMANDS = [("upgrade", "r0003"), ("upgrade",), ("plan",),
            ("upgrade", "--env", "prod", "--yes")]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_repeated_revision_id_is_refused_naming_both_files(tmp_path: Path,
                                                             command: tuple[str, ...]) -> None:
    ini = _project(tmp_path)
    versions = ini.parent / "migrations" / "versions"
    (versions / "a_twin.py").write_text((versions / "r0003.py").read_text()
                                        .replace('"t0003"', '"twin"'))
    url = f"sqlite:///{tmp_path / 'app.db'}"
    code, err = _run(ini, *command, "--url", url)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert "revision id 'r0003' is also declared by" in lines[0], err
    assert "migrations/versions/a_twin.py" in err and "migrations/versions/r0003.py" in err
    assert "UserWarning" not in err and "Traceback" not in err
    assert version(url) == []  # nothing ran


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_dangling_down_revision_names_its_file_and_line(tmp_path: Path,
                                                          command: tuple[str, ...]) -> None:
    ini = _project(tmp_path)
    path = ini.parent / "migrations" / "versions" / "r0003.py"
    text = path.read_text()
    path.write_text(text.replace("down_revision = 'r0002'", "down_revision = 'nowhere'"))
    line = text.splitlines().index("down_revision = 'r0002'") + 1
    url = f"sqlite:///{tmp_path / 'app.db'}"
    code, err = _run(ini, *command, "--url", url)
    assert code == 2, err
    assert err.startswith(f"sluice: error: migrations/versions/r0003.py:{line}: down_revision "
                          "'nowhere' of revision r0003 does not exist"), err
    assert "UserWarning" not in err
    assert version(url) == []


def test_a_cycle_names_its_files(tmp_path: Path) -> None:
    ini = _project(tmp_path)
    path = ini.parent / "migrations" / "versions" / "r0001.py"
    path.write_text(path.read_text().replace("down_revision = None",
                                             "down_revision = 'r0003'"))
    url = f"sqlite:///{tmp_path / 'app.db'}"
    for command in COMMANDS:
        code, err = _run(ini, *command, "--url", url)
        assert code == 2, (command, err)
        assert "cycle" in err.lower() and "migrations/versions/r0001.py" in err, err
        assert "which no revision file" not in err


def test_the_graph_is_checked_against_a_database_already_migrated(tmp_path: Path) -> None:
    ini = _project(tmp_path)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    code, err = _run(ini, "upgrade", "r0002", "--url", url)
    assert code == 0, err
    path = ini.parent / "migrations" / "versions" / "r0003.py"
    path.write_text(path.read_text().replace("down_revision = 'r0002'",
                                             "down_revision = 'nowhere'"))
    for command in (("plan",), ("upgrade",), ("downgrade", "r0001")):
        code, err = _run(ini, *command, "--url", url)
        assert code == 2, (command, err)
        assert "migrations/versions/r0003.py" in err and "'nowhere'" in err, err
    assert version(url) == ["r0002"]


@pytest.mark.parametrize("command", [("upgrade",), ("plan",),
                                     ("upgrade", "--env", "prod", "--yes")], ids=" ".join)
def test_zero_revisions_is_not_a_deploy(tmp_path: Path, command: tuple[str, ...]) -> None:
    ini = make_project(tmp_path / "proj", [])
    url = f"sqlite:///{tmp_path / 'app.db'}"
    code, err = _run(ini, *command, "--url", url)
    assert code == 2, err
    assert len(err.strip().splitlines()) <= 2, err
    assert "no revision files" in err and "migrations/versions" in err, err


def test_the_ci_gate_fails_closed_on_zero_revisions(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "proj", [])
    done = run_process([SLUICE, "check", "-c", ini], cwd=ini.parent)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no revision files" in done.stderr and "migrations/versions" in done.stderr
    assert "passed" not in done.stdout


def test_the_ci_gate_fails_on_a_url_the_deploy_cannot_read(tmp_path: Path) -> None:
    ini = _project(tmp_path)
    text = ini.read_text()
    ini.write_text("\n".join("sqlalchemy.url = sqlite:///%(missing_var)s.db"
                             if line.startswith("sqlalchemy.url") else line
                             for line in text.splitlines()) + "\n")
    for command in (["check"], ["plan"]):
        done = run_process([SLUICE, *command, "-c", ini], cwd=ini.parent)
        assert done.returncode == 2, (command, done.stdout + done.stderr)
        assert "cannot read sqlalchemy.url" in done.stderr and "missing_var" in done.stderr


def test_an_unreadable_alembic_ini_is_one_line(tmp_path: Path) -> None:
    ini = _project(tmp_path)
    ini.write_text("garbage no section\n" + ini.read_text())
    for command in (["check"], ["plan"], ["upgrade"]):
        done = run_process([SLUICE, *command, "-c", ini], cwd=ini.parent)
        assert done.returncode == 2, (command, done.stdout + done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, (command, done.stderr)
        assert "alembic.ini" in done.stderr, done.stderr


@pytest.mark.parametrize("args", [("plan", ""), ("upgrade", ""), ("downgrade", " "),
                                  ("upgrade", "", "--sql"), ("lint", "--since", ""),
                                  ("lint", "--revision", "")], ids=repr)
def test_an_empty_revision_is_named_as_empty(tmp_path: Path, args: tuple[str, ...]) -> None:
    # (Alembic asserts on it: "AssertionError:" or "upgrade : " was all the user saw)
    ini = _project(tmp_path)
    code, err = _run(ini, *args, "--url", f"sqlite:///{tmp_path / 'app.db'}") \
        if args[0] != "lint" else _run(ini, *args)
    assert code == 2, err
    assert "the revision is empty (an unset variable?)" in err, err
    assert len(err.strip().splitlines()) == 1


def test_a_new_sum_file_is_named_for_git_add_from_where_lock_ran(tmp_path: Path) -> None:
    ini = _project(tmp_path)
    done = run_process([SLUICE, "lock", "-c", "proj/alembic.ini"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "(git add proj/sluice.sum)" in done.stderr, done.stderr
    (ini.parent / "sluice.sum").unlink()
    done = run_process([SLUICE, "lock"], cwd=ini.parent)
    assert "(git add sluice.sum)" in done.stderr, done.stderr


CLEANUP_FAILS = '''try:
    raise KeyboardInterrupt("SIGINT")
except KeyboardInterrupt:
    raise RuntimeError("sending query failed: cannot exit pipeline mode while busy")'''


def test_a_signal_whose_clean_up_fails_is_reported_as_the_signal(tmp_path: Path) -> None:
    # Ctrl-C in a backfill: the driver then refused to roll back mid-statement, and the
    # report blamed the revision ("Fix r0002") with the driver's error
    ini = make_project(tmp_path / "proj", [*chain(1), Rev("r0002", CLEANUP_FAILS)])
    code, err = _run(ini, "upgrade", "--url", f"sqlite:///{tmp_path / 'app.db'}")
    assert code != 0
    assert "interrupted in r0002" in err, err
    assert "Fix r0002" not in err and "pipeline mode" not in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("signame, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_interrupted_run_exits_as_a_signal_does(tmp_path: Path, signame: str,
                                                   code: int) -> None:
    # it exited 1 (a finding, by the conventions) with click's "Aborted!"
    import signal
    import subprocess
    import time

    ini = make_project(tmp_path / "proj", [*chain(1), Rev(
        "r0002", 'import pathlib, time\npathlib.Path("started").touch()\ntime.sleep(30)')])
    proc = subprocess.Popen([str(SLUICE), "upgrade", "-c", str(ini), "--url",
                             f"sqlite:///{tmp_path / 'app.db'}"], cwd=ini.parent,
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (ini.parent / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.rstrip().endswith(f"sluice: interrupted ({signame})"), err
    assert "Aborted!" not in err and "Traceback" not in err
    assert "interrupted in r0002" in err


def test_a_statement_env_py_runs_that_fails_is_not_a_connection_failure(tmp_path: Path) -> None:
    # env.py's own CREATE SCHEMA was refused: the report said "cannot connect"
    env_py = ENV_PY.replace(
        "    with connectable.connect() as connection:\n",
        "    with connectable.connect() as connection:\n"
        "        connection.exec_driver_sql('CREATE SCHEMA app')\n", 1)
    assert env_py != ENV_PY
    ini = make_project(tmp_path / "proj", chain(1), env_py=env_py)
    code, err = _run(ini, "upgrade", "--url", f"sqlite:///{tmp_path / 'app.db'}")
    assert code == 2, err
    assert "cannot connect" not in err, err
    assert "migrations/env.py:" in err and "env.py failed before any migration ran" in err
    assert "`CREATE SCHEMA app`" in err


@pytest.mark.postgres
def test_a_role_that_may_not_create_in_public_is_told_where_sluice_tables_go(
        tmp_path: Path, pg_url: str) -> None:
    # PostgreSQL 15+: nobody creates in public by default; the error gave no way out
    import uuid

    import sqlalchemy as sa

    role = f"sluice_t_role_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.exec_driver_sql(f"CREATE SCHEMA app AUTHORIZATION {role}")
    try:
        url = sa.make_url(pg_url).set(username=role).render_as_string(hide_password=False)
        ini = make_project(tmp_path / "proj", chain(1))
        code, err = _run(ini, "upgrade", "--url", url)
        assert code == 2, err
        assert "permission denied" in err
        assert "search_path" in err and "version_table_schema" in err
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("DROP SCHEMA app CASCADE")
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()
