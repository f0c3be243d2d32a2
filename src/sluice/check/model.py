"""What a check reports: problems, one result per check, and the whole report.

A problem is one thing wrong (a second head, a column the models have and the database
lacks, a revision file edited after it was locked): a :class:`~sluice.core.findings.Finding`
made by :func:`~sluice.core.findings.check_finding`, with the file and line it belongs to
and what to do about it. A :class:`CheckResult` collects the problems of one check; a
:class:`CheckReport` collects the results of one ``sluice check`` run and decides the exit
code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sluice.core.findings import Finding
from sluice.rules.registry import find_rule

if TYPE_CHECKING:
    from sluice.check.context import CheckContext

Status = Literal["pass", "fail", "error", "skip"]

#: Order used when a report lists statuses; also the exit-code precedence.
STATUSES: tuple[Status, ...] = ("pass", "skip", "fail", "error")

#: A check's problem is a :class:`~sluice.core.findings.Finding` (the name this API gave
#: it before lint, check, trace and plan shared one finding type).
Problem = Finding


@dataclass
class CheckResult:
    """The outcome of one check: its status, a one-line summary and its problems."""

    name: str
    title: str
    status: Status
    summary: str = ""
    problems: list[Finding] = field(default_factory=list)
    #: Things worth knowing that are not problems (e.g. a revision skipped as irreversible).
    notes: list[str] = field(default_factory=list)
    duration: float = 0.0
    #: Machine-readable extras (per-revision timings, drift diffs) for JSON output.
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "skip")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "summary": self.summary,
            "duration_s": round(self.duration, 4),
            "problems": [p.as_dict() for p in self.problems],
            "notes": list(self.notes),
            "data": self.data,
        }


def finish(name: str, title: str, problems: list[Finding], summary: str, *,
           notes: list[str] | None = None, data: dict[str, Any] | None = None) -> CheckResult:
    """A result that fails when any problem is an error, and passes otherwise."""
    failed = any(p.severity == "error" for p in problems)
    return CheckResult(
        name=name, title=title, status="fail" if failed else "pass", summary=summary,
        problems=problems, notes=list(notes or []), data=dict(data or {}),
    )


@dataclass
class CheckReport:
    """Every result of one ``sluice check`` run."""

    results: list[CheckResult]
    #: alembic.ini the run was for.
    config_file: str = ""
    #: Where the database checks ran (password masked), e.g. "temporary SQLite file".
    database: str = ""
    #: One line per scratch database the server refused to drop: its name and the
    #: statement that drops it.
    left_behind: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """2 when a check could not run (unusable input), 1 when one failed, 2 when every
        check passed but a scratch database was left behind, else 0."""
        statuses = {r.status for r in self.results}
        if "error" in statuses:
            return 2
        if "fail" in statuses:
            return 1
        if self.left_behind:
            return 2
        return 0

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def result(self, name: str) -> CheckResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": self.config_file,
            "database": self.database,
            "passed": self.passed,
            "exit_code": self.exit_code,
            "checks": [r.as_dict() for r in self.results],
            "left_behind": list(self.left_behind),
        }


@dataclass(frozen=True)
class Check:
    """One check of ``sluice check``: a name, a title, and the function that runs it.

    The check's documentation is its rule's (:mod:`sluice.rules.check`), which
    ``sluice rules`` and docs/rules.md show.
    """

    name: str
    title: str
    run: Callable[[CheckContext], CheckResult]
    #: Whether the check needs a database (graph and checksums do not).
    needs_database: bool

    @property
    def doc(self) -> str:
        found = find_rule(self.name, "check")
        return found.doc if found is not None else (self.run.__doc__ or "").strip()
