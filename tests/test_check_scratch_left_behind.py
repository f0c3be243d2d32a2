"""``sluice check --scratch`` on a server that will not drop the scratch database: the
report is still printed and the exit code is the gate's (1 when it failed), or 2 when the
gate passed; then one line names the database left behind and the statement that drops
it. The drop's error never replaces the report."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from sluice.scratch import drop_database, host_id, list_databases
from tests.support.cli import run_cli
from tests.support.runner import Rev, make_project
from tests.support.servers import server_url

pytestmark = pytest.mark.mysql

CREATE = Rev(id="r0001", upgrade="op.create_table('t', sa.Column('id', sa.Integer, "
                                 "primary_key=True))",
             downgrade="op.drop_table('t')")
BROKEN = Rev(id="r0002", upgrade="op.execute('SELECT * FROM no_such_table')")


@pytest.fixture
def no_drop_url() -> Iterator[str]:
    """A MariaDB/MySQL user that may create scratch databases of ``sluice check`` and
    tables in them, and may not drop anything (DROP DATABASE needs the DROP privilege)."""
    root = server_url("mysql")
    user = f"sluice_t_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(root)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE USER '{user}'@'%'"))
            conn.execute(sa.text("GRANT CREATE, ALTER, INDEX, SELECT, INSERT, UPDATE, DELETE, "
                                 f"REFERENCES ON `sluice\\_check\\_%`.* TO '{user}'@'%'"))
        yield make_url(root).set(username=user, password="", database="").render_as_string(
            hide_password=False)
    finally:
        # this process's scratch databases only: other workers' are not ours to drop
        for name in list_databases(root, f"sluice_check_{host_id()}_{os.getpid()}"):
            drop_database(root, name)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'%'"))
        engine.dispose()


def left_line(stderr: str) -> str:
    [line] = [x for x in stderr.splitlines() if "cannot drop scratch database" in x]
    return line


def assert_names_the_database(line: str) -> None:
    m = re.search(r"cannot drop scratch database (sluice_check_\w+): ", line)
    assert m is not None, line
    assert line.startswith("sluice: error: "), line
    assert f"DROP DATABASE `{m.group(1)}`;" in line, line
    assert m.group(1) in list_databases(server_url("mysql"), "sluice_check"), line


def test_a_passing_gate_is_reported_then_the_database_left_behind(
        tmp_path: Path, no_drop_url: str) -> None:
    ini = make_project(tmp_path, [CREATE])
    done = run_cli(["check", "--only", "upgrade", "--url", no_drop_url, "--scratch", "-c", ini])
    assert "✓ upgrade  1 revision applied, now at r0001" in done.stdout, done.output
    assert "1 check passed." in done.stdout, done.output
    assert_names_the_database(left_line(done.stderr))
    assert done.exit_code == 2, done.output


def test_a_failing_gate_is_reported_and_exits_1(tmp_path: Path, no_drop_url: str) -> None:
    ini = make_project(tmp_path, [CREATE, BROKEN])
    done = run_cli(["check", "--only", "upgrade", "--url", no_drop_url, "--scratch", "-c", ini])
    assert "upgrade of revision r0002 failed" in done.stdout, done.output
    assert "did not pass: upgrade (FAILED)" in done.stdout, done.output
    assert_names_the_database(left_line(done.stderr))
    assert done.exit_code == 1, done.output


def test_json_keeps_stdout_for_the_report(tmp_path: Path, no_drop_url: str) -> None:
    ini = make_project(tmp_path, [CREATE])
    done = run_cli(["check", "--only", "upgrade", "--url", no_drop_url, "--scratch",
                    "--format", "json", "-c", ini])
    report = json.loads(done.stdout)
    assert report["checks"][0]["status"] == "pass"
    assert report["exit_code"] == 2 and report["passed"] is False
    [left] = report["left_behind"]
    assert "cannot drop scratch database sluice_check_" in left
    assert left in left_line(done.stderr)
    assert done.exit_code == 2


def test_the_pytest_plugins_check_fails_with_the_line(tmp_path: Path, no_drop_url: str) -> None:
    from sluice.integrations.pytest_plugin import run_check

    ini = make_project(tmp_path, [CREATE])
    with pytest.raises(pytest.fail.Exception) as failed:
        run_check("upgrade", ini, no_drop_url, True)
    assert_names_the_database(str(failed.value))
