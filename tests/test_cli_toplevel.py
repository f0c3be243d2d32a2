"""The `sluice` console script as a shell runs it: output piped into a reader that stops
early, and the alembic.ini it picks (-c, then $ALEMBIC_CONFIG, then ./alembic.ini)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests.support.cli import SLUICE, run_process
from tests.support.paths import EXAMPLE


def run_into_closed_pipe(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``sluice ARGS`` with stdout a pipe whose reader is already gone: every write fails
    with EPIPE, as at the end of ``sluice ... | head -1`` (without its timing)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([str(SLUICE), *args], stdout=write, stderr=subprocess.PIPE,
                              text=True, cwd=cwd, timeout=300)
    finally:
        os.close(write)


@pytest.mark.parametrize("args", [
    ("rules",),
    ("rules", "--format", "json"),
    ("graph", "-c", str(EXAMPLE / "alembic.ini")),
    ("graph", "-c", str(EXAMPLE / "alembic.ini"), "--format", "json"),
    ("lint", "-c", str(EXAMPLE / "alembic.ini"), "--format", "json", "--no-cache",
     "--no-render"),
], ids=lambda a: " ".join(a[:1] + a[-2:]))
def test_a_closed_pipe_ends_the_command_quietly(args: tuple[str, ...]) -> None:
    done = run_into_closed_pipe(*args)
    assert done.stderr == ""
    assert done.returncode == 1


def test_piping_into_head_prints_no_error() -> None:
    done = subprocess.run(f"'{SLUICE}' rules --format json | head -1", shell=True,
                          capture_output=True, text=True, timeout=300)
    assert done.stdout == "[\n"
    assert "Error" not in done.stderr and "Traceback" not in done.stderr


def _commands_with_config() -> list[str]:
    from sluice.integrations.cli import main

    # (init: without -c or ALEMBIC_CONFIG it works on DIRECTORY, creating a project when
    # there is no alembic.ini; tests/test_init.py covers its -c and ALEMBIC_CONFIG)
    return sorted(name for name, cmd in main.commands.items()
                  if any(p.name == "config_path" for p in cmd.params) and name != "init")


@pytest.mark.parametrize("name", _commands_with_config())
def test_config_defaults_to_alembic_config_then_alembic_ini(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sluice.integrations.cli import main

    command = main.commands[name]
    args = {"trace": ["--url", "sqlite://"], "downgrade": ["-1"]}.get(name, [])
    monkeypatch.delenv("ALEMBIC_CONFIG", raising=False)
    assert command.make_context(name, list(args)).params["config_path"] == Path("alembic.ini")
    monkeypatch.setenv("ALEMBIC_CONFIG", str(tmp_path / "svc.ini"))
    ctx = command.make_context(name, list(args))
    assert ctx.params["config_path"] == tmp_path / "svc.ini"
    ctx = command.make_context(name, ["-c", "other.ini", *args])
    assert ctx.params["config_path"] == Path("other.ini")  # -c wins


def test_alembic_config_picks_the_project(tmp_path: Path) -> None:
    env = {**os.environ, "ALEMBIC_CONFIG": str(EXAMPLE / "alembic.ini")}
    done = run_process([SLUICE, "heads"], cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("1 head:")
    assert "0002" in done.stdout


def test_every_listed_command_loads_under_its_name() -> None:
    from sluice.integrations.cli.app import COMMANDS, main

    assert sorted(main.list_commands(click.Context(main))) == sorted(COMMANDS)
    for name in COMMANDS:
        command = main.get_command(click.Context(main), name)
        assert command is not None and command.name == name


def test_looking_up_a_command_imports_only_its_module() -> None:
    code = ("import sys\n"
            "from sluice.integrations.cli.app import main\n"
            "main.get_command(None, 'upgrade')\n"
            "print(sorted(m.rsplit('.', 1)[1] for m in sys.modules\n"
            "             if m.startswith('sluice.integrations.cli.')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    loaded = set(ast.literal_eval(done.stdout))
    assert "migrate" in loaded
    assert not loaded & {"check", "lint", "fix", "graph", "trace", "project"}
