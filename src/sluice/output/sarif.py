"""Findings as SARIF 2.1.0, for GitHub code scanning and other SARIF viewers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import IO, Any

from sluice._version import __version__
from sluice.core.findings import Finding, RuleDoc
from sluice.output.findings import rule_docs
from sluice.output.paths import checkout_path
from sluice.output.registry import FindingsContext

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _artifact(path: str) -> dict[str, str]:
    """Paths inside the checkout are relative to its root (%SRCROOT%); others are file
    URIs."""
    shown = checkout_path(path)
    p = PurePath(shown)
    if p.is_absolute():
        return {"uri": Path(p).as_uri()}
    return {"uri": shown, "uriBaseId": "%SRCROOT%"}


def sarif_document(
    findings: Sequence[Finding],
    *,
    rules: Mapping[str, RuleDoc],
    tool: str = "sluice",
    properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The SARIF log (one run) for ``findings``."""
    ids = sorted({f.rule for f in findings} | set(rules))
    index = {rid: i for i, rid in enumerate(ids)}
    by_id = {f.rule: f for f in findings}
    descriptors = []
    for rid in ids:
        doc = rules.get(rid)
        if doc is None:
            f = by_id[rid]
            descriptors.append({"id": rid, "name": f.name,
                                "shortDescription": {"text": f.name},
                                "defaultConfiguration": {"level": _LEVEL[f.severity]}})
            continue
        descriptors.append({
            "id": rid,
            "name": doc.name,
            "shortDescription": {"text": doc.summary or doc.name},
            "fullDescription": {"text": doc.doc or doc.summary or doc.name},
            "help": {"text": doc.doc or doc.summary, "markdown": doc.doc or doc.summary},
            "defaultConfiguration": {"level": _LEVEL.get(doc.severity, "warning")},
            "properties": {"tags": [t for t in (doc.family, "migrations") if t]},
        })
    results = []
    for f in findings:
        text = f.message
        if f.fix:
            text += "\n\nFix:\n" + f.fix
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _LEVEL.get(f.severity, "warning"),
            "message": {"text": text},
        }
        if f.path:
            loc: dict[str, Any] = {"artifactLocation": _artifact(f.path)}
            if f.line and f.line > 0:
                loc["region"] = {"startLine": f.line}
            result["locations"] = [{"physicalLocation": loc}]
        props = {k: v for k, v in (("revision", f.revision), ("dialect", f.dialect)) if v}
        if props:
            result["properties"] = props
        results.append(result)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": tool, "version": __version__,
                            "rules": descriptors}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if properties:
        run["properties"] = dict(properties)
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(findings: Sequence[Finding], stream: IO[str], *,
                 rules: Mapping[str, RuleDoc], tool: str = "sluice",
                 properties: Mapping[str, Any] | None = None) -> None:
    json.dump(sarif_document(findings, rules=rules, tool=tool, properties=properties),
              stream, indent=2, default=str)
    stream.write("\n")


def render(findings: Sequence[Finding], stream: IO[str], context: FindingsContext) -> None:
    """The ``sarif`` renderer of the registry (rule docs: the lint catalog by default)."""
    if context.rules is not None:
        rules = context.rules
    else:
        rules = rule_docs()
    render_sarif(findings, stream, rules=rules, tool=context.tool, properties=context.extra)
