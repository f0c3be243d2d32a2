"""The text report of `sluice check`: built in one pass and written once, colour only on a
terminal, and piped output byte for byte what the rich-based report printed."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from pathlib import Path

from sluice.check.model import CheckReport, CheckResult, Status
from sluice.check.render import render, text_report
from sluice.core.findings import check_finding


def rich_reference(report: CheckReport) -> str:
    """The report as the rich-based renderer printed it to a pipe (the oracle), with
    ``emoji=False``: the one-pass report prints text as written, where rich turned
    ``:name:`` codes into emoji, dropped a backslash before ``[`` and lost the text
    between a ``[`` in a file name and a ``]`` in the message (a tag across the two
    escaped halves); the generated reports leave those cases out."""
    from rich.console import Console
    from rich.markup import escape

    marks = {"pass": "[green]✓[/]", "fail": "[red]✗[/]", "error": "[red]![/]",
             "skip": "[dim]-[/]"}
    words = {"pass": "passed", "fail": "FAILED", "error": "could not run", "skip": "skipped"}
    out = io.StringIO()
    console = Console(file=out, highlight=False, soft_wrap=True, emoji=False)
    where = f" on {report.database}" if report.database else ""
    console.print(f"[bold]sluice check[/] {escape(report.config_file)}{escape(where)}")
    width = max((len(r.name) for r in report.results), default=0)
    for result in report.results:
        console.print(f"{marks[result.status]} {result.name.ljust(width)}  "
                      f"{escape(result.summary)}  [dim]{result.duration:.2f}s[/]")
        shown: set[str] = set()
        for i, p in enumerate(result.problems):
            at = f"{p.where}: " if p.where else ""
            colour = "red" if p.severity == "error" else "yellow"
            console.print(f"    [{colour}]{escape(at)}{escape(p.message)}[/]")
            for line in p.details.splitlines():
                console.print(f"      {escape(line)}" if line.strip() else "")
            following = result.problems[i + 1].fix if i + 1 < len(result.problems) else None
            if p.fix and p.fix != following and p.fix not in shown:
                shown.add(p.fix)
                console.print(f"    [bold]fix:[/] {escape(p.fix)}")
        for note in result.notes:
            console.print(f"    [dim]note: {escape(note)}[/]")
    failed = [r for r in report.results if r.status in ("fail", "error")]
    n = len(report.results)
    if failed:
        names = ", ".join(f"{r.name} ({words[r.status]})" for r in failed)
        console.print(f"[red bold]{len(failed)} of {n} check{'s' if n != 1 else ''} did not "
                      f"pass:[/] {escape(names)}")
    else:
        skipped = [r.name for r in report.results if r.status == "skip"]
        ran = n - len(skipped)
        if skipped:
            console.print(f"[green bold]{ran} check{'s' if ran != 1 else ''} passed, "
                          f"{len(skipped)} skipped ({escape(', '.join(skipped))}).[/]")
        else:
            console.print(f"[green bold]{'All ' if n > 1 else ''}{n} check"
                          f"{'s' if n != 1 else ''} passed.[/]")
    return out.getvalue()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _report(rnd: random.Random) -> CheckReport:
    alphabet = "ab z\t\t\n\r\x07\x08\x0b\x0c\x1b\x7f\x85[]/漢字éＡ😀\xad\u200b\u0301\u2028-:"

    def text() -> str:
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))

    def file_name() -> str:
        return text().replace("[", "(")

    statuses: list[Status] = ["pass", "fail", "error", "skip"]
    results = []
    for name in ("graph", "upgrade", "drift", "roundtrip", "checksums")[:rnd.randint(1, 5)]:
        problems = [check_finding(name, "kind", text(), rnd.choice(["", text(), "same fix"]),
                                  path=file_name() or None, line=rnd.choice([None, 7]),
                                  details=rnd.choice(["", text() + "\n\n" + text()]),
                                  severity=rnd.choice(["error", "warning"]))
                    for _ in range(rnd.randint(0, 3))]
        results.append(CheckResult(name, name, rnd.choice(statuses), text(), problems=problems,
                                   notes=[text() for _ in range(rnd.randint(0, 2))],
                                   duration=rnd.random()))
    return CheckReport(results, config_file=file_name(), database=rnd.choice(["", text()]))


def test_piped_report_matches_the_rich_report_on_generated_reports() -> None:
    rnd = random.Random(13)
    for _ in range(200):
        report = _report(rnd)
        out = io.StringIO()
        render(report, "text", out)
        assert out.getvalue() == rich_reference(report)


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    report = _report(random.Random(3))
    plain = text_report(report)
    assert "\x1b[" not in plain.replace("\x1b", "") and plain == rich_reference(report)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    terminal = Terminal()
    render(report, "text", terminal)
    assert "\x1b[1msluice check\x1b[0m" in terminal.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    no_color = Terminal()
    render(report, "text", no_color)
    assert no_color.getvalue() == plain


def test_emoji_codes_markup_and_backslashes_stay_as_written() -> None:
    report = CheckReport([CheckResult("graph", "graph", "fail", ":smile: [bold]x[/bold]",
                                      problems=[check_finding("graph", "k", ":tada: C:\\[x]",
                                                              path="v[b.py", line=3)])])
    text = text_report(report)
    assert ":smile: [bold]x[/bold]" in text and "v[b.py:3: :tada: C:\\[x]" in text


def test_sluice_check_text_does_not_import_rich(shop: Path, tmp_path: Path) -> None:
    """The report is plain strings: a text run of ``sluice check`` never loads rich."""
    code = ("import json, sys\nfrom sluice.integrations.cli import main\n"
            "try:\n    main(sys.argv[2:])\nexcept SystemExit as exc:\n    code = exc.code\n"
            "json.dump({'exit': code, 'rich': sorted(m for m in sys.modules "
            "if m.split('.')[0] == 'rich')}, open(sys.argv[1], 'w'))\n")
    report = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", code, str(report), "check", "-c",
                    str(shop / "alembic.ini"), "--only", "graph,checksums"],
                   cwd=shop, capture_output=True, check=True)
    assert json.loads(report.read_text()) == {"exit": 0, "rich": []}


def test_a_fix_shared_by_several_problems_comes_once_after_them() -> None:
    fix = "Run `sluice lock` and commit sluice.sum with the new revision."
    problems = [check_finding("checksums", "new-file", f"{name}: new revision file", fix)
                for name in ("a.py", "b.py")]
    problems.append(check_finding("checksums", "other", "c.py: edited", "Restore it."))
    result = CheckResult(name="checksums", title="t", status="fail", summary="out of date",
                         problems=problems)
    lines = text_report(CheckReport(results=[result])).splitlines()
    body = [ln.strip() for ln in lines[2:-1]]
    assert body == ["a.py: new revision file", "b.py: new revision file", f"fix: {fix}",
                    "c.py: edited", "fix: Restore it."]


def test_a_skipped_check_is_not_counted_as_passed() -> None:
    # "All 5 checks passed." was printed while checksums had been skipped
    results = [CheckResult(name="graph", title="t", status="pass", summary="ok"),
               CheckResult(name="checksums", title="t", status="skip", summary="no sum")]
    assert text_report(CheckReport(results=results)).splitlines()[-1] == \
        "1 check passed, 1 skipped (checksums)."
