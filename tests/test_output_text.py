"""The text report of findings: built in one pass and written once, colour only on a
terminal, and piped output byte for byte what the rich-based report printed."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pytest

from sluice.lint.model import Finding
from sluice.output import render_findings
from sluice.output.text import render_text

FINDINGS = [
    Finding("SL101", "drop-column", "error", "Dropping users.email loses its data.",
            "1. Stop reading the column.\n2. Deploy.\n3. Drop it in a later release.",
            path="migrations/versions/0001_a.py", line=12, revision="0001", dialect="postgresql"),
    Finding("SL202", "add-index", "warning", "Tabs\tin\ta message\tand\x07 control\rcodes.",
            "use\tCONCURRENTLY\n\n\tindented fix line", path="v/0002_b.py", line=3),
    Finding("SL303", "raw-sql", "info", "A message on\ntwo lines with wide 漢字\tand a tab.",
            "", revision="0003"),
    Finding("SL905", "duplicate-id", "error", "[bold]not markup[/bold] :smile: \x1b[31m",
            "trailing spaces   \r\nand a CRLF fix", path="v/0004_c.py"),
    Finding("SL001", "project", "warning", "", "fix\x0bwith vertical tab\x0cand form feed"),
]
SUMMARY = ["2 errors, 2 warnings, 1 info", "5 revisions: 5 rendered, 0 static only\tok"]


def rich_reference(findings: Sequence[Finding], summary: Sequence[str]) -> str:
    """The report as the rich-based renderer printed it to a pipe (the oracle)."""
    from rich.console import Console
    from rich.text import Text

    from sluice.output.text import location

    styles = {"error": "bold red", "warning": "yellow", "info": "cyan"}
    out = io.StringIO()
    console = Console(file=out, highlight=False, soft_wrap=True, emoji=False)
    for f in findings:
        head = Text()
        head.append(location(f), style="bold")
        head.append("  ")
        head.append(f.severity, style=styles.get(f.severity, ""))
        head.append("  ")
        head.append(f"{f.rule} {f.name}", style="bold")
        if f.dialect:
            head.append(f"  [{f.dialect}]", style="dim")
        console.print(head)
        console.print(Text("  " + f.message))
        if f.fix:
            console.print(Text("  fix:", style="green"))
            for line in f.fix.splitlines():
                console.print(Text("    " + line))
        console.print()
    for line in summary:
        console.print(Text(line))
    return out.getvalue()


class Stream(io.StringIO):
    """A stream that counts writes and terminal checks."""

    def __init__(self, tty: bool = False) -> None:
        super().__init__()
        self.tty = tty
        self.writes = 0
        self.isatty_calls = 0

    def write(self, s: str) -> int:
        self.writes += 1
        return super().write(s)

    def isatty(self) -> bool:
        self.isatty_calls += 1
        return self.tty


@pytest.fixture(autouse=True)
def _no_colour_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)


def test_report_is_written_once_with_one_terminal_check() -> None:
    stream = Stream()
    render_findings("text", FINDINGS * 50, stream=stream, summary=SUMMARY)
    assert stream.writes == 1
    assert stream.isatty_calls <= 1


def test_piped_report_is_byte_identical_to_the_rich_report() -> None:
    stream = Stream()
    render_text(FINDINGS, stream, summary=SUMMARY)
    assert stream.getvalue() == rich_reference(FINDINGS, SUMMARY)


def test_empty_report_prints_only_the_summary() -> None:
    stream = Stream()
    render_text([], stream, summary=["no findings"])
    assert stream.getvalue() == "no findings\n"


def test_colour_only_on_a_terminal_and_never_with_no_color(
        monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Stream(tty=True)
    render_text(FINDINGS[:1], terminal, summary=SUMMARY)
    assert "\x1b[1;31merror\x1b[0m" in terminal.getvalue()
    plain = rich_reference(FINDINGS[:1], SUMMARY)
    assert _strip_sgr(terminal.getvalue()) == plain

    monkeypatch.setenv("NO_COLOR", "1")
    no_color = Stream(tty=True)
    render_text(FINDINGS[:1], no_color, summary=SUMMARY)
    assert no_color.getvalue() == plain

    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    dumb = Stream(tty=True)
    render_text(FINDINGS[:1], dumb, summary=SUMMARY)
    assert dumb.getvalue() == plain


def _strip_sgr(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_piped_report_matches_the_rich_report_on_generated_text() -> None:
    import random

    rnd = random.Random(17)
    alphabet = "ab z\t\t\n\r\x07\x08\x0b\x0c\x1b\x7f\x85[]:漢字éＡ😀\xad\u200b\u0301\u2028-"

    def text() -> str:
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))

    findings = [Finding(f"SL{i:03d}", text(), rnd.choice(["error", "warning", "info"]),
                        text(), text(), path=text() or None, line=rnd.choice([None, 7]),
                        revision=text() or None, dialect=rnd.choice([None, "mysql", text()]))
                for i in range(300)]
    summary = [text() for _ in range(3)]
    stream = Stream()
    render_text(findings, stream, summary=summary)
    assert stream.getvalue() == rich_reference(findings, summary)
