"""Reports of findings, generic over :class:`sluice.lint.model.Finding`.

``text`` (rich, for people), ``jsonout`` (stable keys), ``sarif`` (code scanning),
``github`` (workflow annotations), ``gitlab`` (code quality report) and ``junit``.
``lint``, ``plan``, ``check`` and ``trace`` all render their findings through
:func:`render_findings`.
"""

from __future__ import annotations

from sluice.report.render import FORMATS, RuleDoc, render_findings, rule_docs

__all__ = ["FORMATS", "RuleDoc", "render_findings", "rule_docs"]
