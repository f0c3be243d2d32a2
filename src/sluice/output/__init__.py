"""Every output format, one renderer per format, for every command.

:mod:`~sluice.output.registry` lists the formats and the results each renders; a command's
``--format`` choices come from it. Findings (lint, check, trace, plan) are rendered by
:func:`render_findings` through the format's module: ``text`` (for people), ``jsonout``
(stable keys), ``sarif`` (code scanning), ``github`` (workflow annotations), ``gitlab``
(code quality report); ``junit`` writes test suites (``sluice check``).
"""

from __future__ import annotations

from sluice.core.findings import RuleDoc
from sluice.output.findings import render_findings, rule_docs
from sluice.output.registry import FORMATS, KINDS, OutputFormat, formats_for

__all__ = ["FORMATS", "KINDS", "OutputFormat", "RuleDoc", "formats_for", "render_findings",
           "rule_docs"]
