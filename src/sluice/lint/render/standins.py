"""Stand-ins for the database while rendering offline: ``op.get_bind()`` and what it returns.

:class:`StandInBind` renders writes to SQL through a callback (which records them with
their source line) and answers reads with empty results, telling a second callback about
every read; ``sqlalchemy.inspect(bind)`` gives :class:`StandInInspector`, an empty
database. :func:`stand_in_arguments` feeds non-standard ``upgrade()`` signatures.
"""

from __future__ import annotations

import inspect as pyinspect
import types
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.reflection import Inspector
from sqlalchemy.exc import NoResultFound
from sqlalchemy.inspection import _inspects

from sluice.lint.render.stubs import Stub

__all__ = ["INSPECT_CALL", "SignatureError", "StandInBind", "StandInInspector",
           "StandInResult", "stand_in_arguments"]


class StandInResult:
    """What ``execute()`` returns offline: an empty result that supports every read."""

    rowcount = 0
    returns_rows = True
    lastrowid = None
    inserted_primary_key = None
    is_insert = False

    def __init__(self, on_read: Callable[[str], None] | None = None) -> None:
        self._on_read = on_read

    def _read(self, how: str) -> None:
        if self._on_read is not None:
            self._on_read(how)

    def fetchall(self) -> list[Any]:
        self._read("fetchall")
        return []

    def fetchmany(self, size: int | None = None) -> list[Any]:
        self._read("fetchmany")
        return []

    def fetchone(self) -> Any:
        self._read("fetchone")
        return None

    def first(self) -> Any:
        self._read("first")
        return None

    def one_or_none(self) -> Any:
        self._read("one_or_none")
        return None

    def one(self) -> Any:
        self._read("one")
        raise NoResultFound("No row was found when one was required (offline: empty result)")

    def scalar(self) -> Any:
        self._read("scalar")
        return None

    def scalar_one_or_none(self) -> Any:
        self._read("scalar_one_or_none")
        return None

    def scalar_one(self) -> Any:
        return self.one()

    def all(self) -> list[Any]:
        self._read("all")
        return []

    def keys(self) -> list[str]:
        return []

    def scalars(self, index: int = 0) -> StandInResult:
        return self

    def mappings(self) -> StandInResult:
        return self

    def tuples(self) -> StandInResult:
        return self

    def unique(self, strategy: Any = None) -> StandInResult:
        return self

    def columns(self, *cols: Any) -> StandInResult:
        return self

    def partitions(self, size: int | None = None) -> Iterator[list[Any]]:
        self._read("partitions")
        return iter(())

    def yield_per(self, num: int) -> StandInResult:
        return self

    def close(self) -> None:
        return None

    def __iter__(self) -> Iterator[Any]:
        self._read("iterate")
        return iter(())

    def __next__(self) -> Any:
        self._read("iterate")
        raise StopIteration

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return True

    def __enter__(self) -> StandInResult:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


class _StandInTransaction:
    def __init__(self, bind: StandInBind) -> None:
        self.connection = bind
        self.is_active = True

    def commit(self) -> None:
        self.is_active = False

    def rollback(self) -> None:
        self.is_active = False

    def close(self) -> None:
        self.is_active = False

    def __enter__(self) -> _StandInTransaction:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.is_active = False


class StandInBind:
    """The connection a revision gets from ``op.get_bind()`` while rendering offline.

    Writes are rendered to SQL (captured with their source line); reads return empty
    results. ``emit`` renders one statement; ``on_read`` is told about every read.
    """

    def __init__(
        self,
        dialect: Any,
        emit: Callable[[Any, Any], None],
        on_read: Callable[[str], None],
    ) -> None:
        self.dialect = dialect
        self.name = dialect.name
        self.url = make_url(f"{dialect.name}://")
        self.info: dict[str, Any] = {}
        self.closed = False
        self.invalidated = False
        self._emit = emit
        self._on_read = on_read

    # connection/engine duality: code reaches for bind.engine, engine.connect() ...
    @property
    def engine(self) -> StandInBind:
        return self

    @property
    def connection(self) -> StandInBind:
        return self

    def connect(self) -> StandInBind:
        return self

    def begin(self) -> _StandInTransaction:
        return _StandInTransaction(self)

    def begin_nested(self) -> _StandInTransaction:
        return _StandInTransaction(self)

    def in_transaction(self) -> bool:
        return False

    def in_nested_transaction(self) -> bool:
        return False

    def get_transaction(self) -> None:
        return None

    def commit(self) -> None:
        return None

    def rollback(self) -> None:
        return None

    def close(self) -> None:
        return None

    def dispose(self) -> None:
        return None

    def invalidate(self, exception: Any = None) -> None:
        return None

    def detach(self) -> None:
        return None

    def get_isolation_level(self) -> str:
        return "READ COMMITTED"

    def execution_options(self, **opts: Any) -> StandInBind:
        return self

    def get_execution_options(self) -> dict[str, Any]:
        return {}

    def execute(self, statement: Any, parameters: Any = None, *args: Any, **kw: Any) -> StandInResult:
        self._emit(statement, parameters)
        return StandInResult(self._on_read)

    def exec_driver_sql(self, statement: str, parameters: Any = None, *args: Any,
                        **kw: Any) -> StandInResult:
        self._emit(text(statement), parameters)
        return StandInResult(self._on_read)

    def scalar(self, statement: Any, parameters: Any = None, **kw: Any) -> Any:
        return self.execute(statement, parameters).scalar()

    def scalars(self, statement: Any, parameters: Any = None, **kw: Any) -> StandInResult:
        return self.execute(statement, parameters)

    def run_callable(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        return fn(self, *args, **kw)

    def schema_for_object(self, obj: Any) -> str | None:
        return getattr(obj, "schema", None)

    def _run_ddl_visitor(self, visitorcallable: Any, element: Any, **kwargs: Any) -> None:
        """``Enum(...).create(bind)``, ``metadata.create_all(bind)`` and friends.

        ``checkfirst`` asks the database; offline it is empty, so creating always happens
        and dropping never does.
        """
        if kwargs.get("checkfirst") and "drop" in visitorcallable.__name__.lower():
            return
        kwargs["checkfirst"] = False
        visitorcallable(self.dialect, self, **kwargs).traverse_single(element)

    def __enter__(self) -> StandInBind:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __repr__(self) -> str:
        return f"<offline stand-in connection ({self.name})>"


INSPECT_CALL = "inspector call"


class StandInInspector:
    """``sqlalchemy.inspect(bind)`` offline: an empty database."""

    default_schema_name = None

    def __init__(self, bind: StandInBind) -> None:
        self.bind = bind
        self.engine = bind
        self.dialect = bind.dialect

    def get_pk_constraint(self, *a: Any, **kw: Any) -> dict[str, Any]:
        self.bind._on_read(INSPECT_CALL)
        return {"constrained_columns": [], "name": None}

    def get_table_comment(self, *a: Any, **kw: Any) -> dict[str, Any]:
        self.bind._on_read(INSPECT_CALL)
        return {"text": None}

    def get_table_options(self, *a: Any, **kw: Any) -> dict[str, Any]:
        self.bind._on_read(INSPECT_CALL)
        return {}

    def clear_cache(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("get_"):
            def empty(*a: Any, **kw: Any) -> list[Any]:
                self.bind._on_read(INSPECT_CALL)
                return []
            return empty
        if name.startswith("has_"):
            def missing(*a: Any, **kw: Any) -> bool:
                self.bind._on_read(INSPECT_CALL)
                return False
            return missing
        raise AttributeError(name)


def _register_inspection() -> None:
    def inspector(bind: StandInBind) -> StandInInspector:
        bind._on_read("inspect")
        return StandInInspector(bind)

    try:
        _inspects(StandInBind)(inspector)
    except AssertionError:  # pragma: no cover - registered twice
        pass
    # the older spelling, ``Inspector.from_engine(bind)``, builds the dialect's own
    # inspector, which reaches for a live connection (MySQL's charset): an empty database
    # too, not a failure blamed on the revision
    original = Inspector.__dict__["from_engine"].__func__

    def from_engine(cls: type, bind: Any) -> Any:
        if isinstance(bind, StandInBind):
            return inspector(bind)
        return original(cls, bind)

    if not getattr(Inspector.from_engine, "_sluice", False):
        from_engine._sluice = True  # type: ignore[attr-defined]
        Inspector.from_engine = classmethod(from_engine)  # type: ignore[method-assign,assignment]


_register_inspection()


class SignatureError(Exception):
    """``upgrade()`` / ``downgrade()`` cannot be called with stand-in arguments."""


def stand_in_arguments(fn: Callable[..., Any], module: types.ModuleType, *, ops: Any,
                       bind: StandInBind, context: Any) -> list[dict[str, Any]]:
    """Keyword arguments for each call, as ``run_migrations(**kw)`` would pass them."""
    code = getattr(fn, "__code__", None)
    if type(fn) is types.FunctionType and code is not None and not (
            code.co_argcount or code.co_kwonlyargcount or code.co_posonlyargcount) \
            and not hasattr(fn, "__wrapped__") and not hasattr(fn, "__signature__"):
        return [{}]  # a plain ``def upgrade():`` (what inspect.signature would say)
    try:
        sig = pyinspect.signature(fn)
    except (TypeError, ValueError):
        return [{}]
    required = [p for p in sig.parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                       p.KEYWORD_ONLY)]
    if any(p.kind == p.POSITIONAL_ONLY and p.default is p.empty
           for p in sig.parameters.values()):
        raise SignatureError(f"{fn.__name__}{sig} takes positional-only arguments")
    if not required:
        return [{}]
    kwargs: dict[str, Any] = {}
    engines: list[str] = []
    for p in required:
        name = p.name
        if name == "op" or name.endswith("_op") or name == "operations":
            kwargs[name] = ops
        elif name in ("conn", "connection", "bind", "engine"):
            kwargs[name] = bind
        elif name in ("context", "ctx", "migration_context"):
            kwargs[name] = context
        elif name == "engine_name":
            prefix = f"{fn.__name__}_"
            engines = sorted(n[len(prefix):] for n in vars(module)
                             if n.startswith(prefix) and callable(getattr(module, n)))
            kwargs[name] = None
        else:
            kwargs[name] = Stub(name)
    if engines:
        return [{**kwargs, "engine_name": e} for e in engines]
    return [kwargs]
