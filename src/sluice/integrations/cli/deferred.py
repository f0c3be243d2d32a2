"""Standard modules that another standard module imports for a feature ``sluice lint``
does not use, imported when first used instead.

:mod:`dataclasses` imports :mod:`inspect` (to write a docstring for a class without one;
every class ``sluice lint`` builds has its own) and :mod:`copy` (for ``asdict``'s deep
copies); with them come :mod:`dis`, :mod:`tokenize`, :mod:`linecache`, :mod:`weakref` and
more: a twentieth of a warm lint. :func:`defer` puts a stand-in in ``sys.modules`` for
each: an import of the module gets the stand-in, and the first name read from it imports
the module, whose names the stand-in then carries. :func:`restore` takes out the
stand-ins nothing used, so that an import after it is an ordinary one.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__all__ = ["Deferred", "defer", "restore"]


class Deferred(types.ModuleType):
    """Stands in ``sys.modules`` for a module not imported yet."""

    def __getattr__(self, attr: str) -> Any:
        # only for a name not in the stand-in's namespace: until the first, all of them
        return getattr(_load(self), attr)


def _load(stand_in: Deferred) -> types.ModuleType:
    """Import the module ``stand_in`` stands for; from then on the stand-in carries its
    names (for a module that imported the stand-in)."""
    name = stand_in.__name__
    if sys.modules.get(name) is stand_in:
        del sys.modules[name]
    try:
        module = importlib.import_module(name)
    except BaseException:
        sys.modules.setdefault(name, stand_in)
        raise
    stand_in.__dict__.update(module.__dict__)
    return module


def defer(*names: str) -> list[Deferred]:
    """A stand-in in ``sys.modules`` for each module of ``names`` not imported yet."""
    made = []
    for name in names:
        if name not in sys.modules:
            stand_in = sys.modules[name] = Deferred(name)
            made.append(stand_in)
    return made


def restore(stand_ins: list[Deferred]) -> None:
    """Take the stand-ins nothing has used out of ``sys.modules`` (a module that imported
    one still imports the module on its first use)."""
    for stand_in in stand_ins:
        if sys.modules.get(stand_in.__name__) is stand_in:
            del sys.modules[stand_in.__name__]
