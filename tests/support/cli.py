"""The one way tests run the ``sluice`` command.

``run_cli`` runs it in-process with click's ``CliRunner`` and returns click's ``Result``
(``exit_code``, ``stdout``, ``stderr``, ``output``, ``exception``). ``run_process`` runs a
real process (a console script of this virtualenv, ``python -m ...``, ``git``) for tests
that need one: a closed pipe, signals, an installed entry point, a subprocess environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import click
from click.testing import CliRunner, Result

from sluice.integrations.cli import main

__all__ = ["BIN", "SLUICE", "Result", "run_cli", "run_process"]

BIN = Path(sys.executable).parent
"""The virtualenv's scripts folder: ``BIN / "sluice"``, ``BIN / "alembic"``, ..."""
SLUICE = BIN / "sluice"


@contextmanager
def _working_directory(cwd: str | os.PathLike[str] | None) -> Iterator[None]:
    if cwd is None:
        yield
        return
    before = os.getcwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)


def run_cli(args: Sequence[str | os.PathLike[str]], *, cwd: str | os.PathLike[str] | None = None,
            env: Mapping[str, str | None] | None = None, input: str | bytes | None = None,
            catch_exceptions: bool = True, command: click.Command = main,
            prog_name: str | None = None) -> Result:
    """``sluice ARGS`` (or another click ``command``) in this process, from ``cwd``."""
    with _working_directory(cwd):
        return CliRunner().invoke(command, [str(a) for a in args], input=input, env=env,
                                  catch_exceptions=catch_exceptions, prog_name=prog_name)


def run_process(argv: Sequence[str | os.PathLike[str]], *,
                cwd: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None,
                input: str | None = None, timeout: float | None = None,
                check: bool = False) -> subprocess.CompletedProcess[str]:
    """A real process, its output captured as text. ``check``: a non-zero exit fails the
    test with the command, its exit code and the end of its output."""
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, input=input,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} exited {done.returncode}\n"
                             f"--- stdout\n{done.stdout[-4000:]}\n"
                             f"--- stderr\n{done.stderr[-4000:]}")
    return done
