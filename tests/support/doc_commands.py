"""The ``alembic ...`` and ``sluice ...`` command lines printed in the docs, and whether each
parses as printed (``tests/test_doc_commands.py``; messages that suggest a command use
``assert_suggestions_parse``)."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
from alembic.config import CommandLine

from sluice.integrations.cli import main
from tests.support.paths import REPO

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

#: A benchmark script as the docs run it (``.venv/bin/python bench/process.py ...``).
BENCH_SCRIPT = re.compile(r"bench/\w+\.py")

#: Runs a benchmark script (argv[1], its arguments after it) up to the end of its
#: ``parse_args``, then exits 0: its options are checked, nothing is measured.
PARSE_ONLY = """
import argparse, runpy, sys
parse = argparse.ArgumentParser.parse_args
def parse_only(self, *args, **kwargs):
    parse(self, *args, **kwargs)
    raise SystemExit(0)
argparse.ArgumentParser.parse_args = parse_only
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
raise SystemExit("it parses no options")
"""


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


def commands_in(text: str) -> list[list[str]]:
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
        elif len(words) > 1 and Path(words[0]).name in ("python", "python3") \
                and BENCH_SCRIPT.fullmatch(words[1]):
            commands.append(["bench", *words[1:]])
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
                                  for argv in commands_in(text)]
                block = None
                continue
            if block is not None:
                block.append((number, line))
            if block is None or lang not in SKIPPED_BLOCKS:
                for code in re.findall(r"`([^`\n]+)`", line):
                    code = code.strip()
                    code = code[2:] if code.startswith("$ ") else code
                    if code.split(" ")[0] in TOOLS or re.match(r"\S*python3? bench/", code):
                        found += [DocCommand(f"{name}:{number}", code, tuple(argv))
                                  for argv in commands_in(code)]
    return found


def alembic_error(argv: list[str]) -> str | None:
    parser = CommandLine(prog="alembic").parser
    subcommands = next(a for a in parser._actions
                       if isinstance(a.choices, dict) and "upgrade" in a.choices).choices
    if len(argv) == 1 and not argv[0].startswith("-"):
        return None if argv[0] in subcommands else f"no such command '{argv[0]}'"



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


def bench_error(argv: list[str]) -> str | None:
    """Whether a benchmark script takes these options (``argv[0]``: the script)."""
    done = subprocess.run([sys.executable, "-c", PARSE_ONLY, str(REPO / argv[0]), *argv[1:]],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit {done.returncode}"


def command_error(argv: tuple[str, ...]) -> str | None:
    tool, args = argv[0], list(argv[1:])
    if tool == "bench":
        return bench_error(args)
    return alembic_error(args) if tool == "alembic" else sluice_error(args)


def suggested_commands(message: str) -> list[tuple[str, ...]]:
    """The `alembic ...` commands a message tells the reader to run, as argv."""
    found = []
    for line in message.splitlines():
        at = line.find("alembic ")
        if at >= 0:
            found += [tuple(argv) for argv in commands_in(line[at:].strip("`. "))]
    return found


def assert_suggestions_parse(message: str) -> None:
    """Every `-x` a message suggests comes in a command that Alembic accepts."""
    commands = suggested_commands(message)
    assert commands, f"no alembic command in: {message}"
    for argv in commands:
        assert command_error(argv) is None, (argv, command_error(argv))
        if argv[0] == "alembic" and "-x" in argv:  # options (-c, -n, -x) before the subcommand
            last = max(i for i, w in enumerate(argv) if w == "-x")
            assert all(w in ("-c", "-n", "-x") for w in argv[1:last:2]), argv
