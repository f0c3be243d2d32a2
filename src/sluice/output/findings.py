"""One entry point that renders findings in any format of the registry."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from sluice.core.findings import Finding, RuleDoc
from sluice.output.registry import FindingsContext, FixKey, get_format

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any


def rule_docs() -> dict[str, RuleDoc]:
    """Docs of every registered lint rule, by id."""
    from sluice.rules.registry import all_rules  # lazy: upgrade output loads no rule

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
    fixes: Mapping[FixKey, str] | None = None,
) -> None:
    """Write ``findings`` to ``stream`` (default stdout) in ``fmt``.

    ``summary``: closing lines for people (text: printed last; github: notices; sarif and
    json: carried in ``extra``). ``extra``: more top-level keys for JSON, run properties
    for SARIF. ``rules``: rule docs for SARIF (default: the lint catalog). ``fixes``: the
    diff ``sluice fix`` would make for a finding, by :func:`~sluice.output.registry.fix_key`
    (text shows it under the finding).
    """
    render = get_format(fmt).findings_renderer()
    render(findings, stream if stream is not None else sys.stdout,
           FindingsContext(tool=tool, command=command, summary=summary, extra=extra,
                           rules=rules, fixes=fixes))
