"""One output registry: every command's --format choices and every renderer come from it."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import click
import pytest

from sluice.check.model import CheckReport, CheckResult
from sluice.core.findings import Finding, check_finding
from sluice.integrations.cli import main
from sluice.output import FORMATS, KINDS, formats_for, render_findings
from sluice.output.registry import get_format

SRC = Path(__file__).resolve().parent.parent / "src" / "sluice"

#: What each command that offers --format renders (a new command with --format must be
#: listed here, so its choices are checked against the registry).
COMMAND_KINDS = {
    "lint": "lint", "rules": "rules", "check": "check", "trace": "trace", "plan": "plan",
    "upgrade": "run", "downgrade": "run", "history": "history", "graph": "graph",
    "heads": "heads",
}


def _format_option(command: click.Command) -> click.Option | None:
    return next((p for p in command.params
                 if isinstance(p, click.Option) and "--format" in p.opts), None)


def test_every_command_takes_its_format_choices_from_the_registry() -> None:
    offering = {}
    for name, command in main.commands.items():
        option = _format_option(command)
        if option is None:
            continue
        assert isinstance(option.type, click.Choice), name
        offering[name] = tuple(option.type.choices)
    assert set(offering) == set(COMMAND_KINDS)
    for name, choices in offering.items():
        assert choices == formats_for(COMMAND_KINDS[name]), name  # type: ignore[arg-type]


def test_the_write_hook_offers_the_lint_formats() -> None:
    from sluice.integrations.hooks import new_revision_main

    option = _format_option(new_revision_main)
    assert option is not None and isinstance(option.type, click.Choice)
    assert tuple(option.type.choices) == formats_for("lint")


def test_no_command_spells_its_own_format_list() -> None:
    literal = re.compile(r"Choice\(\s*[\[(]\s*\"text\"")
    offenders = [str(p.relative_to(SRC)) for p in (SRC / "integrations").rglob("*.py")
                 if literal.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_formats_fit_the_results() -> None:
    assert formats_for("lint") == ("text", "json", "sarif", "github", "gitlab")
    assert formats_for("check") == ("text", "json", "sarif", "github", "gitlab", "junit")
    assert formats_for("trace") == ("text", "json", "sarif", "github", "gitlab")
    assert formats_for("graph") == ("text", "json", "mermaid", "dot")
    for kind in ("plan", "run", "history", "heads", "rules"):
        assert formats_for(kind) == ("text", "json")  # type: ignore[arg-type]
    assert all(formats_for(kind)[0] == "text" for kind in KINDS)
    with pytest.raises(ValueError, match="unknown result kind 'nope'"):
        formats_for("nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown output format 'junit' for lint; valid: "
                                         "text, json, sarif, github, gitlab"):
        get_format("junit", "lint")


def test_every_findings_format_has_a_renderer() -> None:
    finding = Finding(rule="SL001", name="drop-table", severity="error", message="m",
                      fix="x", path="v/1.py", line=3)
    for fmt in FORMATS.values():
        if fmt.findings is None:
            continue
        out = io.StringIO()
        render_findings(fmt.name, [finding], stream=out, rules={})
        assert "SL001" in out.getvalue(), fmt.name
    with pytest.raises(ValueError, match="renders no findings"):
        render_findings("junit", [finding], stream=io.StringIO())


def _report() -> CheckReport:
    graph = CheckResult("graph", "revision graph", "fail", "2 heads", problems=[
        check_finding("graph", "multiple-heads", "two heads", "merge them",
                      path="migrations/versions/b.py", line=4, details="a\nb")])
    upgrade = CheckResult("upgrade", "upgrade from empty", "pass", "2 revisions applied")
    return CheckReport([graph, upgrade], config_file="alembic.ini", database="sqlite")


@pytest.mark.parametrize("fmt", formats_for("check"))
def test_check_renders_in_every_format_it_offers(fmt: str) -> None:
    from sluice.check.render import render

    out = io.StringIO()
    render(_report(), fmt, out)
    text = out.getvalue()
    assert "two heads" in text
    if fmt == "sarif":
        run = json.loads(text)["runs"][0]
        result = run["results"][0]
        assert (result["ruleId"], result["level"]) == ("check.graph", "error")
        assert result["message"]["text"] == "two heads\na\nb\n\nFix:\nmerge them"
        assert "check.drift" in {d["id"] for d in run["tool"]["driver"]["rules"]}
        assert run["properties"]["exit_code"] == 1
    elif fmt == "gitlab":
        issue = json.loads(text)[0]
        assert issue["check_name"] == "check.graph multiple-heads"
        assert issue["location"] == {"path": "migrations/versions/b.py",
                                     "lines": {"begin": 4}}


def test_check_refuses_a_format_the_registry_does_not_give_it() -> None:
    from sluice.check.render import render

    with pytest.raises(ValueError, match="unknown output format 'mermaid' for check"):
        render(_report(), "mermaid", io.StringIO())


@pytest.mark.parametrize("fmt", formats_for("trace"))
def test_trace_renders_in_every_format_it_offers(fmt: str) -> None:
    from sluice.trace.findings import annotate, trace_findings
    from sluice.trace.model import Lock, RevisionTrace, Statement, TraceResult
    from sluice.trace.modes import mode_info
    from sluice.trace.render import render

    info = mode_info("postgresql", "ShareLock")
    lock = Lock(relation="t", kind="table", mode="ShareLock", mode_label=info.label,
                granted=True, existing=True, blocks=info.blocks, blocks_detail=info.detail,
                held_ms=10.0)
    stmt = Statement(index=1, sql="CREATE INDEX ix ON t (a)", path="/x/0001_a.py", line=7,
                     duration_ms=1.0, locks=[lock])
    rt = RevisionTrace(revision="0001", path="/x/0001_a.py", message="m", down_revisions=(),
                       statements=[stmt])
    annotate(rt, "postgresql")
    result = TraceResult(backend="postgresql", server_version="15", server="pg",
                         lock_tracing=True, revisions=[rt])
    out = io.StringIO()
    render(fmt, result, trace_findings(result), out)
    assert "TR002" in out.getvalue()
    if fmt == "gitlab":
        issue = json.loads(out.getvalue())[0]
        assert (issue["check_name"], issue["severity"]) == ("TR002 blocks-writes", "critical")


@pytest.mark.parametrize("fmt", ["sarif", "gitlab"])
def test_sluice_check_writes_the_lint_formats(shop: Path, fmt: str) -> None:
    """A revision edited after it was locked, in a format ``sluice check`` did not offer
    before the registry: exit 1, and only the document on stdout."""
    from tests.support.cli import run_cli
    from tests.support.modules import forget_modules

    revision = shop / "migrations" / "versions" / "0001_users_and_products.py"
    revision.write_text(revision.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    forget_modules(shop)
    result = run_cli(["check", "-c", shop / "alembic.ini", "--only", "checksums",
                      "--format", fmt])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    if fmt == "sarif":
        found = data["runs"][0]["results"]
        assert [(r["ruleId"], r["level"]) for r in found] == [("check.checksums", "error")]
        assert found[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] \
            .endswith("0001_users_and_products.py")
        assert data["runs"][0]["properties"]["passed"] is False
    else:
        assert [i["check_name"] for i in data] == ["check.checksums edited"]


def test_the_architecture_page_lists_the_registry() -> None:
    """docs/architecture.md's table of formats is the registry's."""
    page = (SRC.parent.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)` \| (.+?) \|$", page, re.M))
    names = {"lint": "`lint`", "check": "`check`", "trace": "`trace`", "graph": "`graph`"}
    expected = {}
    for name, fmt in FORMATS.items():
        if fmt.kinds == frozenset(KINDS):
            expected[name] = "every command with `--format`"
        else:
            shown = [names[k] for k in ("lint", "check", "trace", "graph") if k in fmt.kinds]
            expected[name] = ", ".join(shown) + (", the write hook" if "lint" in fmt.kinds
                                                 else "")
    assert {k: v for k, v in rows.items() if k in FORMATS} == expected


def test_one_json_renderer() -> None:
    """Every command's JSON is ``json_text``: two-space indent, one trailing newline."""
    from sluice.output.jsonout import json_text

    assert json_text({"a": [1, None], "p": Path("x")}) == \
        '{\n  "a": [\n    1,\n    null\n  ],\n  "p": "x"\n}\n'
    cli = SRC / "integrations" / "cli"
    own = [name for name in ("check.py", "graph.py", "migrate.py", "trace.py")
           if "json.dump" in (cli / name).read_text(encoding="utf-8")]
    assert own == []
