"""One entry point that renders findings in any supported format."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from sluice.lint.model import Finding

FORMATS: tuple[str, ...] = ("text", "json", "sarif", "github", "gitlab")


@dataclass(frozen=True)
class RuleDoc:
    """What a report needs to know about a rule besides the finding itself."""

    id: str
    name: str
    severity: str
    summary: str
    doc: str
    family: str = ""


def rule_docs() -> dict[str, RuleDoc]:
    """Docs of every registered lint rule, by id."""
    from sluice.lint.registry import all_rules

    return {r.id: RuleDoc(r.id, r.name, r.severity, r.summary, r.doc, r.family)
            for r in all_rules().values()}


def render_findings(
    fmt: str,
    findings: Sequence[Finding],
    *,
    stream: IO[str] | None = None,
    tool: str = "sluice",
    command: str = "lint",
    summary: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
    rules: Mapping[str, RuleDoc] | None = None,
) -> None:
    """Write ``findings`` to ``stream`` (default stdout) in ``fmt``.

    ``summary``: closing lines for people (text: printed last; github: notices; sarif and
    json: carried in ``extra``). ``extra``: more top-level keys for JSON, run properties
    for SARIF. ``rules``: rule docs for SARIF (default: the lint catalog).
    """
    out = stream if stream is not None else sys.stdout
    if fmt == "text":
        from sluice.report.text import render_text

        render_text(findings, out, summary=summary)
    elif fmt == "json":
        from sluice.report.jsonout import render_json

        render_json(findings, out, extra=extra)
    elif fmt == "sarif":
        from sluice.report.sarif import render_sarif

        render_sarif(findings, out, rules=rules if rules is not None else rule_docs(),
                     tool=tool, properties=extra)
    elif fmt == "github":
        from sluice.report.github import render_github

        render_github(findings, out, summary=summary, title=f"{tool} {command}")
    elif fmt == "gitlab":
        from sluice.report.gitlab import render_gitlab

        render_gitlab(findings, out)
    else:
        raise ValueError(f"unknown report format {fmt!r}; valid: {', '.join(FORMATS)}")
