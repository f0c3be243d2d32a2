"""What every ``sluice`` command shares: the common options, error rendering and exit codes.

Errors derived from :class:`SluiceError` become one line on stderr and exit code 2 (1 for
policy refusals); findings exit 1 through ``sys.exit``.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from sluice.integrations.cli.base import (
    describe_exception,
    error_lines,
    few_collections,
    flush_stdout,
    interrupted_lines,
    silence_stdout,
    split_values,
)

if TYPE_CHECKING:
    from sluice.errors import SluiceError

__all__ = ["F", "RevisionCommand", "SluiceGroup", "common_options", "describe_exception",
           "few_collections", "handle_errors", "left_out_note", "section_option",
           "split_values"]

F = TypeVar("F", bound=Callable[..., Any])


def _load_errors(fn: Callable[..., Any]) -> type[SluiceError]:
    """Import :mod:`sluice.errors` when a command runs, not at start-up.

    ``SluiceError`` is an Alembic ``CommandError``, so importing it imports Alembic and
    SQLAlchemy, which costs more than the rest of start-up: ``sluice --help`` and usage
    errors do without. Command bodies raise ``SluiceError`` by its module-level name,
    bound here, in the module that defines the command, before any of them runs (every
    command is wrapped by :func:`handle_errors`).
    """
    from sluice.errors import SluiceError as loaded  # lazy: sluice --help loads no Alembic

    vars(sys.modules[fn.__module__])["SluiceError"] = loaded
    return loaded


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
        "-c", "--config", "config_path", default="alembic.ini", envvar="ALEMBIC_CONFIG",
        show_default=True, show_envvar=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Path to alembic.ini.",
    )(fn)
    return fn


def section_option(fn: F) -> F:
    """``-n/--name SECTION``: the alembic.ini section the command reads and runs, as
    ``alembic -n`` (a service with its own version table is a section of its own)."""
    return click.option(
        "-n", "--name", "ini_section", default="alembic", show_default=True, metavar="SECTION",
        help="alembic.ini section, like `alembic -n` (a service with its own version table).",
    )(fn)


def _refuse_toml_config(path: object) -> None:
    """``-c pyproject.toml``: Alembic's ``-c`` reads an ini file, and configparser's words
    for a TOML file name neither the option nor what to pass."""
    if isinstance(path, Path) and path.suffix.lower() == ".toml":
        from sluice.errors import SluiceError  # lazy: loaded by _load_errors already

        raise SluiceError(f"{path}: -c/--config (or ALEMBIC_CONFIG) takes alembic.ini, not "
                          "a TOML file; a project made with `alembic init -t pyproject` "
                          "keeps an alembic.ini next to its pyproject.toml: pass that")


def handle_errors(fn: F) -> F:
    """Turn Sluice and Alembic errors into one line on stderr and the right exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _load_errors(fn)
        try:
            try:
                _refuse_toml_config(kwargs.get("config_path"))
                return fn(*args, **kwargs)
            finally:
                flush_stdout()
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM where a run turns it into one
            lines, code = interrupted_lines(exc)
            for line in lines:
                click.echo(line, err=True)
            sys.exit(code)
        except (SystemExit, click.exceptions.Exit, click.ClickException, BrokenPipeError):
            raise  # a closed stdout (`sluice ... | head`) is handled once, in SluiceGroup
        except Exception as exc:
            handled = error_lines(exc)
            if handled is None:
                raise
            lines, code = handled
            for line in lines:
                click.echo(line, err=True)
            sys.exit(code)

    return wrapper  # type: ignore[return-value]



def url_origin(param: str, envvar: str) -> str:
    """Where the option ``param`` of the running command got its value, for messages:
    ``envvar`` when it came from that environment variable, else ``--url``-style."""
    ctx = click.get_current_context()
    if ctx.get_parameter_source(param) is click.core.ParameterSource.ENVIRONMENT:
        return envvar
    return f"--{param.replace('_', '-')}"


def left_out_note(files: list[str]) -> None:
    """On stderr, the revision files ``--staged`` left out (not in git's index)."""
    if files:
        shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5
                                        else "")
        click.echo(f"sluice: not staged, left out: {shown}", err=True)


class RevisionCommand(click.Command):
    """A command whose REVISION argument may be relative, as in Alembic: ``-1``, ``-2``.

    Click reads ``-1`` as an option; a bare ``-N`` that is not the value of an option is
    passed as the revision instead (after ``--``), so ``sluice downgrade -1 --env prod``
    works like ``alembic downgrade -1``.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" not in args:
            takes_value = {name for p in self.params if isinstance(p, click.Option)
                           and not p.is_flag and not p.count for name in p.opts}
            relative = {i for i, a in enumerate(args) if re.fullmatch(r"-\d+", a)
                        and (i == 0 or args[i - 1] not in takes_value)}
            if relative:
                args = [*(a for i, a in enumerate(args) if i not in relative), "--",
                        *(args[i] for i in sorted(relative))]
        return super().parse_args(ctx, args)


class SluiceGroup(click.Group):
    """The ``sluice`` group; a reader that closes the pipe early (``sluice rules | head``)
    ends the command quietly, without a BrokenPipeError line."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return super().main(*args, **kwargs)
            finally:
                if sys.stdout is not None:  # buffered output fails here, not at exit
                    sys.stdout.flush()
        except BrokenPipeError:
            silence_stdout()
            sys.exit(1)
