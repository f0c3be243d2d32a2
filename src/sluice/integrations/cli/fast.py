"""The ``sluice`` console script: ``sluice lint`` as typed most often (no option but
``--format`` and flags such as ``--no-cache``) runs without click and without the other commands, whose import is a
large share of a warm lint; every other command line goes to the click group
(:mod:`.app`).

Both ways call the same code (:mod:`.lint_run`) and report errors alike
(:mod:`.base`), so they print the same bytes and exit with the same code; tests compare
them. The fast way steps aside when click would read something from the environment
(``ALEMBIC_CONFIG``, shell completion) or ``SLUICE_DEBUG`` asks for tracebacks.
"""

from __future__ import annotations

import gc
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["FLAGS", "plain_lint", "run"]


#: The flags of ``sluice lint`` (options without a value) the fast way takes.
FLAGS = frozenset({"--all", "--no-render", "--no-cache", "--all-findings", "--show-fixes",
                   "--no-show-fixes"})


def plain_lint(args: list[str]) -> tuple[str, frozenset[str]] | None:
    """The ``--format`` (``text`` without it) and flags of a command line ``lint
    [--format FMT] [FLAG...]`` (each at most once, any order); None for any other command
    line."""
    if not args or args[0] != "lint":
        return None
    fmt: str | None = None
    flags: set[str] = set()
    rest = iter(args[1:])
    for arg in rest:
        if arg in FLAGS and arg not in flags:
            flags.add(arg)
        elif fmt is None and arg == "--format":
            fmt = next(rest, None)
            if fmt is None:
                return None
        elif fmt is None and arg.startswith("--format="):
            fmt = arg.partition("=")[2]
        else:
            return None
    from sluice.output.registry import formats_for  # lazy: only for `sluice lint`

    if {"--show-fixes", "--no-show-fixes"} <= flags:
        return None  # the last one wins: click's reading
    fmt = fmt or "text"
    return (fmt, frozenset(flags)) if fmt in formats_for("lint") else None


def run(args: list[str] | None = None, prog_name: str | None = None) -> Any:
    """``sluice ARGS`` (default: the command line); exits with the command's code."""
    argv = sys.argv[1:] if args is None else list(args)
    # at most: lint, --format FMT and each flag
    if argv[:1] == ["lint"] and len(argv) <= 3 + len(FLAGS) and not _click_reads_environment():
        # The cyclic collector as the click command sets it (:func:`~.base.few_collections`:
        # what is alive is left out of its passes, a pass every 50,000 allocations), from
        # before the imports; and what is alive at the end is frozen too, so the pass the
        # interpreter makes on exit has nothing to scan (the process ends with the lint).
        threshold = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        # Sluice's modules, the dataclasses' methods, the regular expressions' programs
        # and the configuration files as compiled and parsed by earlier runs
        # (:mod:`.modulecache`, :mod:`.codecache`, :mod:`.regexcache`, :mod:`.configcache`),
        # and
        # the modules dataclasses and pathlib import for what a lint does not use
        # (:mod:`.deferred`; pathlib is imported after this)
        from sluice.integrations.cli import (  # lazy: only for `sluice lint`
            codecache,
            configcache,
            deferred,
            modulecache,
            regexcache,
        )

        stand_ins = [*deferred.defer("inspect"), *deferred.defer("copy"),
                     *deferred.defer("urllib.parse", functions=("quote_from_bytes",)),
                     *deferred.defer("ntpath"),
                     *deferred.defer("importlib.metadata", functions=("entry_points",))]
        modules = modulecache.install()
        compiled = codecache.install()
        programs = regexcache.install()
        configs = configcache.install()
        try:
            plain = plain_lint(argv)
            code = _lint(*plain) if plain is not None else None
        finally:
            configcache.uninstall(configs)
            regexcache.uninstall(programs)
            codecache.uninstall(compiled)
            modulecache.uninstall(modules)
            deferred.restore(stand_ins)
            gc.set_threshold(*threshold)
            gc.freeze()
        if code is not None:
            if args is None:
                _exit_now(code)
            sys.exit(code)
        gc.unfreeze()
    if argv[:1] and argv[0] in MIGRATING and not {"-h", "--help"} & set(argv):
        _import_alembic_here()
    if args is None and argv[:1] and argv[0] in ("upgrade", "downgrade", "lint"):
        from sluice.integrations.cli import base  # lazy: loaded with the command

        base.PROCESS_ENDS = True  # the console script: the process ends with the command
    from sluice.integrations.cli.app import main  # lazy: every other command line

    return main(args, prog_name=prog_name)


#: Commands that load Alembic's runtime and SQLAlchemy to run env.py (see
#: :func:`_import_alembic_here`).
MIGRATING = frozenset({"upgrade", "downgrade", "check", "plan", "trace"})


def _import_alembic_here() -> None:
    """Import Alembic's commands (and with them SQLAlchemy) now, near the bottom of the
    call stack, as ``alembic``'s own console script does, instead of from inside click's
    dispatch and the runner's imports, some 30 frames deeper.

    CPython keeps its frames in chunks of 16 KiB and gives a chunk back to the system the
    moment the frame at its start returns; the module bodies of SQLAlchemy and Alembic make
    thousands of short calls, and run that deep they keep crossing a chunk's edge. On a
    200-revision ``sluice upgrade`` that was about 2,100 chunks mapped and unmapped (each a
    system call pair and a page fault) against about 720 when imported here (``strace -e
    mmap``). A failed import is left for the command to report.

    The cyclic collector treats the import as the command treats the rest of its run
    (:func:`.base.few_collections`): a pass every 50,000 allocations instead of 700, and
    what the import built (modules, classes, functions: alive until the process ends) is
    then left out of the passes that follow. :func:`.base.few_collections` hands all of
    it back to the collector when the command is done, for the passes on the way out."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        import alembic.command  # noqa: F401  # lazy: see the docstring
    except Exception:  # noqa: BLE001 - reported (one line) where the command imports it
        pass
    finally:
        gc.set_threshold(*threshold)
        gc.freeze()


def _exit_now(code: int) -> None:
    """End the process with ``code`` at once, without the interpreter's teardown (which
    frees every object, module by module: a few percent of a warm lint), when nothing is
    registered to run at exit and no other thread runs; else return (and ``sys.exit``
    ends it as usual)."""
    import atexit  # lazy: a built-in module, only as the process ends

    pending = getattr(atexit, "_ncallbacks", None)
    threading = sys.modules.get("threading")
    if pending is None or pending() or (threading is not None
                                        and threading.active_count() > 1):
        return
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return  # reported by the ordinary exit
    os._exit(code)


def _click_reads_environment() -> bool:
    """Whether the environment asks for something only the click command does: a
    config path (``ALEMBIC_CONFIG``), tracebacks (``SLUICE_DEBUG``), shell completion
    (``_SLUICE_COMPLETE``)."""
    return bool(os.environ.get("SLUICE_DEBUG")) or "ALEMBIC_CONFIG" in os.environ \
        or any(name.endswith("_COMPLETE") for name in os.environ)


def _show_fixes(flags: frozenset[str]) -> bool | None:
    """``--show-fixes`` / ``--no-show-fixes`` (:func:`plain_lint` leaves both to click)."""
    return True if "--show-fixes" in flags else False if "--no-show-fixes" in flags else None


def _lint(fmt: str, flags: frozenset[str]) -> int:
    """``sluice lint --format FMT FLAGS`` as the click command runs it; its exit code."""
    from pathlib import Path  # lazy: after the stand-ins (see run)

    from sluice.integrations.cli.base import (  # lazy: as it runs
        error_lines,
        flush_stdout,
        interrupted_lines,
        silence_stdout,
    )
    from sluice.integrations.cli.lint_run import (  # lazy: as the command runs
        lint_output,
        write_output,
    )

    try:
        try:
            try:
                out = lint_output((), Path("alembic.ini"), (), None, "--all" in flags, None,
                                  (), False, None, fmt, None, (), (), (),
                                  "--no-render" in flags, "--no-cache" in flags,
                                  "--all-findings" in flags,
                                  show_fixes=_show_fixes(flags))
                write_output(out)
                code = out.exit_code
            finally:
                flush_stdout()
        except BrokenPipeError:
            raise
        except Exception as exc:
            handled = error_lines(exc)
            if handled is None:
                raise
            lines, code = handled
            for line in lines:
                print(line, file=sys.stderr)
    except BrokenPipeError:  # a reader that closed the pipe early: quietly
        silence_stdout()
        return 1
    except KeyboardInterrupt as exc:
        lines, interrupted = interrupted_lines(exc)
        for line in lines:
            print(line, file=sys.stderr)
        return interrupted
    return code
