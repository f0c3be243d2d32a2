"""Standard modules that another standard module imports for a feature ``sluice lint``
does not use, imported when first used instead.

:mod:`dataclasses` imports :mod:`inspect` (to write a docstring for a class without one;
every class ``sluice lint`` builds has its own) and :mod:`copy` (for ``asdict``'s deep
copies); with them come :mod:`dis`, :mod:`tokenize`, :mod:`linecache`, :mod:`weakref` and
more: a twentieth of a warm lint. :mod:`pathlib` imports ``quote_from_bytes`` from
:mod:`urllib.parse` (and with it :mod:`ipaddress`) for ``Path.as_uri``: another
twentieth; and :mod:`ntpath`, for ``PureWindowsPath``. sqlglot imports
``entry_points`` from :mod:`importlib.metadata` (and with it :mod:`email`, :mod:`zipfile`,
:mod:`csv` ...) to find dialects other packages add, which a lint never asks for: a
twentieth of a cold lint that parses SQL.

:func:`defer` puts a stand-in in ``sys.modules`` for each: an import of the module gets
the stand-in, and the first name read from it runs the module's code in the stand-in
itself, which from then on is the module (as :class:`importlib.util.LazyLoader` does).
The stand-in carries the module's real spec, loader and file from the start, so
``importlib.util.find_spec``, ``importlib.reload`` and patches see one module. A function
named in ``functions`` is read from the stand-in without importing anything (``from
urllib.parse import quote_from_bytes``): it imports the module when it is called. :func:`restore` takes out the stand-ins nothing used, so
that an import after it is an ordinary one.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Deferred", "defer", "restore"]


class Deferred(types.ModuleType):
    """Stands in ``sys.modules`` for a module not imported yet."""

    def __getattr__(self, attr: str) -> Any:
        # only for a name not in the stand-in's namespace: until the first, all but the
        # forwarded functions and the import system's attributes
        if attr == "__path__":  # `from module import name` asks; only packages have it
            raise AttributeError(attr)
        return getattr(_load(self), attr)


def _load(stand_in: types.ModuleType) -> types.ModuleType:
    """The module ``stand_in`` stands for: on the first call its code runs in the stand-in,
    which becomes an ordinary module (a failed run leaves it a stand-in)."""
    if type(stand_in) is Deferred:
        spec = stand_in.__spec__
        assert spec is not None and spec.loader is not None  # defer() found both
        stand_in.__class__ = types.ModuleType  # type: ignore[assignment]
        try:
            spec.loader.exec_module(stand_in)
        except BaseException:
            stand_in.__class__ = Deferred
            raise
    return stand_in


def _forward(stand_in: Deferred, attr: str) -> Callable[..., Any]:
    def forward(*args: Any, **kwargs: Any) -> Any:
        return getattr(_load(stand_in), attr)(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = attr
    forward.__module__ = stand_in.__name__
    return forward


def defer(name: str, functions: tuple[str, ...] = ()) -> list[Deferred]:
    """A stand-in in ``sys.modules`` for module ``name`` unless it is imported already or
    the import system cannot find it (then nothing: an empty list); ``functions``: its
    functions that can be imported from the stand-in and import the module when called.
    A package's stand-in has the package's ``__path__``, so that its code can import its
    submodules when it runs."""
    if name in sys.modules:
        return []
    parent, _, child = name.rpartition(".")
    path = importlib.import_module(parent).__path__ if parent else None
    spec = importlib.machinery.PathFinder.find_spec(name, path)
    if spec is None or spec.loader is None:
        return []
    stand_in = Deferred(name)
    stand_in.__spec__ = spec
    stand_in.__loader__ = spec.loader
    stand_in.__file__ = spec.origin
    if spec.cached:
        stand_in.__dict__["__cached__"] = spec.cached
    if spec.submodule_search_locations is not None:
        stand_in.__path__ = list(spec.submodule_search_locations)
        stand_in.__package__ = name
    for attr in functions:
        setattr(stand_in, attr, _forward(stand_in, attr))
    if parent:  # `import a.b` then reads b from package a
        setattr(sys.modules[parent], child, stand_in)
    sys.modules[name] = stand_in
    return [stand_in]


def restore(stand_ins: list[Deferred]) -> None:
    """Take the stand-ins nothing has used out of ``sys.modules`` and their packages (a
    module that imported one still imports the module on its first use)."""
    for stand_in in stand_ins:
        name = stand_in.__name__
        if type(stand_in) is Deferred and sys.modules.get(name) is stand_in:
            del sys.modules[name]
            parent, _, child = name.rpartition(".")
            package = sys.modules.get(parent) if parent else None
            if package is not None and getattr(package, child, None) is stand_in:
                delattr(package, child)
