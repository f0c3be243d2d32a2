"""Findings as GitHub Actions workflow commands (annotations on the pull request)."""

from __future__ import annotations

from collections.abc import Sequence

from sluice.core.findings import Finding
from sluice.output.paths import checkout_path
from sluice.output.registry import FindingsContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(f: Finding) -> str:
    props = []
    if f.path:
        props.append(f"file={escape_property(checkout_path(f.path))}")
        if f.line:
            props.append(f"line={f.line}")
    props.append(f"title={escape_property(f'{f.rule} {f.name}')}")
    body = f.message
    if f.fix:
        body += "\n\nFix:\n" + f.fix
    return f"::{_COMMAND.get(f.severity, 'warning')} {','.join(props)}::{escape_data(body)}"


def render_github(findings: Sequence[Finding], stream: IO[str], *,
                  summary: Sequence[str] = (), title: str = "sluice") -> None:
    for f in findings:
        stream.write(annotation(f) + "\n")
    for line in summary:
        stream.write(f"::notice title={escape_property(title)}::{escape_data(line)}\n")


def render(findings: Sequence[Finding], stream: IO[str], context: FindingsContext) -> None:
    """The ``github`` renderer of the registry."""
    render_github(findings, stream, summary=context.summary,
                  title=f"{context.tool} {context.command}")
