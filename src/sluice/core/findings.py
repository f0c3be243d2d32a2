"""The one finding type: what lint, check, trace and plan report.

A :class:`Finding` says what is wrong (``rule`` and ``name``), how bad it is
(``severity``), why (``message``), what to do instead (``fix``) and where (``path``,
``line``, ``revision``, ``dialect``). Each command fills the extra fields it has:

- lint and plan: ``op``, the operation the rule fired on (not compared, not in JSON), and
  ``suppressed``, the reviewer's reason when a suppression silenced it (the risk stays);
- check: ``check``, the check that found it (its ``rule`` is ``check.<check>``), and
  ``details``, multi-line material shown under the message (a schema diff, the
  operations autogenerate would write);
- trace: the measured statement and lock are in the message and fix.

Findings are immutable: a step that changes one (a suppression, the dialect after merging
layers, a path shown relative to the working directory) makes a new one with
:func:`dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sluice.core.ops import Op

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeGuard

    from sluice.core.literals import Severity

SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


def is_severity(value: str) -> TypeGuard[Severity]:
    """Whether ``value`` is one of the severities."""
    return value in SEVERITY_ORDER


@dataclass(frozen=True)
class Finding:
    """One thing a Sluice command found, with where it is and what to do about it."""

    rule: str
    name: str
    severity: Severity
    message: str
    fix: str = ""
    path: str | None = None
    line: int | None = None
    revision: str | None = None
    dialect: str | None = None
    #: The operation the rule fired on (lint, plan, autogenerate policies).
    op: Op | None = field(default=None, repr=False, compare=False)
    #: Silenced by a reviewed suppression: its reason (``# sluice: ignore[...] <reason>``
    #: or the allow comment the autogenerate policy wrote). The risk stays.
    suppressed: str | None = None
    #: ``sluice check``: the check that found it (``graph``, ``drift`` ...).
    check: str | None = None
    #: Multi-line material shown under the message (``sluice check``).
    details: str = ""

    @property
    def kind(self) -> str:
        """The finding's ``name``, by the name ``sluice check``'s API gives it
        (``report.result("graph").problems[0].kind == "multiple-heads"``)."""
        return self.name

    @property
    def where(self) -> str:
        """``path:line`` (or just the path), empty when the finding has no file."""
        if self.path and self.line:
            return f"{self.path}:{self.line}"
        return self.path or ""

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON shape: ``rule``, ``name``, ``severity``, ``message``, ``fix``,
        ``path``, ``line``, ``revision``; then ``details`` for a check's finding,
        ``dialect`` (and ``suppressed`` when silenced) for the others."""
        data: dict[str, Any] = {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
            "path": self.path,
            "line": self.line,
            "revision": self.revision,
        }
        if self.check is not None:
            data["details"] = self.details
            return data
        data["dialect"] = self.dialect
        if self.suppressed is not None:
            data["suppressed"] = self.suppressed
        return data


@dataclass(frozen=True)
class RuleDoc:
    """What a report needs to know about a rule besides the finding itself (SARIF rule
    descriptors, ``sluice rules``)."""

    id: str
    name: str
    severity: str
    summary: str
    doc: str
    family: str = ""


def check_finding(check: str, kind: str, message: str, fix: str = "", *,
                  path: str | None = None, line: int | None = None,
                  revision: str | None = None, details: str = "",
                  severity: Severity = "error") -> Finding:
    """A finding of ``sluice check``'s ``check``: rule ``check.<check>``, name ``kind``
    (a stable short name such as ``multiple-heads``)."""
    return Finding(rule=f"check.{check}", name=kind, severity=severity, message=message,
                   fix=fix, path=path, line=line, revision=revision, check=check,
                   details=details)
