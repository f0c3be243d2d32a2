"""Rendering the revisions that need it: one after another in this process, or in a pool
of worker processes when many do (:data:`POOL_THRESHOLD`).

Each worker reads alembic.ini the way the lint did (:func:`sluice.lint.scope.read_layout`)
and keeps one renderer open per set of dialects, as the in-process path does; a job's
outcome does not depend on which process rendered it, so the findings are the same
either way. A worker that cannot start (or dies) leaves its jobs to this process.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sluice.lint.context import new_renderer
from sluice.lint.render.outcome import RenderOutcome
from sluice.lint.scope import read_layout

if TYPE_CHECKING:
    from sluice.lint.render import Renderer

__all__ = ["POOL_THRESHOLD", "Crash", "RenderJob", "RendererSpec", "render_jobs", "usable_cpus"]

#: Revisions to render before a process pool pays for its start-up. Measured with
#: bench/process.py-style whole-process CPU on two cores: rendering 3,000 revisions in a
#: pool cost 14% less CPU than in this process, 300 about the same, 60 (and the 19 of
#: pypi/warehouse) 150-170 ms more (each worker builds its own renderer).
POOL_THRESHOLD = 300


@dataclass(frozen=True)
class RenderJob:
    """One revision to render."""

    #: Its place among the files the lint analyses.
    index: int
    path: str
    #: The dialects to render for, primary first (one renderer per distinct tuple).
    dialects: tuple[str, ...]
    #: Also render ``downgrade()``.
    downgrade: bool
    #: Render every dialect (else the primary one stands for all).
    all_dialects: bool


@dataclass(frozen=True)
class RendererSpec:
    """What a worker needs to open the renderers this process would."""

    ini_path: str
    x_args: tuple[str, ...]
    stub_modules: tuple[str, ...]
    sql: bool
    ini_section: str = "alembic"


@dataclass(frozen=True)
class Crash:
    """Rendering raised: a bug in Sluice (a broken revision never raises)."""

    kind: str
    message: str

    @classmethod
    def of(cls, exc: BaseException) -> Crash:
        return cls(type(exc).__name__, str(exc))


RenderResult = RenderOutcome | Crash


def usable_cpus() -> int:
    """CPUs this process may run on."""
    with contextlib.suppress(AttributeError, OSError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def render_jobs(jobs: Sequence[RenderJob], spec: RendererSpec,
                local: Callable[[RenderJob], RenderOutcome]) -> tuple[list[RenderResult], int]:
    """Render ``jobs`` in order; ``local`` renders one in this process. Returns the
    outcomes (same order) and how many processes rendered them (1: this one)."""
    workers = min(usable_cpus(), len(jobs))
    if len(jobs) < POOL_THRESHOLD or workers < 2:
        return [_guarded(local, job) for job in jobs], 1
    from concurrent.futures import ProcessPoolExecutor  # lazy: only a process pool needs them

    results: list[RenderResult | None] = [None] * len(jobs)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_context(),
                                 initializer=_start_worker, initargs=(spec,)) as pool:
            chunk = max(1, len(jobs) // (workers * 4))
            for i, result in enumerate(pool.map(_render_in_worker, jobs, chunksize=chunk)):
                results[i] = result
    except Exception:  # a worker died or a result did not travel back (BrokenProcessPool ...)
        pass  # the jobs without a result are rendered here
    out = [r if r is not None else _guarded(local, job) for r, job in zip(results, jobs,
                                                                          strict=True)]
    return out, workers


def _guarded(local: Callable[[RenderJob], RenderOutcome], job: RenderJob) -> RenderResult:
    try:
        return local(job)
    except Exception as exc:  # a bug of ours must not hide the other files
        return Crash.of(exc)


def _context() -> Any:
    """``fork`` on Linux: the worker starts with what this process imported (elsewhere the
    platform's default; macOS's system libraries are not safe to fork)."""
    import multiprocessing  # lazy: only a process pool needs them

    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)


# --------------------------------------------------------------------------- worker side

_worker: dict[str, Any] = {}


def _start_worker(spec: RendererSpec) -> None:
    _worker.clear()
    _worker["spec"] = spec
    _worker["layout"] = read_layout(spec.ini_path, x_args=spec.x_args,
                                    ini_section=spec.ini_section)


def _renderer(dialects: tuple[str, ...]) -> Renderer:
    """The worker's renderer for ``dialects`` (one open at a time: each patches Alembic)."""
    if _worker.get("dialects") != dialects:
        stack = _worker.pop("stack", None)
        if stack is not None:
            stack.close()

        spec: RendererSpec = _worker["spec"]
        stack = contextlib.ExitStack()
        _worker["renderer"] = stack.enter_context(
            new_renderer(_worker["layout"], dialects, spec.stub_modules, spec.sql))
        _worker["stack"], _worker["dialects"] = stack, dialects
    renderer: Renderer = _worker["renderer"]
    return renderer


def _render_in_worker(job: RenderJob) -> RenderResult:
    try:
        return _renderer(job.dialects).render(job.path, downgrade=job.downgrade,
                                              all_dialects=job.all_dialects)
    except Exception as exc:
        return Crash.of(exc)
