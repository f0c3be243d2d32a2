"""``sluice check`` output: text (rich), JSON, JUnit XML, and the problems as findings in
the findings formats of the registry (GitHub annotations, SARIF, GitLab code quality).

Text is for people (colour only on a terminal; ``NO_COLOR`` respected); the others are
for machines and contain nothing else, so they can be redirected to a file as is.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import IO

from rich.console import Console
from rich.markup import escape

from sluice.check.gate import CHECKS
from sluice.check.model import CheckReport, CheckResult
from sluice.core.findings import Finding, RuleDoc
from sluice.output import render_findings
from sluice.output.junit import JUnitCase, JUnitSuite, render_junit
from sluice.output.registry import formats_for, get_format

FORMATS = formats_for("check")

_MARK = {"pass": "[green]✓[/]", "fail": "[red]✗[/]", "error": "[red]![/]", "skip": "[dim]-[/]"}
_WORD = {"pass": "passed", "fail": "FAILED", "error": "could not run", "skip": "skipped"}


def render_text(report: CheckReport, console: Console) -> None:
    where = f" on {report.database}" if report.database else ""
    console.print(f"[bold]sluice check[/] {escape(report.config_file)}{escape(where)}",
                  highlight=False)
    width = max((len(r.name) for r in report.results), default=0)
    for result in report.results:
        summary = escape(result.summary)
        console.print(
            f"{_MARK[result.status]} {result.name.ljust(width)}  {summary}"
            f"  [dim]{result.duration:.2f}s[/]", highlight=False)
        _problems_text(result, console)
        for note in result.notes:
            console.print(f"    [dim]note: {escape(note)}[/]", highlight=False)
    failed = [r for r in report.results if r.status in ("fail", "error")]
    if failed:
        names = ", ".join(f"{r.name} ({_WORD[r.status]})" for r in failed)
        n = len(report.results)
        console.print(f"[red bold]{len(failed)} of {n} check{'s' if n != 1 else ''} did not "
                      f"pass:[/] {escape(names)}", highlight=False)
    else:
        n = len(report.results)
        console.print(f"[green bold]{'All ' if n > 1 else ''}{n} check{'s' if n != 1 else ''} "
                      "passed.[/]", highlight=False)


def _problems_text(result: CheckResult, console: Console) -> None:
    fixes_shown: set[str] = set()
    for p in result.problems:
        where = f"{p.where}: " if p.where else ""
        colour = "red" if p.severity == "error" else "yellow"
        console.print(f"    [{colour}]{escape(where)}{escape(p.message)}[/]", highlight=False)
        if p.details:
            for line in p.details.splitlines():
                console.print(f"      {escape(line)}" if line.strip() else "",
                              highlight=False, soft_wrap=True)
        if p.fix and p.fix not in fixes_shown:
            fixes_shown.add(p.fix)
            console.print(f"    [bold]fix:[/] {escape(p.fix)}", highlight=False)


def render_json(report: CheckReport) -> str:
    return json.dumps(report.as_dict(), indent=2, sort_keys=False) + "\n"


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
            f"({', '.join(failed)})") if failed else f"all {n} checks passed"


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
        console = Console(file=stream, highlight=False, soft_wrap=True)
        render_text(report, console)
    elif fmt == "json":
        stream.write(render_json(report))
    elif fmt == "junit":
        stream.write(render_junit_report(report))
    else:
        render_findings_format(report, fmt, stream)
