"""Findings as JSON with stable keys: rule, name, severity, message, fix, path, line,
revision (and dialect)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import IO, Any

from sluice.core.findings import Finding
from sluice.output.registry import FindingsContext


def findings_json(findings: Sequence[Finding], *,
                  extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"findings": [f.as_dict() for f in findings]}
    if extra:
        data.update(extra)
    return data


def render_json(findings: Sequence[Finding], stream: IO[str], *,
                extra: Mapping[str, Any] | None = None) -> None:
    json.dump(findings_json(findings, extra=extra), stream, indent=2, default=str)
    stream.write("\n")


def render(findings: Sequence[Finding], stream: IO[str], context: FindingsContext) -> None:
    """The ``json`` renderer of the registry."""
    render_json(findings, stream, extra=context.extra)
