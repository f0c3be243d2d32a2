"""bench/process.py --instructions: every program a command runs is counted under callgrind.

The load-independent figures in docs/lint.md and docs/production.md come from this count;
a count that missed the processes a command starts (a render pool, a shell's children)
would make Sluice look cheaper than it is.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.bench import bench_process


def _bench() -> ModuleType:
    return bench_process()


needs_valgrind = pytest.mark.skipif(
    shutil.which("valgrind") is None and os.environ.get("CI") != "true",
    reason="valgrind is not installed (CI has it)")


@needs_valgrind
def test_every_program_a_command_runs_is_counted(tmp_path: Path) -> None:
    bench = _bench()
    true = shutil.which("true")
    assert true is not None
    env = {"PATH": os.environ["PATH"]}
    alone, code, _ = bench.callgrind_counts([true], tmp_path, env)
    assert code == 0 and len(alone) == 1 and alone[0] > 0
    counts, code, _ = bench.callgrind_counts(["sh", "-c", f"{true}; {true}; exit 3"],
                                             tmp_path, env)
    assert code == 3
    # the shell and the two programs it started, each counted once (a program started by
    # the shell runs a few more instructions than alone: its environment differs)
    assert len(counts) == 3
    children = [c for c in counts if abs(c - alone[0]) < alone[0] * 0.05]
    assert len(children) == 2 and children[0] == children[1]
    total, code, _ = bench.instructions(["sh", "-c", f"{true}; {true}; exit 3"], tmp_path,
                                        env)
    assert code == 3 and total == sum(counts)


@needs_valgrind
def test_a_side_counts_its_chained_commands_and_refuses_a_failed_run(tmp_path: Path) -> None:
    bench = _bench()
    true, false = shutil.which("true"), shutil.which("false")
    assert true is not None and false is not None
    env = {"PATH": os.environ["PATH"]}
    single = bench.Side([true], tmp_path, env).instructions()
    chained = bench.Side([true], tmp_path, env, then=[[true]]).instructions()
    assert chained == 2 * single
    with pytest.raises(bench.CaseFailed, match="under callgrind"):
        bench.Side([false], tmp_path, env).instructions()


def test_without_valgrind_the_count_says_what_is_missing(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    bench = _bench()
    monkeypatch.setattr(bench.shutil, "which", lambda name: None)
    with pytest.raises(bench.CaseFailed, match="needs valgrind"):
        bench.instructions([sys.executable, "-c", "pass"], tmp_path, dict(os.environ))
