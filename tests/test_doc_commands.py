"""Every `alembic ...` and `sluice ...` command line printed in README.md, docs/ and the
examples' READMEs parses exactly as printed: Alembic lines with Alembic's own argparse
parser, sluice lines with Sluice's click group and then the subcommand (full validation:
options, choices, required arguments), and each benchmark command (`python bench/X.py
...`) with the script's own parser, in a process of its own that stops there.

Commands are taken from fenced code blocks (shell blocks line by line, ``$ `` prompts in
output blocks, ``run:`` steps and script entries in YAML) and from inline code that starts
with ``alembic`` or ``sluice``. Inline code of just ``alembic NAME`` / ``sluice NAME`` names a
command in prose: only the subcommand's existence is checked. The Makefile recipe of
docs/ci-recipes.md is checked by tests/test_ci_recipes.py through ``make -n``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.doc_commands import (
    assert_suggestions_parse,
    command_error,
    commands_in,
    doc_commands,
)
from tests.support.paths import REPO


def test_every_documented_command_parses() -> None:
    commands = doc_commands()
    failures = [f"{c}\n    -> {err}" for c in commands if (err := command_error(c.argv))]
    assert not failures, "documented commands that fail as written:\n" + "\n".join(failures)


def test_the_extraction_finds_each_kind_of_command() -> None:
    found = {c.text: c for c in doc_commands()}
    argvs = {c.argv for c in found.values()}
    # a fenced shell block, trailing comment cut off
    assert ("sluice", "lint", "--fail-on", "warning") in argvs
    # a benchmark script, its interpreter dropped
    assert ("bench", "bench/bench_data.py", "--only", "postgresql", "--rows", "500000",
            "--target-ms", "100") in argvs
    # a YAML `run:` step, redirection cut off, CI expression replaced
    assert ("sluice", "lint", "--changed", "--base", "origin/main", "--format",
            "sarif") in argvs
    # an `&&` chain with a path to the console script
    assert ("sluice", "demo") in argvs
    # an env-var prefix
    assert any(c.argv[:2] == ("alembic", "revision") and "SLUICE_ALLOW=" in c.text
               for c in found.values())
    # a `\` continuation joined
    assert any(c.argv[0] == "alembic" and "split=expand-contract" in c.argv
               and "-m" in c.argv for c in found.values() if "\\" not in c.text)
    # a `$ ` prompt in an output block, and inline code
    assert any(c.text.startswith("sluice lock --rebase") for c in found.values())
    assert len(doc_commands()) > 200


@pytest.mark.parametrize("line, error", [
    ('alembic revision --autogenerate -m "x" -x allow=SL001', "unrecognized arguments: -x"),
    ("alembic upgrade --sql", "required: revision"),
    ("sluice lint --no-such-option", "No such option"),
    ("sluice check --format bogus", "'bogus' is not one of"),
    ("sluice nosuchcommand --x", "No such command"),
])
def test_a_broken_line_is_caught(tmp_path: Path, line: str, error: str) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"Run:\n\n```bash\n$ {line}  # why\n```\n", encoding="utf-8")
    commands = doc_commands([page])
    assert len(commands) == 1
    message = command_error(commands[0].argv)
    assert message is not None and error in message, message


def test_working_lines_pass() -> None:
    for line in ["alembic -x allow=SL001 revision --autogenerate -m msg",
                 "sluice downgrade -1 --env prod --allow-downgrade",
                 "sluice plan -1", "sluice upgrade +2", "sluice lint --changed"]:
        argv = commands_in(line)[0]
        assert command_error(tuple(argv)) is None, line


def test_shell_syntax() -> None:
    assert commands_in('FOO=1 sluice check --url "$URL" 2>&1 | tee out && alembic heads') \
        == [["sluice", "check", "--url", "$URL"], ["alembic", "heads"]]
    assert commands_in("sluice lint --format sarif > lint.sarif # upload") == \
        [["sluice", "lint", "--format", "sarif"]]
    assert commands_in("pip install alembic-sluice") == []


def test_protected_table_fix_shows_where_x_goes() -> None:
    from sluice.config import parse_config
    from sluice.lint.registry import all_rules, run_rules
    from sluice.lint.static import analyze_file

    config = parse_config({"protected_tables": ["billing_*"]})
    analysis = analyze_file(REPO / "src" / "sluice" / "rules" / "lint"
                            / "sl005_protected_table.fixtures" / "SL005_bad.py")
    findings = run_rules(analysis.ops, config, dialect="postgresql",
                         rules=[all_rules()["SL005"]])
    assert findings
    for finding in findings:
        assert_suggestions_parse(finding.fix)


def test_pre_commit_pins_a_revision_that_exists() -> None:
    """The `rev:` docs/integrations.md pins resolves in this repository and has the hooks."""
    import subprocess

    import yaml

    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    page = (REPO / "docs" / "integrations.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# \.pre-commit-config\.yaml\n.*?)```", page, re.S)
    assert block, "docs/integrations.md: no .pre-commit-config.yaml example"
    (repo,) = yaml.safe_load(block.group(1))["repos"]
    rev = str(repo["rev"])

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)

    found = [r for r in (rev, f"origin/{rev}")
             if git("rev-parse", "--verify", "--quiet", f"{r}^{{commit}}").returncode == 0]
    assert found, f"docs/integrations.md pins rev: {rev}, which does not exist"
    manifest = yaml.safe_load(git("show", f"{found[0]}:.pre-commit-hooks.yaml").stdout)
    assert {h["id"] for h in repo["hooks"]} <= {h["id"] for h in manifest}


def test_pre_commit_autoupdate_pins_the_documented_rev(tmp_path: Path) -> None:
    """`pre-commit autoupdate`, as the docs say, turns `rev: main` into an immutable pin."""
    import os
    import subprocess
    import sys

    import yaml

    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    page = (REPO / "docs" / "integrations.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# \.pre-commit-config\.yaml\n.*?)```", page, re.S)
    assert block
    config = block.group(1).replace("https://github.com/sluice-migrations/sluice", str(REPO))
    (tmp_path / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}
    pre_commit = Path(sys.executable).parent / "pre-commit"
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True, env=env)
    out = subprocess.run([str(pre_commit), "autoupdate"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    pinned = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    rev = pinned["repos"][0]["rev"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout.strip()
    tags = subprocess.run(["git", "tag", "--merged", "HEAD"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout.split()
    assert rev == head or rev in tags, rev
