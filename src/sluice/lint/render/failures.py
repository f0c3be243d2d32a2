"""Failures: why a revision did not render, in one countable reason, a detail and a hint.

:func:`classify` turns what a revision raised into a :class:`Failure` (an import that
needs a stub, a read through ``op.get_bind()`` that is empty offline, a revision that
refuses to run offline ...); the driver records it on the :class:`RenderOutcome`.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sluice.core.libraries import known_library
from sluice.lint.render.instrument import Run
from sluice.lint.render.outcome import (
    REASON_BIND_READS,
    REASON_OFFLINE_RAISE,
    REASON_SIGNATURE,
    REASON_TIMEOUT,
    RenderOutcome,
)
from sluice.lint.render.sandbox import RenderTimeout
from sluice.lint.render.stubs import is_trusted

__all__ = ["Failure", "classify", "fail", "on_stand_in_arguments", "timed_out", "unreadable"]


@dataclass
class Failure:
    """Why one phase of a revision did not render."""

    reason: str
    detail: str | None
    hint: str | None
    line: int | None


def classify(exc: BaseException, run: Run, filename: str,
             stub_modules: Sequence[str]) -> Failure:
    """Why ``exc``, raised while recording ``run`` of ``filename``, stopped the render.
    A timeout is re-raised: it ends the whole revision."""
    tb = traceback.extract_tb(exc.__traceback__)
    line = None
    innermost_in_file = False
    for i, frame in enumerate(tb):
        if frame.filename == filename:
            line = frame.lineno
            innermost_in_file = i == len(tb) - 1
    msg = " ".join(str(exc).split())
    if len(msg) > 300:
        msg = msg[:297] + "..."
    detail = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    if isinstance(exc, RenderTimeout):
        raise exc
    imported = _importing_module(tb, filename)
    if isinstance(exc, ImportError):
        return _import_failure(exc, line, detail, imported, stub_modules)
    if imported:
        top = imported.split(".")[0]
        return Failure(f"ImportError {top}", f"importing {imported} failed: {detail}",
                       _stub_hint(top), line)
    missing = re.match(r"module '([\w.]+)' has no attribute '(\w+)'", msg)
    if isinstance(exc, AttributeError) and missing and missing.group(1) == "alembic.op":
        name = missing.group(2)
        return Failure(f"unknown op.{name}", detail,
                       f"op.{name} is not an Alembic operation: the plugin that registers "
                       "it (imported by env.py) is not installed, or it is a typo", line)
    if isinstance(exc, AttributeError) and missing and not is_trusted(missing.group(1)):
        top = missing.group(1).split(".")[0]
        return Failure(f"ImportError {top}",
                       f"{detail} (a submodule of the project that was not imported)",
                       _stub_hint(top), line)
    if run.offline_checks and innermost_in_file:
        return Failure(REASON_OFFLINE_RAISE, detail,
                       "the revision refuses to run offline; it is analysed statically",
                       line)
    if run.reads and isinstance(exc, (AttributeError, TypeError, IndexError, KeyError,
                                      StopIteration, ValueError, LookupError)) \
            or type(exc).__name__ in ("NoResultFound", "MultipleResultsFound"):
        how = run.reads[-1][0] if run.reads else "one"
        return Failure(REASON_BIND_READS, f"a read through op.get_bind() ({how}) is empty "
                       f"offline, then {detail}",
                       "data read from the database is not available offline; the "
                       "revision is analysed statically", line)
    if innermost_in_file and isinstance(exc, (RuntimeError, NotImplementedError)) \
            and re.search(r"offline|--sql|sql mode|as_sql", msg, re.I):
        return Failure(REASON_OFFLINE_RAISE, detail,
                       "the revision refuses to run offline; it is analysed statically",
                       line)
    if isinstance(exc, SystemExit):
        return Failure("SystemExit", detail, None, line)
    removed = _sqlalchemy_1x(exc, msg)
    if removed is not None:
        return Failure(REASON_SQLALCHEMY_1X,
                       f"the revision uses {removed}, which the installed SQLAlchemy "
                       f"{_sqlalchemy_version()} removed ({msg})",
                       "Port it to SQLAlchemy 2 (pass op.get_bind() where it used a bound "
                       "MetaData or engine, wrap SQL strings in sa.text()), or run the lint "
                       "where the SQLAlchemy 1.4 the project uses is installed", line)
    # (the reason is the exception type: the detail says only its message)
    return Failure(type(exc).__name__, msg or None, None, line)


#: The reason of a revision that calls SQLAlchemy 1.x API removed in 2.0.
REASON_SQLALCHEMY_1X = "SQLAlchemy 1.x API"

#: (exception type, message pattern, what the revision used) for APIs SQLAlchemy 2 removed.
_REMOVED_1X = (
    ("TypeError", r"MetaData\.__init__\(\) got an unexpected keyword argument 'bind'",
     "MetaData(bind=...)"),
    ("AttributeError", r"'(?:Engine|OptionEngine)' object has no attribute 'execute'",
     "engine.execute()"),
    ("AttributeError", r"'(?:Engine|Connection)' object has no attribute 'has_table'",
     "engine.has_table()"),
    ("ObjectNotExecutableError", r"Not an executable object: '",
     "connection.execute() with a plain SQL string"),
    ("ArgumentError", r"select\(\)|Column expression, FROM clause, or other columns clause "
     r"element expected, got \[", "select([...])"),
    ("AttributeError", r"module 'sqlalchemy' has no attribute 'Binary'", "sa.Binary"),
)


def _sqlalchemy_1x(exc: BaseException, msg: str) -> str | None:
    """What SQLAlchemy 1.x API ``exc`` (raised under SQLAlchemy 2) says was used."""
    for name, pattern, what in _REMOVED_1X:
        if type(exc).__name__ == name and re.search(pattern, msg):
            return what
    return None


def _sqlalchemy_version() -> str:
    import sqlalchemy  # lazy: only when a revision failed on a removed API

    return str(sqlalchemy.__version__.split(".")[0])


def _import_failure(exc: ImportError, line: int | None, detail: str, importing: str | None,
                    stub_modules: Sequence[str]) -> Failure:
    name = exc.name or ""
    if not name:
        m = re.search(r"No module named '([^']+)'", str(exc))
        name = m.group(1) if m else "?"
    top = name.split(".")[0]
    if importing and importing.split(".")[0] != top:
        # the project module imports something missing: stubbing the project module helps
        top = importing.split(".")[0]
        detail = f"importing {importing} failed: {detail}"
    if top in stub_modules:
        return Failure(f"ImportError {top}", detail, None, line)
    return Failure(f"ImportError {top}", detail, _stub_hint(top), line)


def on_stand_in_arguments(failure: Failure, exc: BaseException, phase: str,
                          arguments: dict[str, object]) -> Failure:
    """``failure`` of a ``phase`` function that was called with stand-in ``arguments``
    (a non-standard signature): the detail says so, and a call that itself failed (a
    ``TypeError`` outside the file: the stand-ins do not fit) counts as a signature problem.
    """
    if failure.reason not in (REASON_OFFLINE_RAISE,) \
            and not failure.reason.startswith("ImportError"):
        sig = f"{phase}({', '.join(arguments)})"
        failure.detail = f"{sig} ran with stand-in arguments: {failure.detail}"
        if failure.line is None and isinstance(exc, TypeError):
            # the call itself failed: the stand-ins do not fit the signature;
            # anything raised inside the revision keeps its own reason
            failure.reason = REASON_SIGNATURE
    return failure


def fail(outcome: RenderOutcome, failure: Failure) -> None:
    """Record ``failure`` as why ``outcome`` did not render."""
    outcome.ok = False
    outcome.reason = failure.reason
    outcome.detail = failure.detail
    outcome.hint = failure.hint
    outcome.line = failure.line


def unreadable(outcome: RenderOutcome, exc: Exception) -> None:
    """The revision could not be compiled: a syntax error or a file that cannot be read."""
    if isinstance(exc, SyntaxError):
        outcome.reason = "syntax error"
        outcome.detail = f"{exc.msg}"
        outcome.line = exc.lineno
    else:
        outcome.reason = type(exc).__name__
        outcome.detail = str(exc)


def timed_out(outcome: RenderOutcome, exc: RenderTimeout, filename: str) -> None:
    """The revision ran out of time: nothing it rendered counts."""
    outcome.ok = False
    outcome.reason = REASON_TIMEOUT
    outcome.detail = str(exc)
    outcome.hint = "the revision waits on something (sleep, network, a lock); it is " \
        "analysed statically"
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            outcome.line = frame.lineno
    outcome.ops.clear()
    outcome.dialects.clear()


def _stub_hint(top: str) -> str:
    if known_library(top) and not _is_installed(top):
        # (a library: installing it is the fix; a stub would stand it in, and SL603 does
        # not take a stubbed library for the project's code)
        return (f"'{top}' is a third-party library that is not installed where the lint "
                f"runs: install it there (with the project's requirements) so the revision "
                f"renders; --stub {top} stands it in instead")
    if _is_installed(top):
        return (f"'{top}' is installed but fails to import offline; add it to "
                f"[tool.sluice.lint] stub_modules = [\"{top}\"] (or pass --stub {top})")
    return (f"'{top}' is not installed or not on sys.path (prepend_sys_path); add it to "
            f"[tool.sluice.lint] stub_modules = [\"{top}\"] (or pass --stub {top}) so the "
            "revision renders with a stand-in")


def _is_installed(top: str) -> bool:
    if top in getattr(sys, "stdlib_module_names", ()):
        return True
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _importing_module(tb: traceback.StackSummary, filename: str) -> str | None:
    """The module whose import raised, when the failure happened while importing one."""
    seen_file = False
    for frame in tb:
        if frame.filename == filename:
            seen_file = True
            continue
        if seen_file and frame.name == "<module>" and not frame.filename.startswith("<"):
            for mod in list(sys.modules.values()):
                if getattr(mod, "__file__", None) == frame.filename:
                    return str(mod.__name__)
            stem = Path(frame.filename).stem
            return stem if stem != "__init__" else Path(frame.filename).parent.name
    return None

