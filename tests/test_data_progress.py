"""The backfill progress display keeps its bar and its key fields on an 80-column terminal."""

from __future__ import annotations

import io
import re
import types

import pytest
from rich.console import Console

from sluice.data import progress


def frame(monkeypatch: pytest.MonkeyPatch, width: int, total: int | None, done: int) -> str:
    """The display after ``done`` rows in 20 s, as a terminal ``width`` columns wide shows it."""
    now = [1000.0]
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    console = Console(file=io.StringIO(), width=width, force_terminal=True, record=True,
                      color_system=None)
    rep = progress.ConsoleProgress(interval_s=10, console=console)
    rep.start("step 'backfill_orders_status' on orders", total, 0)
    live = rep.live
    assert live is not None  # a terminal gets the live display
    now[0] += 20.0
    rep.update(done, done // 2, 5_000)
    rep.close()
    console.export_text(clear=True)  # the frames drawn in place so far
    console.print(live.get_renderable())
    return console.export_text()


@pytest.mark.parametrize("width", [80, 120])
def test_bar_and_key_fields_fit(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    text = frame(monkeypatch, width, 12_345_678, 4_567_890)
    assert "…" not in text, text  # nothing truncated
    assert all(len(line) <= width for line in text.splitlines())
    assert re.search("━{8,}", text), text  # the bar itself
    assert "37%" in text
    assert "4,567,890/~12,345,678 rows" in text
    assert "228,394 rows/s" in text  # 4,567,890 rows in 20 s
    assert "ETA 34.1 s" in text  # 7,777,788 rows left at that rate
    assert "step 'backfill_orders_status' on orders" in text and "batch 5,000" in text
    assert "0:00:20 elapsed" in text


def test_unknown_total_still_shows_rows_rate_and_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    text = frame(monkeypatch, 80, None, 4_567_890)
    assert "…" not in text, text
    assert "4,567,890/? rows" in text and "228,394 rows/s" in text and "ETA ?" in text
    assert re.search("━{8,}", text), text
