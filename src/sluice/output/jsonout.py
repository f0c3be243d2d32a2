"""Findings as JSON with stable keys: rule, name, severity, message, fix, path, line,
revision (and dialect)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import IO, Any

from sluice.core.findings import Finding
from sluice.output.registry import FindingsContext


def json_text(data: Any) -> str:
    """The JSON document every command writes: two-space indent, ASCII, one trailing
    newline (anything not JSON by nature, such as a path or a date, as its text)."""
    return json.dumps(data, indent=2, default=str) + "\n"


def findings_json(findings: Sequence[Finding], *,
                  extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"findings": [f.as_dict() for f in findings]}
    if extra:
        data.update(extra)
    return data


def render_json(findings: Sequence[Finding], stream: IO[str], *,
                extra: Mapping[str, Any] | None = None) -> None:
    stream.write(json_text(findings_json(findings, extra=extra)))


def render(findings: Sequence[Finding], stream: IO[str], context: FindingsContext) -> None:
    """The ``json`` renderer of the registry."""
    render_json(findings, stream, extra=context.extra)
