"""Findings as a GitLab code quality report (the Code Climate JSON subset GitLab reads).

GitLab shows it in merge requests when a job declares it::

    artifacts:
      reports:
        codequality: gl-code-quality-report.json

Each issue: ``description``, ``check_name``, ``fingerprint`` (stable across runs, so the
merge request widget shows new and resolved findings), ``severity`` (error: critical,
warning: major, info: info) and ``location`` (``path`` relative to the root of the checkout,
which is the repository root in a GitLab job, and ``lines.begin``).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from typing import IO, Any

from sluice.core.findings import Finding
from sluice.output.paths import checkout_path
from sluice.output.registry import FindingsContext

SEVERITY = {"error": "critical", "warning": "major", "info": "info"}


def issues(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: Counter[str] = Counter()
    for f in findings:
        path = checkout_path(f.path) if f.path else checkout_path("alembic.ini")
        key = "\0".join([f.rule, path, f.message, f.dialect or ""])
        seen[key] += 1  # the same finding twice in one file stays two issues
        digest = hashlib.sha256(f"{key}\0{seen[key]}".encode()).hexdigest()
        description = f"{f.rule} {f.name}: {f.message}"
        if f.dialect:
            description += f" [{f.dialect}]"
        issue: dict[str, Any] = {
            "type": "issue",
            "description": description,
            "check_name": f"{f.rule} {f.name}",
            "categories": ["Bug Risk"],
            "fingerprint": digest,
            "severity": SEVERITY.get(f.severity, "minor"),
            "location": {"path": path, "lines": {"begin": f.line or 1}},
        }
        if f.fix:
            issue["content"] = {"body": f.fix}
        out.append(issue)
    return out


def render_gitlab(findings: Sequence[Finding], stream: IO[str]) -> None:
    json.dump(issues(findings), stream, indent=2)
    stream.write("\n")


def render(findings: Sequence[Finding], stream: IO[str], context: FindingsContext) -> None:
    """The ``gitlab`` renderer of the registry."""
    render_gitlab(findings, stream)
