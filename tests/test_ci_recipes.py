"""docs/ci-recipes.md: every sluice command in the recipes parses with Sluice's own command
line, the pieces of each pipeline fit together, and the commands run on a real project."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from importlib.metadata import metadata
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from sluice.integrations.cli import main
from tests.support.cli import BIN, run_cli
from tests.support.paths import EXAMPLE, REPO
from tests.support.servers import server_url

PAGE = REPO / "docs" / "ci-recipes.md"
GIT_ENV = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}

DANGEROUS = '''"""drop users.legacy_field

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade():
    op.drop_column("users", "legacy_field")


def downgrade():
    op.add_column("users", sa.Column("legacy_field", sa.String(50)))
'''


def recipe(title: str) -> str:
    blocks = dict(re.findall(r'^```\w+ title="([^"]+)"\n(.*?)^```', PAGE.read_text(),
                             re.M | re.S))
    return blocks[title]


def sluice_commands(lines: list[str]) -> list[list[str]]:
    """The sluice invocations in shell lines, as argv (redirections and `||` cut off;
    CI expressions replaced by a placeholder)."""
    out = []
    for line in lines:
        line = re.sub(r"\$\{\{[^}]*\}\}", "main", line)
        for part in re.split(r"\|\||&&|;", line):
            words = shlex.split(part, comments=True)
            if not words or words[0] != "sluice":
                continue
            words = words[1:]
            if ">" in words:
                words = words[: words.index(">")]
            out.append(words)
    return out


def assert_valid(args: list[str]) -> None:
    """Parse like `sluice ARGS` would, without running the command."""
    name, rest = args[0], args[1:]
    command = main.get_command(click.Context(main), name)
    assert command is not None, f"sluice {name}: no such command"
    try:
        command.make_context(name, list(rest), resilient_parsing=False)
    except click.UsageError as exc:  # pragma: no cover - the failure message
        raise AssertionError(f"sluice {' '.join(args)}: {exc.format_message()}") from None


def redirect_target(line: str) -> str:
    m = re.search(r">\s*(\S+)", line)
    assert m, line
    return m.group(1)


def make_commands(tmp_path: Path, *variables: str) -> list[str]:
    """The commands `make` would run for every target of the recipe (``make -n``)."""
    (tmp_path / "Makefile").write_text(recipe("Makefile"))
    out = subprocess.run(["make", "-n", "migrations-ci", "migrations-lock", *variables],
                         cwd=tmp_path, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def test_every_sluice_command_of_every_recipe_parses(tmp_path: Path) -> None:
    github = yaml.safe_load(recipe(".github/workflows/migrations.yml"))
    gitlab = yaml.safe_load(recipe(".gitlab-ci.yml"))
    lines = [step["run"] for job in github["jobs"].values() for step in job["steps"]
             if "run" in step]
    lines += [line for job in gitlab.values() if isinstance(job, dict)
              for line in job.get("script", [])]
    make = make_commands(tmp_path) + make_commands(tmp_path, "CHECK_URL=postgresql://h/db")
    assert any("--url postgresql://h/db --scratch" in line for line in make)
    lines += make
    commands = sluice_commands(lines)
    assert {c[0] for c in commands} >= {"lint", "check", "lock"}
    for args in commands:
        assert_valid(args)
    # the recipes name extras that exist
    extras = metadata("alembic-sluice").get_all("Provides-Extra") or []
    for line in lines:
        for extra in re.findall(r"alembic-sluice\[(\w+)\]", line):
            assert extra in extras


def test_a_bad_option_would_be_caught() -> None:
    with pytest.raises(AssertionError, match="No such option"):
        assert_valid(["lint", "--no-such-option"])
    with pytest.raises(AssertionError, match="'bogus' is not one of"):
        assert_valid(["check", "--format", "bogus"])


def test_github_workflow_fits_together() -> None:
    wf = yaml.safe_load(recipe(".github/workflows/migrations.yml"))
    lint, check = wf["jobs"]["lint"], wf["jobs"]["check"]
    assert lint["permissions"]["security-events"] == "write"
    checkout = next(s for s in lint["steps"] if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # --changed needs the base branch
    run = next(s["run"] for s in lint["steps"] if "sluice lint" in s.get("run", ""))
    assert "--format sarif" in run and "--changed" in run
    upload = next(s for s in lint["steps"] if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == redirect_target(run)
    assert upload["if"] == "always()"  # the lint step fails on findings
    service = check["services"]["postgres"]
    assert "5432:5432" in service["ports"]
    run = next(s["run"] for s in check["steps"] if "sluice check" in s.get("run", ""))
    password = service["env"]["POSTGRES_PASSWORD"]
    assert f"postgres:{password}@localhost:5432/" in run and "--scratch" in run


def test_gitlab_pipeline_fits_together() -> None:
    ci = yaml.safe_load(recipe(".gitlab-ci.yml"))
    lint, check = ci["sluice-lint"], ci["sluice-check"]
    report = next(line for line in lint["script"] if "--format gitlab" in line)
    assert lint["artifacts"]["reports"]["codequality"] == redirect_target(report)
    assert lint["artifacts"]["when"] == "always"
    assert lint["variables"]["GIT_DEPTH"] == "0"
    junit = next(line for line in check["script"] if "sluice check" in line)
    assert check["artifacts"]["reports"]["junit"] == redirect_target(junit)
    alias = check["services"][0]["alias"]
    url = check["variables"]["SLUICE_CHECK_URL"]
    assert f"@{alias}:5432/" in url and check["variables"]["POSTGRES_PASSWORD"] in url
    assert "--url" not in junit  # the URL comes from SLUICE_CHECK_URL


# --------------------------------------------------------------------------- running them


def sh(root: Path, line: str, env: dict[str, str] | None = None
       ) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **GIT_ENV, "NO_COLOR": "1",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
    return subprocess.run(["bash", "-c", line], cwd=root, capture_output=True, text=True,
                          check=False, env=full)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """examples/shop in a git repository whose origin/main is the first commit, with a
    branch that adds a dangerous revision."""
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    (root / ".gitignore").write_text("__pycache__/\n*.db\n.sluice_cache/\n*.sarif\n*.json\n"
                                     "*.xml\n")
    lock(root)
    setup = ("git init -q -b main && git add . && git commit -q -m shop && "
             "git update-ref refs/remotes/origin/main HEAD && git checkout -q -b feature")
    out = sh(root, setup)
    assert out.returncode == 0, out.stderr
    return root


def lock(root: Path, *options: str) -> None:
    """`sluice lock` for the project's setup, in-process (the recipes' own sluice lines run
    as real shell commands)."""
    result = run_cli(["lock", "-c", str(root / "alembic.ini"), *options])
    assert result.exit_code == 0, result.output


def add_dangerous(root: Path) -> None:
    (root / "migrations" / "versions" / "0003_drop.py").write_text(DANGEROUS)
    lock(root, "--no-lint")  # recorded anyway: the CI lint of the change is what is tested
    assert sh(root, "git add . && git commit -q -m drop").returncode == 0


def step(job: str, needle: str) -> str:
    """The `run:` line of the GitHub workflow's step in ``job`` that runs ``needle``, with
    the pull request's base branch (``github.base_ref``) being main."""
    wf = yaml.safe_load(recipe(".github/workflows/migrations.yml"))
    run = next(s["run"] for s in wf["jobs"][job]["steps"] if needle in s.get("run", ""))
    return re.sub(r"\$\{\{ github.base_ref \}\}", "main", run)


def test_github_lint_step_writes_sarif_for_the_changed_revision(project: Path) -> None:
    lint = step("lint", "sluice lint")
    assert sh(project, lint).returncode == 0  # nothing changed yet
    add_dangerous(project)
    out = sh(project, lint)
    assert out.returncode == 1, out.stderr
    sarif = json.loads((project / redirect_target(lint)).read_text())
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"SL002"}
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"migrations/versions/0003_drop.py"}


def test_gitlab_lint_steps(project: Path) -> None:
    add_dangerous(project)
    ci = yaml.safe_load(recipe(".gitlab-ci.yml"))
    env = {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}
    report_line, gate_line = [line for line in ci["sluice-lint"]["script"] if "sluice" in line]
    assert sh(project, report_line, env).returncode == 0  # `|| true`: the report only
    issues: list[dict[str, Any]] = json.loads(
        (project / "gl-code-quality-report.json").read_text())
    drop = next(i for i in issues if i["check_name"] == "SL002 drop-column")
    assert drop["severity"] == "critical"
    assert drop["location"] == {"path": "migrations/versions/0003_drop.py",
                                "lines": {"begin": 14}}
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    gate = sh(project, gate_line, env)
    assert gate.returncode == 1 and "SL002 drop-column" in gate.stdout


def test_make_recipe(project: Path) -> None:
    (project / "Makefile").write_text(recipe("Makefile"))
    out = sh(project, "make migrations-ci BASE=origin/main")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no findings" in out.stdout and "All 5 checks passed." in out.stdout
    add_dangerous(project)
    out = sh(project, "make migrations-ci BASE=origin/main")
    assert out.returncode != 0
    assert "SL002 drop-column" in out.stdout
    # a stale sum fails the check target
    (project / "migrations" / "versions" / "0004_x.py").write_text(
        DANGEROUS.replace('"0003"', '"0004"').replace('"0002"', '"0003"'))
    out = sh(project, "make migrations-check")
    assert out.returncode != 0 and "sluice.sum" in out.stdout


@pytest.mark.postgres
def test_check_steps_on_postgresql(project: Path) -> None:
    server = server_url("postgresql")
    github = step("check", "sluice check")
    github = re.sub(r"--url \S+", f"--url {shlex.quote(server)}", github)
    out = sh(project, github)
    assert out.returncode == 0, out.stdout + out.stderr
    ci = yaml.safe_load(recipe(".gitlab-ci.yml"))
    junit_line = next(line for line in ci["sluice-check"]["script"] if "sluice check" in line)
    out = sh(project, junit_line, {"SLUICE_CHECK_URL": server})
    assert out.returncode == 0, out.stdout + out.stderr
    suite = ET.parse(project / "sluice-check.xml").getroot()
    names = {case.get("name") for case in suite.iter("testcase")}
    assert {"graph", "upgrade", "drift", "roundtrip", "checksums"} <= names
