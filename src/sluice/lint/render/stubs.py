"""Stand-in modules: ``stub_modules`` packages replaced by modules of permissive stubs.

:class:`StubFinder` (on ``sys.meta_path``) answers the stubbed names and their submodules
with a :class:`StubModule`, every attribute of which is a :class:`Stub`: usable as a column
type, a callable, a decorator, a context manager or a base class.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import inspect as pyinspect
import sys
import types
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["Stub", "StubFinder", "StubModule", "is_trusted"]


def _stub_base() -> type:
    from sqlalchemy.types import UserDefinedType  # lazy: SQLAlchemy only when a stub type is made

    return UserDefinedType


class _StubMeta(type):
    """Lets a class derived from a stub answer any class attribute with a stub."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return Stub(f"{cls.__name__}.{name}")


class Stub(_stub_base()):  # type: ignore[misc]
    """A permissive stand-in for anything a stubbed module exports.

    Any attribute is another stub; calling one returns a stub (or, used as a decorator,
    the decorated function unchanged); it iterates as empty, works as a context manager,
    and is a SQLAlchemy column type (rendered as its own name), so ``sa.Column("id",
    myapp.types.GUID())`` renders as ``id GUID``.
    """

    cache_ok = True

    def __init__(self, name: str = "stub", args: str = "") -> None:
        object.__setattr__(self, "_stub_name", name)
        object.__setattr__(self, "_stub_args", args)

    @property
    def _short(self) -> str:
        return str(self._stub_name).rsplit(".", 1)[-1]

    def get_col_spec(self, **kw: Any) -> str:
        return self._short.upper() if self._short.islower() else self._short

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return Stub(f"{self._stub_name}.{name}")

    def __call__(self, *args: Any, **kw: Any) -> Any:
        if len(args) == 1 and not kw and (pyinspect.isfunction(args[0])
                                          or pyinspect.isclass(args[0])):
            return args[0]  # used as a decorator
        parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kw.items()]
        return Stub(self._stub_name, ", ".join(parts) or " ")

    def __repr__(self) -> str:
        args = self._stub_args
        if not args:
            return self._short
        return f"{self._short}({args.strip()})"

    def __str__(self) -> str:
        return self._short

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return True

    def __contains__(self, item: Any) -> bool:
        return False

    def __getitem__(self, key: Any) -> Any:
        return Stub(f"{self._stub_name}[{key!r}]")

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[type, ...]:
        return (_stub_class(self._short),)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return other is self

    def __add__(self, other: Any) -> Any:
        return Stub(self._stub_name)

    def __int__(self) -> int:
        return 0

    __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __or__ = __and__ = __add__


def _stub_class(name: str) -> type:
    return _StubMeta(name, (), {"__init__": lambda self, *a, **kw: None,
                                "__getattr__": lambda self, n: Stub(f"{name}.{n}")})


class StubModule(types.ModuleType):
    """A module every attribute of which is a :class:`Stub`; submodules are stubs too."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = Stub(f"{self.__name__}.{name}")
        setattr(self, name, value)
        return value


class _StubLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = StubModule(spec.name)
        module.__path__ = []
        module.__sluice_stub__ = True  # type: ignore[attr-defined]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class StubFinder(importlib.abc.MetaPathFinder):
    """Imports of ``names`` (and their submodules) get a :class:`StubModule`."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(n.strip() for n in names if n.strip())

    def matches(self, fullname: str) -> bool:
        return any(fullname == n or fullname.startswith(n + ".") for n in self.names)

    def find_spec(self, fullname: str, path: Any = None,
                  target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not self.matches(fullname):
            return None
        return importlib.util.spec_from_loader(fullname, _StubLoader(), is_package=True)



def is_trusted(module: str) -> bool:
    """Alembic, SQLAlchemy and the standard library: never the thing to stub."""
    top = module.split(".")[0]
    return top in ("alembic", "sqlalchemy") or top in getattr(sys, "stdlib_module_names", ())
