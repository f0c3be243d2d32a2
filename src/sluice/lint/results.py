"""What :func:`sluice.lint.engine.lint_project` returns: per-revision reports, the coverage
line and the findings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sluice.lint.model import SEVERITY_ORDER, Finding
from sluice.lint.render import RenderedStatement

__all__ = ["Coverage", "LintResult", "RevisionReport"]


@dataclass
class RevisionReport:
    """How one revision file was analysed."""

    path: str
    revision: str | None
    down_revision: str | tuple[str, ...] | None = None
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    #: ``rendered``, ``static`` (static layer only) or ``unparsed`` (syntax error).
    status: str = "static"
    #: Short reason when not rendered (the key counted in the coverage line).
    reason: str | None = None
    detail: str | None = None
    hint: str | None = None
    #: Dialects whose upgrade rendered.
    dialects: list[str] = field(default_factory=list)
    #: SQL the revision emitted offline, per dialect and phase, with source lines.
    statements: list[RenderedStatement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Came from the cache.
    cached: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "revision": self.revision,
            "down_revision": self.down_revision,
            "branch_labels": list(self.branch_labels),
            "depends_on": list(self.depends_on),
            "status": self.status,
            "reason": self.reason,
            "detail": self.detail,
            "hint": self.hint,
            "dialects": self.dialects,
            "notes": self.notes,
            "statements": [s.as_dict() for s in self.statements],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RevisionReport:
        down = data.get("down_revision")
        return cls(
            path=data["path"],
            revision=data.get("revision"),
            down_revision=tuple(down) if isinstance(down, list) else down,
            branch_labels=tuple(data.get("branch_labels") or ()),
            depends_on=tuple(data.get("depends_on") or ()),
            status=data.get("status", "static"),
            reason=data.get("reason"),
            detail=data.get("detail"),
            hint=data.get("hint"),
            dialects=list(data.get("dialects") or []),
            notes=list(data.get("notes") or []),
            statements=[RenderedStatement.from_dict(s) for s in data.get("statements") or []],
        )


@dataclass
class Coverage:
    """How many revisions each layer covered, and why rendering failed where it did."""

    total: int = 0
    rendered: int = 0
    static_only: int = 0
    unparsed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    #: The dialects linted and where they came from ("postgresql (sqlalchemy.url)").
    dialects: str = ""

    def add(self, report: RevisionReport) -> None:
        self.total += 1
        if report.status == "rendered":
            self.rendered += 1
        elif report.status == "unparsed":
            self.unparsed += 1
        else:
            self.static_only += 1
            self.reasons[report.reason or "unknown"] += 1

    def line(self) -> str:
        """``N revisions: R rendered, S static only (reasons: ImportError myapp 12, ...)``."""
        noun = "revision" if self.total == 1 else "revisions"
        text = f"{self.total} {noun}: {self.rendered} rendered, {self.static_only} static only"
        if self.reasons:
            parts = ", ".join(f"{k} {v}" for k, v in
                              sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0])))
            text += f" (reasons: {parts})"
        if self.unparsed:
            text += f", {self.unparsed} not parsed (syntax error)"
        if self.dialects:
            text += f"; linted for {self.dialects}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "revisions": self.total,
            "rendered": self.rendered,
            "static_only": self.static_only,
            "unparsed": self.unparsed,
            "reasons": dict(sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            "dialects": self.dialects,
            "line": self.line(),
        }


@dataclass
class LintResult:
    findings: list[Finding]
    coverage: Coverage
    revisions: list[RevisionReport]
    #: Findings silenced by ``# sluice: ignore[...]`` comments.
    suppressed: list[Finding] = field(default_factory=list)
    #: Dialects that were linted, primary first.
    dialects: list[str] = field(default_factory=list)
    cache_hits: int = 0
    cache_misses: int = 0
    #: Lines for people after the coverage line (how to name the dialect, the baseline).
    notes: list[str] = field(default_factory=list)
    #: Revisions left out as reviewed history (``baseline=True`` with a sum file), else None.
    baseline: int | None = None

    def failed(self, fail_on: str) -> bool:
        """Any finding at or above ``fail_on`` (error, warning or info)."""
        threshold = SEVERITY_ORDER[fail_on]
        return any(SEVERITY_ORDER[f.severity] >= threshold for f in self.findings)

    def counts(self) -> dict[str, int]:
        c = Counter(f.severity for f in self.findings)
        return {s: c.get(s, 0) for s in ("error", "warning", "info")}

    def as_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.as_dict() for f in self.findings],
            "summary": {**self.counts(), "suppressed": len(self.suppressed)},
            "coverage": self.coverage.as_dict(),
            "dialects": self.dialects,
            "revisions": [r.as_dict() for r in self.revisions],
        }
