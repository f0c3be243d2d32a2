"""Where a step reports: the :class:`Progress` protocol, and the console display used when
the caller gives none (a live bar on a terminal, plain log lines otherwise)."""

from __future__ import annotations

import time
from typing import Any, Protocol

from sluice.data.model import StepResult


class Progress(Protocol):
    """Receives a step's messages and progress; pass one as ``progress=`` to a data step.

    A step calls :meth:`say` for its messages (starting, resuming, skipped, summary,
    interrupted, offline warnings), :meth:`start` once before its first batch,
    :meth:`update` after each committed batch and :meth:`close` when it ends, also on an
    error. The same object may serve several steps, one after the other.
    """

    def start(self, label: str, total: int | None, done: int) -> None:
        """A step begins walking ``total`` rows (None: unknown), ``done`` already done."""

    def say(self, message: str) -> None:
        """One message line."""

    def update(self, done: int, changed: int, batch_size: int) -> None:
        """Rows done and changed so far, and the next batch size."""

    def close(self) -> None:
        """The step has ended; stop any live display."""


class ConsoleProgress:
    """A rich progress display on a terminal, plain log lines otherwise, and a summary.

    The display takes two lines so that it fits an 80-column terminal: the step, its
    batch size and the time elapsed, then the bar with the share done, rows done of the
    total, the rate and the ETA. Without a terminal, a progress line is written at most
    every ``interval_s`` seconds. Output goes to ``console`` (default: a console on stderr).
    """

    def __init__(self, *, interval_s: float = 10.0, console: Any = None) -> None:
        # rich is imported on first use: importing sluice.data in a revision stays cheap.
        from rich.console import Console  # lazy: rich only when progress is shown

        self.console = console or Console(stderr=True)
        self.interval_s = interval_s
        self.label = ""
        self.total: int | None = None
        self.start_done = self.done = 0
        self.rate = 0.0
        self.batch = 0
        self.started = self.last_log = time.monotonic()
        self.live: Any = None

    def start(self, label: str, total: int | None, done: int) -> None:
        self.label, self.total = label, total
        self.start_done = self.done = done
        self.rate, self.batch = 0.0, 0
        self.started = time.monotonic()
        self.last_log = self.started
        if self.console.is_terminal:
            from rich.live import Live  # lazy: rich only when progress is shown

            self.live = Live(console=self.console, get_renderable=self._frame,
                             refresh_per_second=4, transient=False)
            self.live.start()

    def _total_text(self) -> str:
        return f"~{self.total:,}" if self.total is not None else "?"

    def _frame(self) -> Any:
        from rich.console import Group  # lazy: rich only when progress is shown
        from rich.progress_bar import ProgressBar  # lazy: rich only when progress is shown
        from rich.table import Table  # lazy: rich only when progress is shown
        from rich.text import Text  # lazy: rich only when progress is shown

        elapsed = _clock(time.monotonic() - self.started)
        head = Text(f"{self.label}  batch {self.batch:,}  {elapsed} elapsed",
                    style="bold", no_wrap=True, overflow="ellipsis")
        left = max(0, self.total - self.done) if self.total is not None else None
        eta = seconds_text(left / self.rate) if left is not None and self.rate > 0 else "?"
        pct = f"{100 * self.done / self.total:3.0f}%" if self.total else "  ?%"
        row = Table.grid(padding=(0, 1), expand=True)
        row.add_column(ratio=1, min_width=10)
        for _ in range(4):
            row.add_column(no_wrap=True, justify="right")
        row.add_row(ProgressBar(total=self.total, completed=self.done), pct,
                    f"{self.done:,}/{self._total_text()} rows", f"{self.rate:,.0f} rows/s",
                    f"ETA {eta}")
        return Group(head, row)

    def say(self, message: str) -> None:
        if self.live is not None:
            self.console.print(message, markup=False, highlight=False)
        else:
            stream = self.console.file
            stream.write(message + "\n")
            stream.flush()

    def update(self, done: int, changed: int, batch_size: int) -> None:
        now = time.monotonic()
        elapsed = max(now - self.started, 1e-9)
        rate = (done - self.start_done) / elapsed
        if self.total is not None and done > self.total:
            self.total = done
        self.done, self.rate, self.batch = done, rate, batch_size
        if self.live is not None:
            return  # the display reads these on its next refresh
        if now - self.last_log < self.interval_s:
            return
        self.last_log = now
        pct = f" ({100 * done / self.total:.1f}%)" if self.total else ""
        eta = ""
        if self.total and rate > 0:
            eta = f", ETA {seconds_text(max(0, self.total - done) / rate)}"
        self.say(f"sluice.data: {self.label}: {done:,} of {self._total_text()} rows{pct}, "
                 f"{changed:,} changed, {rate:,.0f} rows/s{eta}, batch size {batch_size:,}")

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def _clock(s: float) -> str:
    """``h:mm:ss``."""
    m, sec = divmod(int(s), 60)
    return f"{m // 60}:{m % 60:02d}:{sec:02d}"


def seconds_text(s: float) -> str:
    if s < 90:
        return f"{s:.1f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}es" if word.endswith("ch") else \
        f"{n:,} {word}s"


def summary(label: str, r: StepResult, run_batches: int, run_rows: int) -> str:
    """The line a step ends with."""
    rate = run_rows / r.seconds if r.seconds > 0 else 0.0
    text = (f"sluice.data: {label} done: {r.rows_scanned:,} rows scanned, "
            f"{r.rows_changed:,} changed, {plural(r.batches, 'batch')}")
    if r.resumed:
        text += f" (this run: {run_rows:,} rows in {plural(run_batches, 'batch')})"
    text += f", {seconds_text(r.seconds)} ({rate:,.0f} rows/s)"
    if run_batches:
        text += f", slowest batch {r.slowest_batch_ms:,.0f} ms (#{r.slowest_batch})"
    return text
