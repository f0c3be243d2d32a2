"""Standard modules that another standard module imports for a feature ``sluice lint``
does not use, imported when first used instead.

:mod:`dataclasses` imports :mod:`inspect` (to write a docstring for a class without one;
every class ``sluice lint`` builds has its own) and :mod:`copy` (for ``asdict``'s deep
copies); with them come :mod:`dis`, :mod:`tokenize`, :mod:`linecache`, :mod:`weakref` and
more: a twentieth of a warm lint. :mod:`pathlib` imports ``quote_from_bytes`` from
:mod:`urllib.parse` (and with it :mod:`ipaddress`) for ``Path.as_uri``: another
twentieth; and :mod:`ntpath`, for ``PureWindowsPath``.

:func:`defer` puts a stand-in in ``sys.modules`` for each: an import of the module gets
the stand-in, and the first name read from it imports the module, whose names the
stand-in then carries. A function named in ``functions`` is read from the stand-in
without importing anything (``from urllib.parse import quote_from_bytes``): it imports
the module when it is called. :func:`restore` takes out the stand-ins nothing used, so
that an import after it is an ordinary one.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any

__all__ = ["Deferred", "defer", "restore"]


class Deferred(types.ModuleType):
    """Stands in ``sys.modules`` for a module not imported yet."""

    def __getattr__(self, attr: str) -> Any:
        # only for a name not in the stand-in's namespace: until the first, all but the
        # forwarded functions
        if attr == "__path__":  # `from module import name` asks; only packages have it
            raise AttributeError(attr)
        return getattr(_load(self), attr)


def _load(stand_in: Deferred) -> types.ModuleType:
    """The module ``stand_in`` stands for, imported on the first call; from then on the
    stand-in carries its names (for a module that imported the stand-in)."""
    name = stand_in.__name__
    module = sys.modules.get(name)
    if module is None or module is stand_in:
        sys.modules.pop(name, None)
        try:
            module = importlib.import_module(name)  # sets the parent package's attribute
        except BaseException:
            sys.modules.setdefault(name, stand_in)
            raise
        stand_in.__dict__.update(module.__dict__)
    return module


def _forward(stand_in: Deferred, attr: str) -> Callable[..., Any]:
    def forward(*args: Any, **kwargs: Any) -> Any:
        return getattr(_load(stand_in), attr)(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = attr
    return forward


def defer(name: str, functions: tuple[str, ...] = ()) -> list[Deferred]:
    """A stand-in in ``sys.modules`` for module ``name`` (not a package) unless it is
    imported already (then nothing: an empty list); ``functions``: its functions that can
    be imported from the stand-in and import the module when called."""
    if name in sys.modules:
        return []
    stand_in = Deferred(name)
    for attr in functions:
        setattr(stand_in, attr, _forward(stand_in, attr))
    parent, _, child = name.rpartition(".")
    if parent:  # `import a.b` then reads b from package a
        setattr(importlib.import_module(parent), child, stand_in)
    sys.modules[name] = stand_in
    return [stand_in]


def restore(stand_ins: list[Deferred]) -> None:
    """Take the stand-ins nothing has used out of ``sys.modules`` and their packages (a
    module that imported one still imports the module on its first use)."""
    for stand_in in stand_ins:
        name = stand_in.__name__
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]
            parent, _, child = name.rpartition(".")
            package = sys.modules.get(parent) if parent else None
            if package is not None and getattr(package, child, None) is stand_in:
                delattr(package, child)
