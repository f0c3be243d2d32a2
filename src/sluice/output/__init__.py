"""Every output format, one renderer per format, for every command.

:mod:`~sluice.output.registry` lists the formats and the results each renders; a command's
``--format`` choices come from it. Findings (lint, check, trace, plan) are rendered by
:func:`render_findings` through the format's module: ``text`` (for people), ``jsonout``
(stable keys), ``sarif`` (code scanning), ``github`` (workflow annotations), ``gitlab``
(code quality report); ``junit`` writes test suites (``sluice check``).

The registry is loaded with the package; the findings renderer (and the finding types
behind it) on first use, so that a command's ``--format`` choices cost no renderer.
"""

from __future__ import annotations

from sluice.output.registry import FORMATS, KINDS, OutputFormat, formats_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sluice.core.findings import RuleDoc
    from sluice.output.findings import render_findings, rule_docs

__all__ = ["FORMATS", "KINDS", "OutputFormat", "RuleDoc", "formats_for", "render_findings",
           "rule_docs"]


def __getattr__(name: str) -> Any:
    if name in ("render_findings", "rule_docs"):
        from sluice.output import findings  # lazy: renderers load on first use, not with --format

        return getattr(findings, name)
    if name == "RuleDoc":
        from sluice.core.findings import RuleDoc  # lazy: as above

        return RuleDoc
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
