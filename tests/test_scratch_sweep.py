"""Scratch databases leaked by a killed run are swept by the next one, and only those."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from sluice.scratch import (
    STALE_AFTER_S,
    create_database,
    drop_database,
    host_id,
    list_databases,
    scratch_database,
)
from tests.support.servers import server_url

PREFIX = "sluice_sweeptest"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_next_scratch_run_drops_only_the_databases_of_gone_processes(backend: str) -> None:
    server = server_url(backend)
    now = int(time.time())
    names = {
        # made here by a process that was SIGKILLed: its pid no longer runs
        "dead_here": f"{PREFIX}_{host_id()}_{_dead_pid()}_{now}_aaaaaa",
        # made here by a process that still runs (this one's parent, say)
        "alive_here": f"{PREFIX}_{host_id()}_{os.getppid()}_{now}_bbbbbb",
        # made on another host a minute ago: its pid means nothing here
        "other_host_recent": f"{PREFIX}_00000000_{_dead_pid()}_{now - 60}_cccccc",
        # made on another host longer ago than any run lasts
        "other_host_old": f"{PREFIX}_00000000_1_{now - STALE_AFTER_S - 60}_dddddd",
        # not a name Sluice makes
        "foreign": f"{PREFIX}_keep_me",
    }
    for name in names.values():
        create_database(server, name)
    try:
        with scratch_database(server, prefix=PREFIX) as url:
            left = set(list_databases(server, PREFIX))
            assert url.database in left
        assert names["dead_here"] not in left and names["other_host_old"] not in left
        assert {names["alive_here"], names["other_host_recent"], names["foreign"]} <= left
        assert url.database not in list_databases(server, PREFIX)
    finally:
        for name in names.values():
            drop_database(server, name)
