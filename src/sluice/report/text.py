"""Findings for people: file:line, severity, rule, message and the fix, step by step.

Rendered with rich: colour only on a terminal, none when ``NO_COLOR`` is set or the
output is piped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import IO

from rich.console import Console
from rich.text import Text

from sluice.lint.model import Finding

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def location(f: Finding) -> str:
    if f.path and f.line:
        return f"{f.path}:{f.line}"
    return f.path or (f"revision {f.revision}" if f.revision else "(project)")


def severity_counts(findings: Sequence[Finding]) -> str:
    """``2 errors, 1 warning, 0 info`` (or ``no findings``)."""
    if not findings:
        return "no findings"
    c: Counter[str] = Counter(str(f.severity) for f in findings)
    parts = []
    for sev, one, many in (("error", "error", "errors"), ("warning", "warning", "warnings"),
                           ("info", "info", "info")):
        n = c.get(sev, 0)
        parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts)


def make_console(stream: IO[str]) -> Console:
    return Console(file=stream, highlight=False, soft_wrap=True, emoji=False)


def render_text(findings: Sequence[Finding], stream: IO[str], *,
                summary: Sequence[str] = ()) -> None:
    console = make_console(stream)
    for f in findings:
        head = Text()
        head.append(location(f), style="bold")
        head.append("  ")
        head.append(f.severity, style=_STYLE.get(f.severity, ""))
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
