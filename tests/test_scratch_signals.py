"""SIGTERM and scratch databases: dropped whenever they were created, reported as SIGTERM.

docs/check.md promises the scratch database is dropped "also on failure, Ctrl-C and
SIGTERM". Each test sends the signal from inside the process at a chosen point (no
timing): during ``sluice check``'s upgrade, and right as ``CREATE DATABASE`` returns.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from sluice.scratch import drop_database, list_databases
from tests.support.cli import SLUICE, run_process
from tests.support.servers import server_url

KILL_REVISION = '''"""sends SIGTERM to its own process, as a CI runner cancelling the job would

Revision ID: 0003
Revises: 0002
"""
import os
import signal

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def downgrade() -> None:
    pass
'''


def leftovers(server: str, prefix: str, pid: int | None = None) -> list[str]:
    found = [n for n in list_databases(server, prefix) if pid is None or f"_{pid}_" in n]
    for name in found:  # leave the server clean even when the test fails
        drop_database(server, name)
    return found


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_sigterm_during_check_drops_the_scratch_database_and_exits_143(
        shop: Path, backend: str) -> None:
    server = server_url(backend)
    (shop / "migrations" / "versions" / "0003_sigterm.py").write_text(KILL_REVISION,
                                                                      encoding="utf-8")
    proc = subprocess.Popen([str(SLUICE), "check", "--url", server, "--scratch",
                             "--only", "upgrade"], cwd=shop, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=300)
    assert leftovers(server, "sluice_check", proc.pid) == []
    assert proc.returncode == 143, out + err
    assert err.endswith("sluice: interrupted (SIGTERM)\n"), err


CREATE_THEN_SIGTERM = textwrap.dedent('''\
    import os, signal, sys
    from sluice import scratch

    real = scratch.create_database

    def create_database(url, name):
        made = real(url, name)
        os.kill(os.getpid(), signal.SIGTERM)  # arrives as CREATE DATABASE returns
        return made

    scratch.create_database = create_database
    try:
        with scratch.scratch_database(sys.argv[1], prefix=sys.argv[2]):
            print("body ran")
    except KeyboardInterrupt as exc:
        print(f"interrupted ({exc})")
        sys.exit(143)
    ''')


def test_sigterm_while_the_database_is_created_still_drops_it() -> None:
    server = server_url("postgresql")
    prefix = f"sluice_tsig{uuid.uuid4().hex[:6]}"
    done = run_process([sys.executable, "-c", CREATE_THEN_SIGTERM, server, prefix],
                       timeout=120)
    assert leftovers(server, prefix) == []
    assert done.returncode == 143, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == "interrupted (SIGTERM)\n"


def test_ctrl_c_is_still_reported_as_sigint() -> None:
    """The handler names the signal it got: Ctrl-C stays SIGINT (exit 130)."""
    server = server_url("postgresql")
    prefix = f"sluice_tsig{uuid.uuid4().hex[:6]}"
    script = CREATE_THEN_SIGTERM.replace("signal.SIGTERM", "signal.SIGINT")
    done = run_process([sys.executable, "-c", script, server, prefix], timeout=120)
    assert leftovers(server, prefix) == []
    assert done.stdout == "interrupted (SIGINT)\n", done.stderr
