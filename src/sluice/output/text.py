"""Findings for people: file:line, severity, rule, message and the fix, step by step.

The report is built as one string and written once. Colour (ANSI SGR codes) only when the
stream is a terminal, and none when ``NO_COLOR`` is set or ``TERM=dumb``. Piped output is
plain text: tabs expanded to 8-column stops and the control characters a terminal would
act on (BEL, BS, VT, FF, CR) removed, as the rich-based renderer printed it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from sluice.core.findings import Finding
from sluice.output.registry import FindingsContext, FixKey, FixText, fix_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

#: SGR parameters of each style (rich's "bold", "dim", "green", "red", "yellow", "bold red").
BOLD, DIM, GREEN, RED, YELLOW, BOLD_RED, BOLD_GREEN = "1", "2", "32", "31", "33", "1;31", "1;32"
_SEVERITY = {"error": "1;31", "warning": "33", "info": "36"}
_STRIP = dict.fromkeys((7, 8, 11, 12, 13))
_ZERO_WIDTH = frozenset(("Cc", "Mn", "Me", "Cf", "Zl", "Zp"))


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


def use_colour(stream: IO[str]) -> bool:
    """Colour only on a terminal; never with ``NO_COLOR`` (any non-empty value) or
    ``TERM=dumb``. One terminal check per report."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def painter(colour: bool) -> Callable[[str, str], str]:
    """``paint(text, sgr)``: ``text`` in the style ``sgr`` when ``colour``, else as is."""
    def paint(text: str, sgr: str) -> str:
        return f"\x1b[{sgr}m{text}\x1b[0m" if colour and sgr and text else text

    return paint


def _cells(text: str) -> int:
    """Terminal columns of ``text``: East Asian wide characters take two; control,
    combining, format and line/paragraph separator characters none."""
    if text.isascii() and text.isprintable():
        return len(text)
    import unicodedata  # lazy: only for text that is not printable ASCII

    return sum(0 if unicodedata.category(ch) in _ZERO_WIDTH and ch != "\xad" else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _expand_tabs(line: str) -> str:
    out: list[str] = []
    column = 0
    for part in line.split("\t")[:-1]:
        column += _cells(part) + 1
        pad = -column % 8
        out.append(part + " " * (1 + pad))
        column += pad
    out.append(line.rsplit("\t", 1)[-1])
    return "".join(out)


def clean(text: str) -> str:
    """``text`` as a terminal shows it: control characters out, tabs expanded."""
    if text.isprintable():  # no character to strip (all are unprintable), no tab
        return text
    text = text.translate(_STRIP)
    if "\t" not in text:
        return text
    return "\n".join(_expand_tabs(line) if "\t" in line else line
                     for line in text.split("\n"))


def render_text(findings: Sequence[Finding], stream: IO[str], *,
                summary: Sequence[str] = (), fixes: Mapping[FixKey, str] | None = None) -> None:
    colour = use_colour(stream)
    paint = painter(colour)
    out: list[str] = []
    for f in findings:
        dialect = f"  [{f.dialect}]" if f.dialect else ""
        if colour:
            out.append(f"{paint(clean(location(f)), BOLD)}  "
                       f"{paint(clean(f.severity), _SEVERITY.get(f.severity, ''))}  "
                       f"{paint(clean(f'{f.rule} {f.name}'), BOLD)}"
                       f"{paint(clean(dialect), DIM)}")
        else:
            out.append(clean(f"{location(f)}  {f.severity}  {f.rule} {f.name}{dialect}"))
        out.append(clean("  " + f.message))
        if f.fix:
            out.append(paint("  fix:", GREEN))
            out.extend(clean("    " + line) for line in f.fix.splitlines())
        diff = fixes.get(fix_key(f)) if fixes else None
        if diff:
            command = diff.command if isinstance(diff, FixText) else "sluice fix"
            out.append(paint(clean(f"  available fix ({command}):"), GREEN))
            out.extend(diff_lines(diff, paint))
        out.append("")
    out.extend(clean(line) for line in summary)
    if out:
        stream.write("\n".join(out) + "\n")


def diff_lines(diff: str, paint: Callable[[str, str], str]) -> list[str]:
    """A unified diff indented under its finding; removed lines red, added lines green."""
    out = []
    for line in diff.splitlines():
        sgr = (DIM if line.startswith(("---", "+++", "@@")) else RED if line.startswith("-")
               else GREEN if line.startswith("+") else "")
        out.append("    " + paint(clean(line), sgr))
    return out


def render(findings: Sequence[Finding], stream: IO[str], context: FindingsContext) -> None:
    """The ``text`` renderer of the registry."""
    render_text(findings, stream, summary=context.summary, fixes=context.fixes)
