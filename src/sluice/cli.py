"""The ``sluice`` command: parse, call the library, render, exit code. No logic of its own.

Each subcommand is a small function; shared options (``-c/--config``, ``-x``, ``--env``)
come from :func:`common_options`. Errors derived from :class:`SluiceError` become one line
on stderr and exit code 2 (1 for policy refusals); findings exit 1 through ``ctx.exit``.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from sluice.errors import SluiceError

F = TypeVar("F", bound=Callable[..., Any])


def common_options(fn: F) -> F:
    """``-c/--config``, ``-x`` and ``--env``, as every command takes them."""
    fn = click.option(
        "--env", "env", default=None, metavar="NAME",
        help="Environment (default: SLUICE_ENV, ALEMBIC_ENV, then default_environment).",
    )(fn)
    fn = click.option(
        "-x", "x_args", multiple=True, metavar="KEY=VALUE",
        help="Passed to Alembic like 'alembic -x'.",
    )(fn)
    fn = click.option(
        "-c", "--config", "config_path", default="alembic.ini", show_default=True,
        type=click.Path(dir_okay=False, path_type=Path), help="Path to alembic.ini.",
    )(fn)
    return fn


def handle_errors(fn: F) -> F:
    """Turn Sluice and Alembic errors into one line on stderr and the right exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from alembic.util import CommandError

        try:
            return fn(*args, **kwargs)
        except SluiceError as exc:
            click.echo(f"sluice: error: {exc}", err=True)
            if exc.hint:
                click.echo(exc.hint, err=True)
            sys.exit(exc.exit_code)
        except CommandError as exc:
            click.echo(f"sluice: error: {exc}", err=True)
            sys.exit(2)
        except (KeyboardInterrupt, SystemExit, click.exceptions.Exit, click.ClickException):
            raise
        except Exception as exc:
            if os.environ.get("SLUICE_DEBUG"):
                raise
            click.echo(f"sluice: error: {describe_exception(exc)}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def describe_exception(exc: BaseException) -> str:
    """``file:line: Type: message`` for the innermost frame outside installed packages."""
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        name = frame.filename
        if "site-packages" in name or name.startswith("<") or "/sluice/" in name.replace("\\", "/"):
            continue
        where = f"{name}:{frame.lineno}: "
        break
    return f"{where}{type(exc).__name__}: {exc} (set SLUICE_DEBUG=1 for the traceback)"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="alembic-sluice")
def main() -> None:
    """Sluice: control points for Alembic migrations."""


@main.command()
@click.option("--keep", is_flag=True, help="Keep the temporary project and print its path.")
@handle_errors
def demo(keep: bool) -> None:
    """Walk through every control point on a throwaway copy of examples/shop (SQLite)."""
    from sluice.demo import run_demo

    sys.exit(run_demo(keep=keep))


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--metadata", default=None, metavar="MODULE:ATTR",
              help="Where target_metadata lives, e.g. myapp.models:Base.metadata.")
@click.option("--url", default=None, help="sqlalchemy.url for a new project.")
@click.option("--dry-run", is_flag=True, help="Show the changes without writing them.")
@handle_errors
def init(directory: Path, metadata: str | None, url: str | None, dry_run: bool) -> None:
    """Create an Alembic project wired to Sluice, or wire an existing one."""
    from sluice.scaffold import init_project

    result = init_project(directory, metadata=metadata, url=url, dry_run=dry_run)
    for line in result.messages:
        click.echo(line)
    if result.diff:
        click.echo(result.diff)
