"""What every ``sluice`` command shares: the common options, error rendering and exit codes.

Errors derived from :class:`SluiceError` become one line on stderr and exit code 2 (1 for
policy refusals); findings exit 1 through ``sys.exit``.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from sluice.errors import SluiceError

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


def handle_errors(fn: F) -> F:
    """Turn Sluice and Alembic errors into one line on stderr and the right exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        sluice_error = _load_errors(fn)
        from sluice.core.errors import CommandError  # lazy: Alembic's CommandError, not Alembic

        try:
            return fn(*args, **kwargs)
        except sluice_error as exc:
            click.echo(f"sluice: error: {exc}", err=True)
            if exc.hint:
                click.echo(exc.hint, err=True)
            sys.exit(exc.exit_code)
        except CommandError as exc:
            click.echo(f"sluice: error: {exc}", err=True)
            sys.exit(2)
        except (KeyboardInterrupt, SystemExit, click.exceptions.Exit, click.ClickException,
                BrokenPipeError):
            raise  # a closed stdout (`sluice ... | head`) is handled once, in SluiceGroup
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


@contextlib.contextmanager
def few_collections() -> Iterator[None]:
    """Fewer passes of the cyclic garbage collector during a command that allocates many
    objects and frees few (a lint, an upgrade loading hundreds of revisions): what is alive
    when it starts (the imported modules) is left out of every pass, and a pass comes every
    50,000 allocations instead of 700. Restored afterwards."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def split_values(values: tuple[str, ...]) -> list[str]:
    """``--dialect postgresql,mysql --dialect sqlite`` -> three values."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


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
            _silence_stdout()
            sys.exit(1)


def _silence_stdout() -> None:
    """Point stdout at devnull so that the interpreter's final flush cannot fail again
    (the recipe of Python's signal module documentation, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (tests, embedding)
        pass
