"""Where a command's CPU time goes inside its process, for ``bench/process.py --phases``.

``bench/phase_hook/sitecustomize.py`` notes the process's CPU time at the entry (``>``)
and exit (``<``) of a few functions of Alembic and Sluice (env.py's run, the migration
loop, the probe, the lock, the audit rows, the policy check) and at exit. Here the runs
are read back: for each point, the CPU time since the previous point, median over the
runs that passed the same points in the same order. A whole-process figure stays the
measure; this says where inside the process a difference lies.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

HOOK = Path(__file__).resolve().parent / "phase_hook"
MARKER = "SLUICE_PHASES "


def parse(stderr: str) -> list[tuple[str, float]] | None:
    """The points of one run (name, CPU seconds since the process began), from its stderr."""
    for line in reversed(stderr.splitlines()):
        if line.startswith(MARKER):
            return [(str(name), float(t)) for name, t in json.loads(line[len(MARKER):])]
    return None


def summarize(runs: list[list[tuple[str, float]]]) -> list[tuple[str, float]]:
    """Per point, the median CPU milliseconds since the previous point, over the runs whose
    points are those of the first run, in that order."""
    if not runs:
        return []
    names = [name for name, _ in runs[0]]
    same = [run for run in runs if [name for name, _ in run] == names]
    out = []
    for i, name in enumerate(names):
        deltas = [(run[i][1] - (run[i - 1][1] if i else 0.0)) * 1000 for run in same]
        out.append((name, statistics.median(deltas)))
    return out


def render(points: list[tuple[str, float]]) -> str:
    """``start 12.3 | >probe 250.1 | ...``: each point with the CPU ms spent reaching it."""
    return " | ".join(f"{name} {ms:.1f}" for name, ms in points)
