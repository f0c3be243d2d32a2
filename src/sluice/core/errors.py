"""Exceptions that the CLI turns into one-line messages and exit codes (re-exported by
:mod:`sluice.errors`).

:class:`SluiceError` subclasses Alembic's ``CommandError`` (see its docstring), yet
importing this module does not import Alembic: ``import alembic`` imports SQLAlchemy and
Alembic's runtime, which costs more than everything else a static ``sluice lint`` does.
When Alembic is not imported yet, :func:`_command_error` loads only Alembic's own
``alembic/util/exc.py`` (a module that imports nothing but ``typing``) under its real name,
``alembic.util.exc``; when Alembic is imported later, ``alembic.util`` takes the class from
that very module, so ``CommandError`` is one class in the process and
``except CommandError`` catches every Sluice error, as with a plain import. While that file
runs alone, a stand-in answers its ``from typing import ...`` (:class:`_TypingNames`;
importing :mod:`typing` would cost a warm ``sluice lint`` a tenth of its time); the names it
took are typing's own again once Alembic is imported.
"""

from __future__ import annotations

import builtins
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from typing import Any

_EXC = "alembic.util.exc"


class _TypingNames(ModuleType):
    """What ``import typing`` gives ``alembic/util/exc.py`` while it runs alone (its other
    imports are the import system's): ``TYPE_CHECKING`` is False, as typing's, and every
    other name it is asked for is ``None`` and recorded in ``taken`` (the file uses them in
    annotations only)."""

    TYPE_CHECKING = False

    def __init__(self) -> None:
        super().__init__("typing")
        self.taken: list[str] = []
        self.running = True

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        self.taken.append(name)
        return None

    def import_(self, name: str, globals: Mapping[str, object] | None = None,
                locals: Mapping[str, object] | None = None, fromlist: Sequence[str] = (),
                level: int = 0) -> ModuleType:
        if name == "typing" and level == 0 and self.running:
            return self
        return builtins.__import__(name, globals, locals, fromlist, level)


class _AttachExc:
    """Sets ``alembic.util.exc`` on the ``alembic.util`` package once it is imported, and
    the typing names ``taken`` from :class:`_TypingNames` to typing's own.

    The import system binds a submodule to its parent package only when it loads it; the
    module loaded alone is already in ``sys.modules``, so this finder binds it when
    ``alembic.util`` imports its next submodule, then removes itself. It never finds a
    module itself."""

    def __init__(self, taken: Sequence[str] = ()) -> None:
        self.taken = tuple(taken)

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> None:
        parent = sys.modules.get("alembic.util")
        if parent is not None and fullname.startswith("alembic."):
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            module = sys.modules.get(_EXC)
            if not hasattr(parent, "exc") and module is not None:
                parent.exc = module  # type: ignore[attr-defined]
            if self.taken and module is not None:
                import typing  # lazy: Alembic, being imported, imports it anyway

                for name in self.taken:
                    if getattr(module, name, None) is None and hasattr(typing, name):
                        setattr(module, name, getattr(typing, name))
        return None


def _load_exc_alone() -> ModuleType | None:
    """Alembic's ``alembic/util/exc.py``, executed as ``alembic.util.exc`` without its
    packages' ``__init__``; None when Alembic is not a plain folder of sources."""
    try:
        spec = importlib.util.find_spec("alembic")  # finds, does not import
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "util", "exc.py")
    exc_spec = importlib.util.spec_from_file_location(_EXC, path)
    if exc_spec is None or exc_spec.loader is None or not os.path.isfile(path):
        return None
    stand_in = _TypingNames() if "typing" not in sys.modules else None
    module = _exec_alone(exc_spec, stand_in)
    if module is None and stand_in is not None:  # a file that needs typing's own names
        stand_in = None
        module = _exec_alone(exc_spec, None)
    if module is None:
        return None
    sys.meta_path.insert(0, _AttachExc(stand_in.taken if stand_in is not None else ()))
    return module


def _exec_alone(spec: ModuleSpec, stand_in: _TypingNames | None) -> ModuleType | None:
    """The module of ``spec`` run as ``alembic.util.exc`` (its ``import typing`` given
    ``stand_in``, if any); None when it fails or defines no ``CommandError`` class."""
    if spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    if stand_in is not None:
        module.__dict__["__builtins__"] = {**builtins.__dict__, "__import__": stand_in.import_}
    sys.modules[_EXC] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop(_EXC, None)
        return None
    finally:
        if stand_in is not None:
            stand_in.running = False
            module.__dict__["__builtins__"] = builtins.__dict__
    if not isinstance(getattr(module, "CommandError", None), type):
        sys.modules.pop(_EXC, None)
        return None
    return module


def _command_error() -> type[Exception]:
    """Alembic's ``CommandError``, importing as little of Alembic as possible."""
    module = sys.modules.get(_EXC)
    if module is None and "alembic.util" not in sys.modules:
        module = _load_exc_alone()
    if module is None:
        from alembic.util import exc as imported  # lazy: only alembic/util/exc.py

        module = imported
    error: type[Exception] = module.CommandError
    return error


if TYPE_CHECKING:
    from alembic.util import CommandError as CommandError
else:
    CommandError = _command_error()


class SluiceError(CommandError):
    """A problem the user can fix; rendered as one line on stderr, exit code 2.

    Carry the file, line, key or URL in the message itself; the CLI prints it as is.
    Subclassing Alembic's ``CommandError`` means a plain ``alembic`` command run through
    a Sluice-wired env.py prints ``FAILED: <message>`` instead of a traceback.
    """

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(SluiceError):
    """Invalid or unreadable Sluice configuration."""


class PolicyViolation(SluiceError):
    """A Sluice policy refused what Alembic was asked to do (exit code 1)."""

    exit_code = 1


class DatabaseUnavailable(SluiceError):
    """A database could not be reached; the message carries the masked URL."""


def mask_url(url: object) -> str:
    """Render a database URL with its password hidden."""
    from sqlalchemy.engine import make_url  # lazy: SQLAlchemy only to mask a URL

    try:
        return make_url(str(url)).render_as_string(hide_password=True)
    except Exception:
        return str(url)
