"""The ``sluice`` console script: ``sluice lint`` as typed most often (no option but
``--format``) runs without click and without the other commands, which costs about as
much as a warm lint itself; every other command line goes to the click group
(:mod:`.app`).

Both ways call the same code (:mod:`.lint_run`) and report errors alike
(:mod:`.base`), so they print the same bytes and exit with the same code; tests compare
them. The fast way steps aside when click would read something else from the
environment (``ALEMBIC_CONFIG``) or ``SLUICE_DEBUG`` asks for tracebacks.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["plain_lint_format", "run"]


def plain_lint_format(args: list[str]) -> str | None:
    """The ``--format`` of a command line ``lint [--format FMT]`` (``text`` without it);
    None for any other command line."""
    if not args or args[0] != "lint" or len(args) > 3:
        return None
    rest = args[1:]
    if not rest:
        fmt = "text"
    elif len(rest) == 2 and rest[0] == "--format":
        fmt = rest[1]
    elif len(rest) == 1 and rest[0].startswith("--format="):
        fmt = rest[0].partition("=")[2]
    else:
        return None
    from sluice.output.registry import formats_for  # lazy: only for `sluice lint`

    return fmt if fmt in formats_for("lint") else None


def run(args: list[str] | None = None, prog_name: str | None = None) -> Any:
    """``sluice ARGS`` (default: the command line); exits with the command's code."""
    argv = sys.argv[1:] if args is None else list(args)
    fmt = plain_lint_format(argv)
    if fmt is not None and not os.environ.get("SLUICE_DEBUG") \
            and "ALEMBIC_CONFIG" not in os.environ:
        sys.exit(_lint(fmt))
    from sluice.integrations.cli.app import main  # lazy: every other command line

    return main(args, prog_name=prog_name)


def _lint(fmt: str) -> int:
    """``sluice lint --format FMT`` as the click command runs it; its exit code."""
    from sluice.integrations.cli.base import (  # lazy: as the command runs
        error_lines,
        few_collections,
        silence_stdout,
    )
    from sluice.integrations.cli.lint_run import (  # lazy: as the command runs
        lint_output,
        write_output,
    )

    try:
        try:
            with few_collections():
                out = lint_output((), Path("alembic.ini"), (), None, False, None, (), False,
                                  None, fmt, None, (), (), (), False, False, False)
                write_output(out)
            code = out.exit_code
        except BrokenPipeError:
            raise
        except Exception as exc:
            handled = error_lines(exc)
            if handled is None:
                raise
            lines, code = handled
            for line in lines:
                print(line, file=sys.stderr)
        finally:
            if sys.stdout is not None:  # buffered output fails here, not at exit
                sys.stdout.flush()
    except BrokenPipeError:  # a reader that closed the pipe early: quietly
        silence_stdout()
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        print("Aborted!", file=sys.stderr)
        return 1
    return code
