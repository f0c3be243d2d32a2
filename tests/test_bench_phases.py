"""``bench/process.py --phases``: the hook notes the points a command passes, and the
summary takes per-point medians over runs that passed the same points."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.support.cli import BIN, SLUICE, run_process
from tests.support.runner import chain, make_project

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import phases  # noqa: E402


def _hooked() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "SLUICE_BENCH_PHASES": "1", "PYTHONPATH": str(phases.HOOK)}


def test_the_hook_notes_the_points_each_command_passes(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "p", chain(3))
    done = run_process([SLUICE, "upgrade", "-c", ini], env=_hooked(), check=True)
    points = phases.parse(done.stderr)
    assert points is not None, done.stderr
    names = [name for name, _ in points]
    assert names[0] == "start" and names[-1] == "exit"
    for first, then in [(">probe", "<probe"), ("<probe", ">MigrationLock.acquire"),
                        (">MigrationLock.acquire", ">insert_run"),
                        (">insert_run", ">MigrationContext.run_migrations"),
                        ("<MigrationContext.run_migrations", ">MigrationLock.release")]:
        assert then in names[names.index(first) + 1:], names
    assert [t for _, t in points] == sorted(t for _, t in points)  # CPU time only grows
    assert "applied 3 revisions" in done.stdout  # the command itself is unchanged

    (tmp_path / "p" / "app.db").unlink()
    plain = run_process([BIN / "alembic", "-c", ini, "upgrade", "head"], env=_hooked(),
                        check=True)
    points = phases.parse(plain.stderr)
    assert points is not None
    assert [name for name, _ in points] == [
        "start", ">ScriptDirectory.run_env", ">MigrationContext.run_migrations",
        "<MigrationContext.run_migrations", "<ScriptDirectory.run_env", "exit"]


def test_without_the_variable_the_hook_does_nothing(tmp_path: Path) -> None:
    ini = make_project(tmp_path / "p", chain(1))
    env = {**_hooked(), "SLUICE_BENCH_PHASES": ""}
    done = run_process([SLUICE, "upgrade", "-c", ini], env=env, check=True)
    assert phases.parse(done.stderr) is None


def test_summary_takes_medians_of_the_runs_that_match_the_first() -> None:
    runs = [
        [("start", 0.010), (">a", 0.110), ("exit", 0.130)],
        [("start", 0.020), (">a", 0.100), ("exit", 0.160)],
        [("start", 0.030), (">a", 0.150), ("exit", 0.170)],
        [("start", 0.010), (">b", 0.500), ("exit", 0.900)],  # other points: left out
    ]
    assert [(n, round(ms, 3)) for n, ms in phases.summarize(runs)] == [
        ("start", 20.0), (">a", 100.0), ("exit", 20.0)]
    assert phases.summarize([]) == []
    assert phases.render([("start", 12.34), (">a", 5.0)]) == "start 12.3 | >a 5.0"
    assert phases.parse("noise\nSLUICE_PHASES [[\"start\", 0.5]]\n") == [("start", 0.5)]
