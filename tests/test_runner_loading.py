"""The modules only some upgrades need (a guard's plan and lint engine, the backup) load
inside ``RunOptions.loading``, and ``sluice upgrade`` passes the context that serves the
dataclasses' compiled methods there (:mod:`sluice.integrations.cli.codecache`): a
production upgrade does not compile them again in every run."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.runner import SLUICE_TOML, chain, make_project

WATCH = """
import sys
from contextlib import contextmanager
from sluice.runner.api import migrate
from sluice.runner.run import RunOptions
inside = []

@contextmanager
def loading():
    before = set(sys.modules)
    yield
    inside.extend(sorted(set(sys.modules) - before))

result = migrate(sys.argv[1], RunOptions(yes=True, notify=lambda m: None, loading=loading),
                 env="prod", url=sys.argv[2])
assert result.status == "applied", result
print("inside:" + ",".join(inside))
"""


def test_a_guarded_upgrade_loads_its_plan_lint_and_backup_inside_loading(
        tmp_path: Path) -> None:
    ini = make_project(tmp_path / "p", chain(2), toml=SLUICE_TOML.replace(
        "[environments.prod]\n", "[environments.prod]\nbackup_command = 'true'\n"))
    done = subprocess.run([sys.executable, "-c", WATCH, str(ini),
                           f"sqlite:///{tmp_path / 'a.db'}"],
                          capture_output=True, text=True, cwd=ini.parent, check=False)
    assert done.returncode == 0, done.stderr
    inside = set(next(x for x in done.stdout.splitlines() if x.startswith("inside:"))[7:]
                 .split(","))
    assert {"sluice.runner.plan", "sluice.lint.engine", "sluice.runner.backup"} <= inside


def test_sluice_upgrade_serves_kept_dataclass_code_to_what_a_run_loads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sluice.integrations.cli import migrate
    from tests.support.cli import run_cli

    entered: list[int] = []
    real = migrate.kept_dataclass_code

    @contextmanager
    def kept() -> Iterator[Any]:
        entered.append(1)
        with real():
            yield

    monkeypatch.setattr(migrate, "kept_dataclass_code", kept)
    ini = make_project(tmp_path / "p", chain(2), toml=SLUICE_TOML.replace(
        "[environments.prod]\n", "[environments.prod]\nbackup_command = 'true'\n"))
    res = run_cli(["upgrade", "-c", str(ini), "--url", f"sqlite:///{tmp_path / 'a.db'}",
                   "--env", "prod", "-y"], catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    # the runner's imports, the lint guard's plan and engine, the backup
    assert len(entered) == 3


def test_progress_lines_are_written_without_a_terminal_check_each(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One ``sluice: rNNNN done in ...`` line per revision on stderr, written as it
    happens; not through ``click.echo``, which asks whether stderr is a terminal (a system
    call) for every line."""
    import click

    from tests.support.cli import run_cli

    echoed: list[str] = []
    real = click.echo

    def echo(message: Any = None, *args: Any, **kw: Any) -> None:
        echoed.append(str(message))
        real(message, *args, **kw)

    monkeypatch.setattr(click, "echo", echo)
    ini = make_project(tmp_path / "p", chain(3))
    res = run_cli(["upgrade", "-c", str(ini), "--url", f"sqlite:///{tmp_path / 'a.db'}"],
                  catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    lines = [x for x in res.stderr.splitlines() if " done in " in x]
    assert [x.split()[1] for x in lines] == ["r0001", "r0002", "r0003"]
    assert all(x.startswith("sluice: ") for x in lines)
    assert [m for m in echoed if " done in " in m] == []


AT_EXIT = """
import atexit, gc, sys
from sluice.integrations.cli import main
# registered first, so it runs last: after what the command registered
atexit.register(lambda: print(f"frozen at exit: {gc.get_freeze_count() > 0}", flush=True))
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit as exc:
    assert not exc.code, exc.code
print(f"frozen after the command: {gc.get_freeze_count() > 0}", flush=True)
"""


def test_nothing_is_frozen_after_an_upgrade_nor_at_exit(tmp_path: Path) -> None:
    """After ``sluice upgrade`` the collector is as it was (nothing frozen), and nothing is
    frozen for the process's exit: the collector's passes on the way out free env.py and
    the revisions, and flush the files they left open (tests/test_upgrade_safety.py)."""
    ini = make_project(tmp_path / "p", chain(2))
    done = subprocess.run([sys.executable, "-c", AT_EXIT, "upgrade", "-c", str(ini)],
                          capture_output=True, text=True, cwd=ini.parent, check=False)
    assert done.returncode == 0, done.stderr
    assert "frozen after the command: False" in done.stdout, done.stdout
    assert "frozen at exit: False" in done.stdout, done.stdout


EXIT_PROBE = """
import atexit, gc, sys
# registered before the command runs, so it runs last, as the interpreter starts its exit
atexit.register(lambda: sys.stderr.write(f"frozen at exit: {gc.get_freeze_count()}\\n"))
"""


@pytest.mark.parametrize("command", [["upgrade"], ["downgrade", "base"],
                                     ["lint", "--no-cache"]])
def test_the_console_script_leaves_its_objects_out_of_the_exit_passes(
        tmp_path: Path, command: list[str]) -> None:
    """``sluice upgrade``/``downgrade``/``lint`` as typed: the process ends with the command, so
    what is alive is frozen for the interpreter's passes on the way out (they would only
    free what the process is about to give back); files env.py left open are flushed by
    the runner before (tests/test_upgrade_safety.py)."""
    from tests.support.cli import SLUICE, run_process

    ini = make_project(tmp_path / "p", chain(2))
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(EXIT_PROBE)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "hook")}
    if command[0] == "downgrade":
        run_process([SLUICE, "upgrade", "-c", ini], check=True)
    done = run_process([SLUICE, *command, "-c", ini], env=env, check=True)
    frozen = int(done.stderr.rsplit("frozen at exit: ", 1)[1].split()[0])
    assert frozen > 10_000, done.stderr  # Alembic, SQLAlchemy, the revisions
    (Path(ini).parent / "app.db").touch()  # history reads it: a missing file is exit 2
    plain = run_process([SLUICE, "history", "-c", ini], env=env, check=True)
    assert "frozen at exit: 0" in plain.stderr  # other commands: as before
