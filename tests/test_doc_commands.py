"""Every `alembic ...` and `sluice ...` command line printed in README.md, docs/ and the
examples' READMEs parses exactly as printed: Alembic lines with Alembic's own argparse
parser, sluice lines with Sluice's click group and then the subcommand (full validation:
options, choices, required arguments).

Commands are taken from fenced code blocks (shell blocks line by line, ``$ `` prompts in
output blocks, ``run:`` steps and script entries in YAML) and from inline code that starts
with ``alembic`` or ``sluice``. Inline code of just ``alembic NAME`` / ``sluice NAME`` names a
command in prose: only the subcommand's existence is checked. The Makefile recipe of
docs/ci-recipes.md is checked by tests/test_ci_recipes.py through ``make -n``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from alembic.config import CommandLine

from sluice.integrations.cli import main
from tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
         *sorted((REPO / "examples").glob("**/README.md"))]

#: Placeholders in the docs, and the concrete value each is checked with.
PLACEHOLDERS = {
    "<expand id>": "ae1027a6",
    "<revision>": "ae1027a6",
    "CURRENT:TARGET": "ae1027a6:head",
    "FILE...": "migrations/versions/3f2a_x.py",
    "alembic -n reporting ...": "alembic -n reporting upgrade head",
}

SHELL_BLOCKS = {"", "bash", "sh", "shell", "console"}
SKIPPED_BLOCKS = {"python", "toml", "ini", "sql", "make", "json", "mermaid", "dot"}
TOOLS = {"alembic", "sluice"}


@dataclass(frozen=True)
class DocCommand:
    where: str  # page:line
    text: str  # as printed
    argv: tuple[str, ...]  # tool first

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


def _strip_comment(line: str) -> str:
    """``line`` without a trailing shell ``# comment`` (a ``#`` after blank, outside quotes)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def _commands_in(text: str) -> list[list[str]]:
    """The alembic/sluice invocations in one shell line, as argv."""
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    text = re.sub(r"\$\{\{[^}]*\}\}", "main", text)  # CI expressions
    text = re.sub(r"(?<!\S)\d+(?=[<>])", "", text)  # 2>&1: the descriptor goes with its redirect
    lexer = shlex.shlex(_strip_comment(text), posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    lexer.commenters = ""
    out: list[list[str]] = []
    current: list[str] = []
    redirect = False
    for token in [*lexer, ";"]:
        if token in {"&&", "||", "|", ";", "&"}:
            if current:
                out.append(current)
            current, redirect = [], False
        elif set(token) <= set("<>&"):
            redirect = True
        elif redirect:
            redirect = False  # the redirection target
        else:
            current.append(token)
    commands = []
    for words in out:
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            words = words[1:]  # env-var prefix
        if words and Path(words[0]).name in TOOLS and len(words) > 1:
            commands.append([Path(words[0]).name, *words[1:]])
    return commands


def _shell_lines(block: list[tuple[int, str]], lang: str) -> list[tuple[int, str]]:
    """The shell lines of a code block, ``\\`` continuations joined."""
    lines: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in block:
        line = raw.strip()
        if pending is not None:
            number, line = pending[0], pending[1] + " " + line
            pending = None
        if line.endswith("\\"):
            pending = (number, line[:-1].rstrip())
            continue
        if lang == "yaml":
            m = re.match(r"^(?:-\s+)?(?:run:\s*)?(.*)$", line)
            line = m.group(1) if m else ""
            if re.match(r"^[\w-]+:\s", line):  # another key (name:, uses:)
                continue
        elif lang not in SHELL_BLOCKS:  # output: prompt lines, and the alembic commands
            if not line.startswith(("$ ", "alembic ")):  # Sluice's messages suggest
                continue
        line = line[2:] if line.startswith("$ ") else line
        lines.append((number, line))
    return lines


def doc_commands(pages: list[Path] = PAGES) -> list[DocCommand]:
    fence = re.compile(r"^\s*(```|~~~)\s*([\w-]*)")
    found: list[DocCommand] = []
    for page in pages:
        name = str(page.relative_to(REPO)) if page.is_relative_to(REPO) else page.name
        block: list[tuple[int, str]] | None = None
        lang = ""
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            m = fence.match(line)
            if m and block is None:
                block, lang = [], m.group(2).lower()
                continue
            if m and block is not None:
                if lang not in SKIPPED_BLOCKS:
                    for at, text in _shell_lines(block, lang):
                        found += [DocCommand(f"{name}:{at}", text, tuple(argv))
                                  for argv in _commands_in(text)]
                block = None
                continue
            if block is not None:
                block.append((number, line))
            if block is None or lang not in SKIPPED_BLOCKS:
                for code in re.findall(r"`([^`\n]+)`", line):
                    code = code.strip()
                    code = code[2:] if code.startswith("$ ") else code
                    if code.split(" ")[0] in TOOLS:
                        found += [DocCommand(f"{name}:{number}", code, tuple(argv))
                                  for argv in _commands_in(code)]
    return found


def alembic_error(argv: list[str]) -> str | None:
    parser = CommandLine(prog="alembic").parser
    subcommands = next(a for a in parser._actions
                       if isinstance(a.choices, dict) and "upgrade" in a.choices).choices
    if len(argv) == 1 and not argv[0].startswith("-"):
        return None if argv[0] in subcommands else f"no such command '{argv[0]}'"
    import contextlib
    import io

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code in (0, None):  # --help, --version
            return None
        return err.getvalue().strip().splitlines()[-1]
    return None


def sluice_error(argv: list[str]) -> str | None:
    try:
        ctx = main.make_context("sluice", list(argv), resilient_parsing=False)
        args = [*ctx._protected_args, *ctx.args]  # type: ignore[attr-defined]
        name, command, rest = main.resolve_command(ctx, args)
        assert command is not None and name is not None
        if len(argv) == 1:
            return None  # `sluice NAME` in prose: the command exists
        command.make_context(name, rest, parent=ctx, resilient_parsing=False)
    except click.exceptions.Exit:
        return None
    except click.UsageError as exc:
        return exc.format_message()
    return None


def command_error(argv: tuple[str, ...]) -> str | None:
    tool, args = argv[0], list(argv[1:])
    return alembic_error(args) if tool == "alembic" else sluice_error(args)


def test_every_documented_command_parses() -> None:
    commands = doc_commands()
    failures = [f"{c}\n    -> {err}" for c in commands if (err := command_error(c.argv))]
    assert not failures, "documented commands that fail as written:\n" + "\n".join(failures)


def test_the_extraction_finds_each_kind_of_command() -> None:
    found = {c.text: c for c in doc_commands()}
    argvs = {c.argv for c in found.values()}
    # a fenced shell block, trailing comment cut off
    assert ("sluice", "lint", "--fail-on", "warning") in argvs
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
        argv = _commands_in(line)[0]
        assert command_error(tuple(argv)) is None, line


def test_shell_syntax() -> None:
    assert _commands_in('FOO=1 sluice check --url "$URL" 2>&1 | tee out && alembic heads') \
        == [["sluice", "check", "--url", "$URL"], ["alembic", "heads"]]
    assert _commands_in("sluice lint --format sarif > lint.sarif # upload") == \
        [["sluice", "lint", "--format", "sarif"]]
    assert _commands_in("pip install alembic-sluice") == []


def suggested_commands(message: str) -> list[tuple[str, ...]]:
    """The `alembic ...` commands a message tells the reader to run, as argv."""
    found = []
    for line in message.splitlines():
        at = line.find("alembic ")
        if at >= 0:
            found += [tuple(argv) for argv in _commands_in(line[at:].strip("`. "))]
    return found


def assert_suggestions_parse(message: str) -> None:
    """Every `-x` a message suggests comes in a command that Alembic accepts."""
    commands = suggested_commands(message)
    assert commands, f"no alembic command in: {message}"
    for argv in commands:
        assert command_error(argv) is None, (argv, command_error(argv))
        if "-x" in argv:
            assert argv.index("-x") == 1, argv


def test_protected_table_fix_shows_where_x_goes() -> None:
    from sluice.config import parse_config
    from sluice.lint.registry import all_rules, run_rules
    from sluice.lint.static import analyze_file

    config = parse_config({"protected_tables": ["billing_*"]})
    analysis = analyze_file(REPO / "tests" / "fixtures" / "rules" / "SL005_bad.py")
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
