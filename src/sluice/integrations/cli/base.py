"""What the ``sluice`` command needs without click: error lines and exit codes, the garbage
collector setting of long commands, a closed stdout. :mod:`.common` (the click side) and
:mod:`.fast` (``sluice lint`` without click) share them, so both print the same bytes."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Iterator


def describe_exception(exc: BaseException) -> str:
    """``file:line: Type: message`` for the innermost frame outside installed packages."""
    import traceback  # lazy: only on an error

    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        name = frame.filename
        if "site-packages" in name or name.startswith("<") or "/sluice/" in name.replace("\\", "/"):
            continue
        where = f"{name}:{frame.lineno}: "
        break
    return f"{where}{type(exc).__name__}: {exc} (set SLUICE_DEBUG=1 for the traceback)"


def interrupted_lines(exc: BaseException) -> tuple[list[str], int]:
    """The line on stderr and the exit code of a command stopped by Ctrl-C or SIGTERM: 130
    or 143, as a shell reports a process a signal ended (1 is a finding, 2 bad input: an
    interrupted gate is neither). What the interrupted command left was said before."""
    name = "SIGTERM" if "SIGTERM" in str(exc) else "SIGINT"
    return [f"sluice: interrupted ({name})"], 143 if name == "SIGTERM" else 130


def error_lines(exc: Exception) -> tuple[list[str], int] | None:
    """The lines on stderr and the exit code for an error a command raised (a Sluice
    error: its message and hint; Alembic's: its message; any other: where it happened);
    None when it must propagate (``SLUICE_DEBUG`` set: the traceback)."""
    from sluice.core.errors import CommandError, SluiceError  # lazy: only on an error

    if isinstance(exc, SluiceError):
        return [f"sluice: error: {exc}", *([exc.hint] if exc.hint else [])], exc.exit_code
    if isinstance(exc, CommandError):
        return [f"sluice: error: {exc}"], 2
    if os.environ.get("SLUICE_DEBUG"):
        return None
    return [f"sluice: error: {describe_exception(exc)}"], 2


#: Set by the ``sluice`` console script (:func:`.fast.run`) when the process ends with the
#: command it runs (an upgrade, a downgrade, a lint through click): see
#: :func:`few_collections`.
PROCESS_ENDS = False


@contextlib.contextmanager
def few_collections() -> Iterator[None]:
    """Fewer passes of the cyclic garbage collector during a command that allocates many
    objects and frees few (a lint, an upgrade loading hundreds of revisions): what is alive
    when it starts (the imported modules) is left out of every pass, and a pass comes every
    50,000 allocations instead of 700. Restored afterwards.

    Except where the process ends with the command (:data:`PROCESS_ENDS`): then what is
    alive, and what the command left for the collector, is frozen instead, so the passes
    the interpreter makes on its way out, over everything Alembic, SQLAlchemy and the
    revisions built, have nothing to scan (on a 200-revision upgrade they cost more than a
    tenth of the run). The process's memory goes back to the system as it ends. What those
    passes would have finalised: files env.py and the revisions left open, which the
    runner has flushed (:mod:`sluice.runner.leftopen`); Sluice's own connections, closed by
    the runner; a connection env.py left in a pool, whose socket the system closes."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        if PROCESS_ENDS:
            gc.freeze()
        else:
            gc.set_threshold(*threshold)
            gc.unfreeze()


def split_values(values: tuple[str, ...]) -> list[str]:
    """``--dialect postgresql,mysql --dialect sqlite`` -> three values."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def flush_stdout() -> None:
    """Write out what stdout still buffers, inside a command's error handling: a full disk
    or a closed pipe is reported there (one line, the command's exit code), and stdout is
    then pointed at devnull so that the interpreter's final flush does not fail again."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        silence_stdout()
        raise


def silence_stdout() -> None:
    """Point stdout at devnull so that the interpreter's final flush cannot fail again
    (the recipe of Python's signal module documentation, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (tests, embedding)
        pass
