"""``sluice check`` output: text, JSON, JUnit XML, and the problems as findings in
the findings formats of the registry (GitHub annotations, SARIF, GitLab code quality).

Text is for people (colour only on a terminal; ``NO_COLOR`` respected); the others are
for machines and contain nothing else, so they can be redirected to a file as is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import IO

from sluice.check.gate import CHECKS
from sluice.check.model import CheckReport, CheckResult
from sluice.core.findings import Finding, RuleDoc
from sluice.output import render_findings
from sluice.output.jsonout import json_text
from sluice.output.junit import JUnitCase, JUnitSuite, render_junit
from sluice.output.registry import formats_for, get_format
from sluice.output.text import (
    BOLD,
    BOLD_GREEN,
    BOLD_RED,
    DIM,
    GREEN,
    RED,
    YELLOW,
    clean,
    painter,
    use_colour,
)

FORMATS = formats_for("check")

_MARK = {"pass": ("✓", GREEN), "fail": ("✗", RED), "error": ("!", RED), "skip": ("-", DIM)}
_WORD = {"pass": "passed", "fail": "FAILED", "error": "could not run", "skip": "skipped"}


def text_report(report: CheckReport, *, colour: bool = False) -> str:
    """The report for people, built in one pass: one line per check, its problems (file
    and line, message, details, fix) and notes under it, then the verdict. ``colour``: ANSI
    styles (a terminal); without, tabs are expanded and terminal control characters
    removed, as the rich-based report printed them to a pipe."""
    paint = painter(colour)

    def line(*parts: tuple[str, str]) -> str:
        if colour:
            return "".join(paint(clean(text), sgr) for text, sgr in parts)
        return clean("".join(text for text, _ in parts))

    where = f" on {report.database}" if report.database else ""
    out = [line(("sluice check", BOLD), (f" {report.config_file}{where}", ""))]
    width = max((len(r.name) for r in report.results), default=0)
    for result in report.results:
        mark, sgr = _MARK[result.status]
        out.append(line((mark, sgr), (f" {result.name.ljust(width)}  {result.summary}  ", ""),
                        (f"{result.duration:.2f}s", DIM)))
        out.extend(_problems_text(result, line))
        out.extend(line((f"    note: {note}", DIM)) for note in result.notes)
    failed = [r for r in report.results if r.status in ("fail", "error")]
    n = len(report.results)
    if failed:
        names = ", ".join(f"{r.name} ({_WORD[r.status]})" for r in failed)
        out.append(line((f"{len(failed)} of {n} check{'s' if n != 1 else ''} did not pass:",
                         BOLD_RED), (f" {names}", "")))
    else:
        out.append(line((_passed(report), BOLD_GREEN)))
    return "\n".join(out) + "\n"


def _passed(report: CheckReport) -> str:
    """``All 5 checks passed.``, or, when some were skipped, ``4 checks passed, 1 skipped
    (checksums).``: a skipped check proved nothing."""
    n = len(report.results)
    skipped = [r.name for r in report.results if r.status == "skip"]
    if not skipped:
        return f"{'All ' if n > 1 else ''}{n} check{'s' if n != 1 else ''} passed."
    ran = n - len(skipped)
    return (f"{ran} check{'s' if ran != 1 else ''} passed, {len(skipped)} skipped "
            f"({', '.join(skipped)}).")


def _problems_text(result: CheckResult, line: Callable[..., str]) -> list[str]:
    out: list[str] = []
    fixes_shown: set[str] = set()
    problems = result.problems
    for i, p in enumerate(problems):
        where = f"{p.where}: " if p.where else ""
        out.append(line((f"    {where}{p.message}", RED if p.severity == "error" else YELLOW)))
        if p.details:
            out.extend(line((f"      {detail}", "")) if detail.strip() else ""
                       for detail in p.details.splitlines())
        following = problems[i + 1].fix if i + 1 < len(problems) else None
        # a fix shared by a run of problems comes once, under the last of them
        if p.fix and p.fix != following and p.fix not in fixes_shown:
            fixes_shown.add(p.fix)
            out.append(line(("    ", ""), ("fix:", BOLD), (f" {p.fix}", "")))
    return out


def render_text(report: CheckReport, stream: IO[str]) -> None:
    """Write :func:`text_report` once; colour only on a terminal (decided once)."""
    stream.write(text_report(report, colour=use_colour(stream)))


def render_json(report: CheckReport) -> str:
    return json_text(report.as_dict())


def _case(result: CheckResult) -> JUnitCase:
    body = "\n\n".join(_problem_block(p) for p in result.problems)
    message = result.problems[0].message if result.problems else result.summary
    return JUnitCase(
        name=result.name, classname="sluice.check", outcome=result.status, message=message,
        body=body, seconds=result.duration, stdout="\n".join(result.notes),
    )


def _problem_block(p: Finding) -> str:
    lines = [f"{p.where + ': ' if p.where else ''}{p.message}"]
    if p.details:
        lines.append(p.details)
    if p.fix:
        lines.append(f"fix: {p.fix}")
    return "\n".join(lines)


def render_junit_report(report: CheckReport) -> str:
    return render_junit([JUnitSuite("sluice check", [_case(r) for r in report.results])])


def _findings(report: CheckReport) -> list[Finding]:
    """Every problem under its check's result (rule ``check.<name>``), its details in
    the message; a check that could not run and found nothing as one finding."""
    out: list[Finding] = []
    for result in report.results:
        for p in result.problems:
            message = p.message + (f"\n{p.details}" if p.details else "")
            out.append(replace(p, rule=f"check.{result.name}", message=message, details=""))
        if result.status == "error" and not result.problems:
            out.append(Finding(rule=f"check.{result.name}", name="could-not-run",
                               severity="error", message=result.summary, fix=""))
    return out


def _summary(report: CheckReport) -> str:
    failed = [r.name for r in report.results if r.status in ("fail", "error")]
    n = len(report.results)
    return (f"{len(failed)} of {n} check{'s' if n != 1 else ''} did not pass "
            f"({', '.join(failed)})") if failed else _passed(report).rstrip(".").replace(
                "All", "all", 1)


def check_docs() -> dict[str, RuleDoc]:
    """Every check as a rule (``check.<name>``), for SARIF's rule descriptors."""
    return {f"check.{c.name}": RuleDoc(f"check.{c.name}", c.name, "error", c.title, c.doc,
                                       "check")
            for c in CHECKS}


def render_findings_format(report: CheckReport, fmt: str, stream: IO[str]) -> None:
    """Every problem as a finding in a findings format of the registry (``github``: one
    annotation per problem, exactly as ``sluice lint --format github`` writes them, then
    a summary notice; ``sarif``: the checks as rules, the run's outcome as properties)."""
    render_findings(fmt, _findings(report), stream=stream, command="check",
                    summary=[_summary(report)], rules=check_docs(),
                    extra={"config": report.config_file, "database": report.database,
                           "passed": report.passed, "exit_code": report.exit_code})


def render(report: CheckReport, fmt: str, stream: IO[str]) -> None:
    """Write ``report`` to ``stream`` in ``fmt`` (one of :data:`FORMATS`)."""
    get_format(fmt, "check")
    if fmt == "text":
        render_text(report, stream)
    elif fmt == "json":
        stream.write(render_json(report))
    elif fmt == "junit":
        stream.write(render_junit_report(report))
    else:
        render_findings_format(report, fmt, stream)
