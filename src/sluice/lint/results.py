"""What :func:`sluice.lint.engine.lint_project` returns: per-revision reports, the coverage
line and the findings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sluice.lint.model import SEVERITY_ORDER, Finding
from sluice.lint.render import RenderedStatement

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Coverage", "LintResult", "RevisionReport"]


@dataclass
class RevisionReport:
    """How one revision file was analysed."""

    path: str
    revision: str | None
    down_revision: str | tuple[str, ...] | None = None
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    #: ``rendered`` (rendered offline), ``static`` (read from the source only) or
    #: ``unparsed`` (syntax error).
    status: str = "static"
    #: Why static analysis could not decide and the revision was rendered (see
    #: :mod:`sluice.lint.needs`); empty: the source says everything, it was read statically.
    render_needs: list[str] = field(default_factory=list)
    #: Short reason when it needed rendering and did not render (the key counted in the
    #: coverage line); None for a revision read statically or rendered.
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

    def as_dict(self, *, statements: bool = True) -> dict[str, Any]:
        """The report as plain data (``statements=False``: without the rendered SQL)."""
        data: dict[str, Any] = {
            "path": self.path,
            "revision": self.revision,
            "down_revision": self.down_revision,
            "branch_labels": list(self.branch_labels),
            "depends_on": list(self.depends_on),
            "status": self.status,
            "render_needs": self.render_needs,
            "reason": self.reason,
            "detail": self.detail,
            "hint": self.hint,
            "dialects": self.dialects,
            "notes": self.notes,
        }
        if statements:
            data["statements"] = [s.as_dict() for s in self.statements]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: str | None = None) -> RevisionReport:
        """The report of :meth:`as_dict` (``path``: instead of ``data["path"]``; fields left
        out take their defaults, as in a cache entry)."""
        get = data.get
        down = get("down_revision")
        statements = get("statements")
        return cls(
            data["path"] if path is None else path,
            get("revision"),
            tuple(down) if isinstance(down, list) else down,
            tuple(get("branch_labels") or ()),
            tuple(get("depends_on") or ()),
            get("status", "static"),
            list(get("render_needs") or ()),
            get("reason"),
            get("detail"),
            get("hint"),
            list(get("dialects") or ()),
            [RenderedStatement.from_dict(s) for s in statements] if statements else [],
            list(get("notes") or ()),
        )


@dataclass
class Coverage:
    """How each revision was read: statically, rendered offline (and why it needed to be),
    or statically because rendering failed (and why)."""

    total: int = 0
    #: Read from the source: static analysis decided everything.
    read_statically: int = 0
    rendered: int = 0
    #: Needed rendering and did not render (``reasons``).
    static_only: int = 0
    unparsed: int = 0
    #: Why rendering failed (or was disabled), per revision.
    reasons: Counter[str] = field(default_factory=Counter)
    #: Why the rendered revisions needed it (the first need of each).
    needs: Counter[str] = field(default_factory=Counter)
    #: The dialects linted and where they came from ("postgresql (sqlalchemy.url)").
    dialects: str = ""

    def add(self, report: RevisionReport) -> None:
        self.total += 1
        if report.status == "rendered":
            self.rendered += 1
            self.needs[report.render_needs[0] if report.render_needs else "unknown"] += 1
        elif report.status == "unparsed":
            self.unparsed += 1
        elif report.reason is None:
            self.read_statically += 1
        else:
            self.static_only += 1
            self.reasons[report.reason] += 1

    def line(self) -> str:
        """``N revisions: S read statically, R rendered offline (SQL built at run time: 9,
        ...), F static only (reasons: ImportError myapp 2, ...)``."""
        noun = "revision" if self.total == 1 else "revisions"
        text = (f"{self.total} {noun}: {self.read_statically} read statically, "
                f"{self.rendered} rendered offline")
        if self.needs:
            text += f" ({_counted(self.needs, ': ')})"
        if self.static_only:
            text += f", {self.static_only} static only (reasons: {_counted(self.reasons)})"
        if self.unparsed:
            text += f", {self.unparsed} not parsed (syntax error)"
        if self.dialects:
            text += f"; linted for {self.dialects}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "revisions": self.total,
            "read_statically": self.read_statically,
            "rendered": self.rendered,
            "render_needs": _sorted(self.needs),
            "static_only": self.static_only,
            "unparsed": self.unparsed,
            "reasons": _sorted(self.reasons),
            "dialects": self.dialects,
            "line": self.line(),
        }


def _sorted(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _counted(counts: Counter[str], sep: str = " ") -> str:
    return ", ".join(f"{k}{sep}{v}" for k, v in _sorted(counts).items())


@dataclass
class LintResult:
    """The outcome of a lint: findings, coverage and a report per revision."""

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
    #: Processes that rendered revisions offline: 0 none rendered, 1 this one, more: a pool.
    render_processes: int = 0
    #: With ``json_parts``: the findings' and the revision records' JSON text in pieces
    #: (:mod:`sluice.lint.jsonparts`), else None.
    json_findings: list[str] | None = None
    json_revisions: list[str] | None = None

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
