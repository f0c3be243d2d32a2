"""The render layer: run a revision offline inside a real Alembic context and record it.

Each revision is imported (never through ``ScriptDirectory``) and its ``upgrade()`` /
``downgrade()`` are called inside a real :class:`~alembic.runtime.environment.EnvironmentContext`
and :class:`~alembic.runtime.migration.MigrationContext` configured ``as_sql=True`` for a
dialect, exactly as ``alembic upgrade --sql`` would. What it records:

- every Alembic operation invoked (``Operations.invoke``), as an :class:`~sluice.lint.model.Op`
  with ``source="render"``, including operations issued by helpers in imported code;
- every SQL statement emitted, with the line of the revision file that caused it (the
  innermost frame of the revision file on the stack at emission time). With ``sql=False``
  (what ``sluice lint`` uses) Alembic's own DDL operations are recorded but not compiled,
  and downgrades are not run: the rules need the operation, not its DDL text. Raw SQL,
  SQLAlchemy constructs given to ``op.execute``, bind executes and custom (plugin)
  operations are always compiled.

What it tolerates, so that real histories render:

- ``op.get_bind()`` is a stand-in connection: ``execute()`` renders the statement like the
  offline mock connection does and returns an empty result (``fetchall()`` is ``[]``,
  ``scalar()`` is ``None``, ``rowcount`` is 0, iteration stops at once); ``commit``,
  ``close``, ``begin``, ``url``, ``dialect`` exist and ``sqlalchemy.inspect(bind)`` gives an
  inspector of an empty database.
- ``batch_alter_table`` without ``copy_from`` (SQLite would need to reflect the table) is
  rendered as plain ``ALTER`` statements; a statement that cannot be compiled (dropping an
  unnamed constraint, constraint DDL SQLite has no syntax for) is noted and skipped while
  the operation itself is still recorded.
- ``context.is_offline_mode()`` is true, ``context.config`` / ``get_x_argument()`` work.
- Non-standard signatures (``upgrade(op, tables, tester)``, fed by ``run_migrations(**kw)``)
  get the operations object for ``op``, the bind for ``conn``/``bind``/``connection`` and a
  permissive stand-in for anything else.
- ``stub_modules`` packages are replaced by stand-in modules whose every attribute is a
  permissive stub (usable as a column type, a callable, a decorator, a context manager).
- Installed packages env.py imports are imported first (Alembic plugins register their
  operations on import); env.py itself is never run. ``create_engine`` returns the
  stand-in bind (linting never connects anywhere), ``input()`` fails at once, and a
  revision that runs longer than :data:`RENDER_TIMEOUT_S` is interrupted.

When a revision still fails, :class:`RenderOutcome` says why in one short ``reason`` (the
key counted in the coverage line, e.g. ``ImportError myapp``), a ``detail`` and a ``hint``.
Nothing here raises for a broken revision.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect as pyinspect
import io
import os
import re
import sys
import threading
import tokenize
import traceback
import types
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sluice.core.alembic_compat import (
    environment_context,
    install_proxy,
    operations_proxy,
    remove_proxy,
)
from sluice.core.project import is_project_file
from sluice.lint.model import Op

try:
    # signal.signal() without the enum conversions around it (once per revision)
    import _signal
except ImportError:  # pragma: no cover - not CPython
    import signal as _signal  # type: ignore[no-redef]

__all__ = [
    "RenderOutcome",
    "RenderedStatement",
    "Renderer",
    "StandInBind",
    "StandInResult",
    "Stub",
]

#: Keys of the coverage reasons (see :attr:`RenderOutcome.reason`).
REASON_OFFLINE_RAISE = "raises in offline mode"
REASON_BIND_READS = "get_bind reads"
REASON_SIGNATURE = "non-standard signature"
REASON_NO_UPGRADE = "no upgrade()"
REASON_DISABLED = "rendering disabled"
REASON_TIMEOUT = "timed out"

#: Seconds one revision may take to render before it falls back to the static layer.
RENDER_TIMEOUT_S = 10.0


class _RenderTimeout(BaseException):
    """Raised by the alarm; a BaseException so that ``except Exception`` cannot swallow it."""


# --------------------------------------------------------------------------- records


@dataclass
class RenderedStatement:
    """One SQL statement the revision emitted offline."""

    dialect: str
    phase: str
    sql: str
    #: Line in the revision file that caused it (None: not traceable to the file).
    line: int | None = None
    #: Kind of the operation that emitted it (``execute`` for raw SQL and bind executes,
    #: ``batch`` for the statements a batch block emits when it closes, ``transaction``
    #: for BEGIN/COMMIT around ``autocommit_block``).
    op_kind: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"dialect": self.dialect, "phase": self.phase, "sql": self.sql,
                "line": self.line, "op_kind": self.op_kind}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RenderedStatement:
        return cls(**data)


@dataclass
class RenderOutcome:
    """What rendering one revision produced."""

    #: The upgrade rendered in the primary dialect.
    ok: bool
    #: Short, countable reason when not ``ok`` (``ImportError myapp``, ``get_bind reads``).
    reason: str | None = None
    #: One line with the specifics (exception message).
    detail: str | None = None
    #: What the user can do about it.
    hint: str | None = None
    #: Line of the revision file where it failed.
    line: int | None = None
    #: Operations per dialect that rendered (both phases when the downgrade rendered).
    ops: dict[str, list[Op]] = field(default_factory=dict)
    #: Dialects whose upgrade was rendered.
    dialects: list[str] = field(default_factory=list)
    #: Phases rendered in every dialect of ``dialects`` (``upgrade``, maybe ``downgrade``).
    phases: dict[str, list[str]] = field(default_factory=dict)
    statements: list[RenderedStatement] = field(default_factory=list)
    #: Dialects whose upgrade failed while the primary one rendered: dialect -> reason.
    failed: dict[str, str] = field(default_factory=dict)
    #: Things that did not stop the render (a statement that could not be compiled, a
    #: downgrade that failed, a dialect that failed while another worked).
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- stand-ins


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
        from sqlalchemy.exc import NoResultFound

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
        from sqlalchemy.engine import make_url

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
        from sqlalchemy import text

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


_INSPECT_CALL = "inspector call"


class StandInInspector:
    """``sqlalchemy.inspect(bind)`` offline: an empty database."""

    default_schema_name = None

    def __init__(self, bind: StandInBind) -> None:
        self.bind = bind
        self.engine = bind
        self.dialect = bind.dialect

    def get_pk_constraint(self, *a: Any, **kw: Any) -> dict[str, Any]:
        self.bind._on_read(_INSPECT_CALL)
        return {"constrained_columns": [], "name": None}

    def get_table_comment(self, *a: Any, **kw: Any) -> dict[str, Any]:
        self.bind._on_read(_INSPECT_CALL)
        return {"text": None}

    def get_table_options(self, *a: Any, **kw: Any) -> dict[str, Any]:
        self.bind._on_read(_INSPECT_CALL)
        return {}

    def clear_cache(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("get_"):
            def empty(*a: Any, **kw: Any) -> list[Any]:
                self.bind._on_read(_INSPECT_CALL)
                return []
            return empty
        if name.startswith("has_"):
            def missing(*a: Any, **kw: Any) -> bool:
                self.bind._on_read(_INSPECT_CALL)
                return False
            return missing
        raise AttributeError(name)


def _register_inspection() -> None:
    from sqlalchemy.inspection import _inspects

    def inspector(bind: StandInBind) -> StandInInspector:
        bind._on_read("inspect")
        return StandInInspector(bind)

    try:
        _inspects(StandInBind)(inspector)
    except AssertionError:  # pragma: no cover - registered twice
        pass


_register_inspection()


# --------------------------------------------------------------------------- stubs


def _stub_base() -> type:
    from sqlalchemy.types import UserDefinedType

    return UserDefinedType  # type: ignore[no-any-return]


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


class _StubFinder(importlib.abc.MetaPathFinder):
    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(n.strip() for n in names if n.strip())

    def matches(self, fullname: str) -> bool:
        return any(fullname == n or fullname.startswith(n + ".") for n in self.names)

    def find_spec(self, fullname: str, path: Any = None,
                  target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not self.matches(fullname):
            return None
        return importlib.util.spec_from_loader(fullname, _StubLoader(), is_package=True)


# --------------------------------------------------------------------------- capture


class _Capture:
    """The ``output_buffer`` of every offline context: one record per statement."""

    def __init__(self, run: _Run | None = None) -> None:
        self.run = run

    def write(self, text: str) -> int:
        run = self.run
        if run is not None:
            run.statement(text)
        return len(text)

    def flush(self) -> None:
        return None


_TXN = re.compile(r"^\s*(BEGIN|COMMIT|START TRANSACTION|ROLLBACK)\s*;?\s*$", re.I)


class _Run:
    """Recording state for one revision, one dialect, one phase."""

    def __init__(self, renderer: Renderer, dialect: str, phase: str, filename: str) -> None:
        self.renderer = renderer
        self.dialect = dialect
        self.phase = phase
        self.filename = filename
        self.ops: list[Op] = []
        self.statements: list[RenderedStatement] = []
        self.op_sql: dict[int, list[str]] = {}
        self.current: Op | None = None
        self.current_kind: str | None = None
        self.autocommit = 0
        self.batch = 0
        self.reads: list[tuple[str, int | None]] = []
        self.offline_checks = 0
        self.notes: list[str] = []

    def line(self) -> int | None:
        frame: types.FrameType | None = sys._getframe(1)
        target = self.filename
        while frame is not None:
            if frame.f_code.co_filename == target:
                return frame.f_lineno
            frame = frame.f_back
        return None

    def statement(self, text: str) -> None:
        sql = text.strip()
        if not sql:
            return
        if sql.endswith(";"):
            sql = sql[:-1].rstrip()
        kind = self.current_kind
        if self.current is None and _TXN.match(sql):
            kind = "transaction"
        elif self.current is None and self.batch:
            kind = "batch"
        self.statements.append(RenderedStatement(self.dialect, self.phase, sql, self.line(),
                                                 kind))
        if self.current is not None:
            self.op_sql.setdefault(id(self.current), []).append(sql)

    def read(self, how: str) -> None:
        self.reads.append((how, self.line()))


# --------------------------------------------------------------------------- renderer


_TOLERATED_IMPL_METHODS = (
    "add_column", "drop_column", "alter_column", "add_constraint", "drop_constraint",
    "create_index", "drop_index", "create_table", "drop_table", "rename_table",
    "create_table_comment", "drop_table_comment", "create_column_comment", "bulk_insert",
)


def _op_kind(operation: Any) -> str:
    name = type(operation).__name__
    if name.endswith("Op"):
        name = name[:-2]
    special = {"ExecuteSQL": "execute", "AddConstraint": "add_constraint",
               "CreateTableComment": "create_table_comment"}
    if name in special:
        return special[name]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _skip_dispatch(operation: Any) -> bool:
    """Alembic's own DDL operations need not be compiled for rules (raw SQL always is)."""
    from alembic.operations.ops import ExecuteSQLOp

    return (not isinstance(operation, ExecuteSQLOp)
            and type(operation).__module__.startswith("alembic."))


def _model(operation: Any, phase: str, in_batch: bool, name: str | None = None) -> Op:
    """The :class:`Op` for an invoked Alembic operation (generic for unmodelled ones)."""
    from sluice.lint.from_ops import to_model

    try:
        model = to_model(operation, phase=phase, in_batch=in_batch)
    except Exception:
        model = None
    if model is None:
        kind = name if name and name.isidentifier() and name != "invoke" \
            else _op_kind(operation)
        table = getattr(operation, "table_name", None)
        if table is None:
            tbl = getattr(operation, "table", None)
            table = getattr(tbl, "name", tbl if isinstance(tbl, str) else None)
        args: dict[str, Any] = {}
        if kind == "bulk_insert":
            rows = getattr(operation, "rows", None)
            args["rows"] = len(rows) if isinstance(rows, (list, tuple)) else None
        elif kind.endswith("_comment"):
            args["comment"] = getattr(operation, "comment", None)
        model = Op(kind, table=table if isinstance(table, str) else None,
                   schema=getattr(operation, "schema", None), args=args,
                   phase=phase,  # type: ignore[arg-type]
                   in_batch=in_batch)
    model.source = "render"
    for attr in ("table", "column", "schema", "name", "sql"):
        value = getattr(model, attr)
        if value is not None and not isinstance(value, str):
            setattr(model, attr, str(value) if attr != "sql" and _plain(value) else None)
    model.args = _clean(model.args)
    return model


def _plain(value: Any) -> bool:
    """A value that stands for a name (``quoted_name``, ``conv``), not a stub."""
    return isinstance(value, str) and not isinstance(value, Stub)


def _clean(value: Any) -> Any:
    """Drop what stubs stood in for: rules get known values or nothing."""
    if isinstance(value, Stub):
        return None
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else str(k)): _clean(v) for k, v in value.items()
                if not isinstance(v, Stub)}
    if isinstance(value, (list, tuple)):
        return type(value)(_clean(v) for v in value if not isinstance(v, Stub))
    return value


@dataclass
class _DialectEnv:
    name: str
    env: Any
    mc: Any
    ops: Any
    bind: StandInBind
    capture: _Capture


class Renderer:
    """Renders revisions offline; one instance per lint run (contexts are reused).

    Use as a context manager: entering prepends ``prepend_sys_path``, installs the stub
    finder; leaving restores ``sys.path``, removes stubs and forgets modules the revisions
    imported from the project folder (so edited helpers are re-imported next time).
    """

    def __init__(
        self,
        alembic_cfg: Any,
        *,
        script_location: str | Path,
        version_locations: Sequence[str | Path] = (),
        dialects: Sequence[str],
        stub_modules: Sequence[str] = (),
        sys_path: Sequence[str] = (),
        project_root: str | Path | None = None,
        sql: bool = True,
    ) -> None:
        self.cfg = alembic_cfg
        #: Compile every operation to SQL. Without it, Alembic's own operations are recorded
        #: but not compiled (their ``Op`` is what rules need); raw SQL, SQL built from
        #: SQLAlchemy constructs, bind executes and custom operations are still rendered.
        self.sql = sql
        self.timeout = RENDER_TIMEOUT_S
        self._patched: list[tuple[Any, str, Any]] = []
        self.script_location = str(script_location)
        self.version_locations = [str(v) for v in version_locations]
        self.dialects = list(dialects)
        self.stub_modules = [s for s in stub_modules if s]
        self.sys_path = list(sys_path)
        self.project_root = Path(project_root).resolve() if project_root else None
        self._envs: dict[str, _DialectEnv] = {}
        self._run: _Run | None = None
        self._saved_path: list[str] | None = None
        self._finder: _StubFinder | None = None
        self._hidden: dict[str, types.ModuleType] = {}
        self._modules_before: set[str] = set()

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self) -> Renderer:
        self._patch_engines()
        self._modules_before = set(sys.modules)
        self._saved_path = list(sys.path)
        sys.path[:0] = [p for p in self.sys_path if p not in sys.path[: len(self.sys_path)]]
        if self.stub_modules:
            self._finder = _StubFinder(self.stub_modules)
            sys.meta_path.insert(0, self._finder)
            for name in list(sys.modules):
                if self._finder.matches(name):
                    self._hidden[name] = sys.modules.pop(name)
        self._import_env_plugins()
        return self

    def _import_env_plugins(self) -> None:
        """Import the Alembic plugins env.py imports (installed modules whose dotted name
        mentions ``alembic``: ``alembic_postgresql_enum``, ``alembic_utils``,
        ``geoalchemy2.alembic_helpers`` ...), so the operations they register on import
        (``op.sync_enum_values``, ``op.create_entity``) exist.

        Project code, other packages and packages that are not installed are left alone;
        nothing env.py itself does is run.
        """
        env_py = Path(self.script_location) / "env.py"
        try:
            tree = ast.parse(env_py.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
            return
        names: list[str] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
        sink = io.StringIO()
        for name in dict.fromkeys(names):
            top = name.split(".")[0]
            if _is_trusted(top) or top == "sluice" or "alembic" not in name.lower() or (
                    self._finder is not None and self._finder.matches(name)):
                continue
            try:
                spec = importlib.util.find_spec(top)
            except (ImportError, ValueError):
                continue
            origin = getattr(spec, "origin", None) if spec is not None else None
            if not origin or self._in_project(origin):
                continue
            with contextlib.suppress(Exception, _RenderTimeout), \
                    self._deadline(self.timeout), warnings.catch_warnings(), \
                    contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                warnings.simplefilter("ignore")
                importlib.import_module(name)

    def _in_project(self, file: str) -> bool:
        if self.project_root is None:
            return False
        try:
            Path(file).resolve().relative_to(self.project_root)
        except (ValueError, OSError):
            return False
        return "site-packages" not in file

    def __exit__(self, *exc: Any) -> None:
        if self._finder is not None:
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(self._finder)
            for name in list(sys.modules):
                if self._finder.matches(name):
                    del sys.modules[name]
            sys.modules.update(self._hidden)
            self._hidden.clear()
            self._finder = None
        if self._saved_path is not None:
            sys.path[:] = self._saved_path
            self._saved_path = None
        self._forget_new_modules()
        self._envs.clear()
        self._unpatch_engines()

    def _patch_engines(self) -> None:
        """Engines a revision creates are stand-ins: linting never connects anywhere."""
        import sqlalchemy
        import sqlalchemy.engine

        def fake_engine(*args: Any, **kw: Any) -> StandInBind:
            run = self._run
            return self._env(run.dialect if run is not None else self.dialects[0]).bind

        self._patched = []
        for mod in (sqlalchemy, sqlalchemy.engine):
            for name in ("create_engine", "engine_from_config"):
                original = getattr(mod, name, None)
                if original is not None:
                    self._patched.append((mod, name, original))
                    setattr(mod, name, fake_engine)

    def _unpatch_engines(self) -> None:
        for mod, name, original in getattr(self, "_patched", []):
            setattr(mod, name, original)
        self._patched = []

    def _deadline(self, seconds: float) -> _Deadline:
        """Interrupt a revision that runs longer than ``seconds`` (main thread, POSIX)."""
        return _Deadline(seconds)

    def _forget_new_modules(self) -> None:
        root = self.project_root
        for name in set(sys.modules) - self._modules_before:
            module = sys.modules.get(name)
            if module is None:
                continue
            if getattr(module, "__sluice_stub__", False):
                del sys.modules[name]
                continue
            file = getattr(module, "__file__", None)
            if file and root is not None and is_project_file(file, Path(root).resolve()):
                del sys.modules[name]  # installed packages stay (see forget_modules)

    # ---------------------------------------------------------------- contexts

    def _env(self, dialect: str) -> _DialectEnv:
        env = self._envs.get(dialect)
        if env is not None:
            return env
        from alembic.operations import Operations
        from alembic.runtime.environment import EnvironmentContext
        from alembic.script import ScriptDirectory

        script = ScriptDirectory(self.script_location,
                                 version_locations=self.version_locations or None)
        capture = _Capture()
        ectx = EnvironmentContext(self.cfg, script, as_sql=True)
        ectx.configure(dialect_name=dialect, output_buffer=cast(Any, capture), literal_binds=True,
                       target_metadata=None)
        mc = ectx.get_context()
        ops = Operations(mc)
        bind = StandInBind(mc.dialect, self._bind_emit, self._bind_read)
        mc.connection = cast(Any, bind)
        mc.impl.connection = cast(Any, bind)
        self._instrument(ectx, mc, ops)
        env = _DialectEnv(dialect, ectx, mc, ops, bind, capture)
        self._envs[dialect] = env
        return env

    def _instrument(self, ectx: Any, mc: Any, ops: Any) -> None:
        from alembic.operations import BatchOperations, Operations
        from alembic.operations.batch import BatchOperationsImpl
        from alembic.operations.ops import CreateTableOp
        from alembic.util import immutabledict

        renderer = self

        def make_invoke(target: Any, base: Callable[[Any, Any], Any],
                        in_batch: bool) -> Callable[[Any], Any]:
            def invoke(operation: Any) -> Any:
                run = renderer._run
                if run is None:
                    return base(target, operation)
                caller = sys._getframe(1).f_code.co_name  # the op method: its public name
                model = _model(operation, run.phase, in_batch or run.batch > 0,
                               caller.removeprefix("batch_"))
                model.line = run.line()
                model.in_autocommit = run.autocommit > 0
                run.ops.append(model)
                if isinstance(getattr(operation, "sqltext", None), Stub):
                    run.notes.append(f"line {model.line}: SQL built by a stubbed module is "
                                     "unknown offline")
                    return None
                if not renderer.sql and _skip_dispatch(operation):
                    if isinstance(operation, CreateTableOp):
                        return operation.to_table(mc)  # scripts use the returned Table
                    return None
                prev, prev_kind = run.current, run.current_kind
                run.current, run.current_kind = model, model.kind
                try:
                    return base(target, operation)
                finally:
                    run.current, run.current_kind = prev, prev_kind
            return invoke

        ops.invoke = make_invoke(ops, Operations.invoke, False)  # type: ignore[method-assign,assignment]

        @contextlib.contextmanager
        def batch_alter_table(
            table_name: str, schema: str | None = None, recreate: str = "auto",
            partial_reordering: Any = None, copy_from: Any = None, table_args: Any = (),
            table_kwargs: Any = immutabledict(), reflect_args: Any = (),
            reflect_kwargs: Any = immutabledict(), naming_convention: Any = None,
        ) -> Iterator[Any]:
            if copy_from is None:
                recreate = "never"  # offline there is no table to reflect
            impl = BatchOperationsImpl(ops, table_name, schema, recreate, copy_from,
                                       table_args, table_kwargs, reflect_args,
                                       reflect_kwargs, naming_convention, partial_reordering)
            batch_op = BatchOperations(mc, impl=impl)
            batch_op.invoke = make_invoke(  # type: ignore[method-assign,assignment]
                batch_op, BatchOperations.invoke, True)
            run = renderer._run
            if run is not None:
                run.batch += 1
            try:
                yield batch_op
                impl.flush()
            finally:
                if run is not None:
                    run.batch -= 1

        ops.batch_alter_table = batch_alter_table

        base_acb = mc.autocommit_block

        @contextlib.contextmanager
        def autocommit_block() -> Iterator[None]:
            run = renderer._run
            if run is not None:
                run.autocommit += 1
            try:
                with base_acb():
                    yield
            finally:
                if run is not None:
                    run.autocommit -= 1

        mc.autocommit_block = autocommit_block

        base_offline = ectx.is_offline_mode

        def is_offline_mode() -> bool:
            if renderer._run is not None:
                renderer._run.offline_checks += 1
            return bool(base_offline())

        ectx.is_offline_mode = is_offline_mode

        impl = mc.impl
        for name in _TOLERATED_IMPL_METHODS:
            method = getattr(impl, name, None)
            if method is not None:
                setattr(impl, name, self._tolerant(name, method))

    def _tolerant(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        from sqlalchemy.exc import CompileError

        def call(*args: Any, **kw: Any) -> Any:
            try:
                return method(*args, **kw)
            except (CompileError, NotImplementedError, AssertionError) as exc:
                run = self._run
                if run is None:
                    raise
                line = run.line()
                msg = " ".join(str(exc).split()) or type(exc).__name__
                run.notes.append(f"line {line}: {name} has no {run.dialect} SQL offline: "
                                 f"{type(exc).__name__}: {msg}")
                return None
        return call

    def _bind_emit(self, statement: Any, parameters: Any) -> None:
        run = self._run
        if run is None:
            return
        env = self._envs[run.dialect]
        from sqlalchemy import text
        from sqlalchemy.sql.elements import TextClause

        if isinstance(statement, str):
            statement = text(statement)
        if isinstance(statement, Stub):
            run.notes.append(f"line {run.line()}: SQL built by a stubbed module is unknown "
                             "offline")
            return
        model = Op("execute", phase=run.phase,  # type: ignore[arg-type]
                   args={"via": "bind"}, source="render")
        model.line = run.line()
        model.in_autocommit = run.autocommit > 0
        model.in_batch = run.batch > 0
        run.ops.append(model)
        prev, prev_kind = run.current, run.current_kind
        run.current, run.current_kind = model, "execute"
        try:
            if parameters and isinstance(statement, TextClause) and isinstance(parameters,
                                                                                dict):
                with contextlib.suppress(Exception):
                    statement = statement.bindparams(**parameters)
            try:
                env.mc.impl._exec(statement)
            except Exception:
                # parameters that cannot be inlined: keep the statement with placeholders
                try:
                    compiled = statement.compile(dialect=env.mc.dialect)
                    env.capture.write(str(compiled) + ";")
                except Exception as exc:
                    run.notes.append(f"line {model.line}: bind.execute could not be "
                                     f"rendered: {type(exc).__name__}: {exc}")
        finally:
            run.current, run.current_kind = prev, prev_kind

    def _bind_read(self, how: str) -> None:
        if self._run is not None:
            self._run.read(how)

    # ---------------------------------------------------------------- rendering

    def render(self, path: str | Path, *, source: str | None = None,
               downgrade: bool = True, all_dialects: bool = True,
               tree: ast.Module | None = None, content: bytes | None = None) -> RenderOutcome:
        """Render ``path`` offline. Never raises for a broken revision.

        ``downgrade``: also render ``downgrade()`` (primary dialect only, with ``sql``).
        ``all_dialects``: render every dialect; otherwise only the first, whose ops then
        stand for every dialect (the caller decides when that is safe). ``tree``: the
        file already parsed (``ast.parse`` of its UTF-8 text); it is compiled instead of
        parsing the file again when the file has no bytecode cache to load; ``content``:
        the bytes ``tree`` was parsed from (the file is then not read again).
        """
        filename = str(path)
        outcome = RenderOutcome(ok=False)
        if not self.dialects:
            outcome.reason = REASON_DISABLED
            return outcome
        try:
            with self._deadline(self.timeout):
                self._render(filename, source, outcome, downgrade, all_dialects, tree,
                             content)
        except _RenderTimeout as exc:
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
        return outcome

    def _render(self, filename: str, source: str | None, outcome: RenderOutcome,
                downgrade: bool, all_dialects: bool, tree: ast.Module | None = None,
                content: bytes | None = None) -> None:
        sink = io.StringIO()
        streams = sys.stdin, sys.stdout, sys.stderr
        sys.stdin = io.StringIO()  # input() in a revision fails instead of waiting
        sys.stdout = sys.stderr = sink
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._render_module(filename, source, outcome, downgrade, all_dialects,
                                    tree, content)
        finally:
            sys.stdin, sys.stdout, sys.stderr = streams

    def _render_module(self, filename: str, source: str | None, outcome: RenderOutcome,
                       downgrade: bool, all_dialects: bool, tree: ast.Module | None,
                       content: bytes | None) -> None:
        primary = self.dialects[0]
        module = self._load(filename, source, outcome, primary, tree, content)
        if module is None:
            return
        upgrade = getattr(module, "upgrade", None)
        if not callable(upgrade):
            outcome.reason = REASON_NO_UPGRADE
            outcome.detail = "the file defines no upgrade() function"
            return
        for dialect in self.dialects if all_dialects else [primary]:
            run = self._call(module, "upgrade", dialect, filename)
            if isinstance(run, _Failure):
                if dialect == primary:
                    self._fail(outcome, run, filename)
                    return
                outcome.failed[dialect] = run.reason
                outcome.notes.append(f"upgrade() failed on {dialect}: {run.reason}"
                                     + (f" ({run.detail})" if run.detail else ""))
                continue
            outcome.ops[dialect] = list(run.ops)
            outcome.statements.extend(run.statements)
            outcome.notes.extend(run.notes)
            outcome.dialects.append(dialect)
            outcome.phases[dialect] = ["upgrade"]
        outcome.ok = True
        down = getattr(module, "downgrade", None)
        if downgrade and self.sql and callable(down):
            run = self._call(module, "downgrade", primary, filename)
            if isinstance(run, _Failure):
                outcome.notes.append(f"downgrade() did not render: {run.reason}"
                                     + (f" ({run.detail})" if run.detail else ""))
            else:
                outcome.ops[primary].extend(run.ops)
                outcome.statements.extend(run.statements)
                outcome.notes.extend(run.notes)
                outcome.phases[primary].append("downgrade")

    def _load(self, filename: str, source: str | None, outcome: RenderOutcome,
              dialect: str, tree: ast.Module | None = None,
              content: bytes | None = None) -> types.ModuleType | None:
        name = _NON_WORD.sub("_", os.path.basename(filename))
        module = types.ModuleType(name)
        module.__file__ = filename
        try:
            if source is None:
                loader = (importlib.machinery.SourceFileLoader(name, filename) if tree is None
                          else _ParsedLoader(name, filename, tree, content))
                code = loader.get_code(name)
                if code is None:
                    raise ImportError(f"cannot read {filename}")
            else:
                code = compile(source, filename, "exec")
        except SyntaxError as exc:
            outcome.reason = "syntax error"
            outcome.detail = f"{exc.msg}"
            outcome.line = exc.lineno
            return None
        except Exception as exc:  # unreadable
            outcome.reason = type(exc).__name__
            outcome.detail = str(exc)
            return None
        env = self._env(dialect)
        run = _Run(self, dialect, "upgrade", filename)
        try:
            with self._installed(env, run):
                exec(code, module.__dict__)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            self._fail(outcome, self._failure(exc, run, filename, "import"), filename)
            return None
        return module

    def _installed(self, env: _DialectEnv, run: _Run) -> _Installed:
        """``alembic.context`` and ``alembic.op`` point at ``env`` while recording ``run``."""
        return _Installed(self, env, run)

    def _call(self, module: types.ModuleType, phase: str, dialect: str,
              filename: str) -> _Run | _Failure:
        fn = getattr(module, phase)
        env = self._env(dialect)
        run = _Run(self, dialect, phase, filename)
        try:
            calls = self._arguments(fn, module, env)
        except _SignatureError as exc:
            return _Failure(REASON_SIGNATURE, str(exc), None, None)
        try:
            with self._installed(env, run):
                for kwargs in calls:
                    fn(**kwargs)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            failure = self._failure(exc, run, filename, phase)
            if calls and calls[0] and failure.reason not in (REASON_OFFLINE_RAISE,) \
                    and not failure.reason.startswith("ImportError"):
                sig = f"{phase}({', '.join(calls[0])})"
                failure.detail = f"{sig} ran with stand-in arguments: {failure.detail}"
                if failure.line is None and isinstance(exc, TypeError):
                    # the call itself failed: the stand-ins do not fit the signature;
                    # anything raised inside the revision keeps its own reason
                    failure.reason = REASON_SIGNATURE
            return failure
        # reads seen at run time are script facts like the static layer's
        seen: set[int] = set()
        for how, line in run.reads:
            if line is not None and how != _INSPECT_CALL and line not in seen:
                seen.add(line)
                run.ops.append(Op("script.get_bind_read", args={"how": how}, line=line,
                                  phase=phase, source="render"))  # type: ignore[arg-type]
        for op in run.ops:
            sql = run.op_sql.get(id(op))
            if op.kind == "execute" and sql:
                op.sql = ";\n".join(sql)
        return run

    def _arguments(self, fn: Callable[..., Any], module: types.ModuleType,
                   env: _DialectEnv) -> list[dict[str, Any]]:
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
            raise _SignatureError(f"{fn.__name__}{sig} takes positional-only arguments")
        if not required:
            return [{}]
        kwargs: dict[str, Any] = {}
        engines: list[str] = []
        for p in required:
            name = p.name
            if name == "op" or name.endswith("_op") or name == "operations":
                kwargs[name] = env.ops
            elif name in ("conn", "connection", "bind", "engine"):
                kwargs[name] = env.bind
            elif name in ("context", "ctx", "migration_context"):
                kwargs[name] = env.mc
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

    # ---------------------------------------------------------------- failures

    def _failure(self, exc: BaseException, run: _Run, filename: str, phase: str) -> _Failure:
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
        if isinstance(exc, _RenderTimeout):
            raise exc
        imported = _importing_module(tb, filename)
        if isinstance(exc, ImportError):
            return self._import_failure(exc, line, detail, imported)
        if imported:
            top = imported.split(".")[0]
            return _Failure(f"ImportError {top}", f"importing {imported} failed: {detail}",
                            _stub_hint(top), line)
        missing = re.match(r"module '([\w.]+)' has no attribute '(\w+)'", msg)
        if isinstance(exc, AttributeError) and missing and missing.group(1) == "alembic.op":
            name = missing.group(2)
            return _Failure(f"unknown op.{name}", detail,
                            f"op.{name} is not an Alembic operation: the plugin that registers "
                            "it (imported by env.py) is not installed, or it is a typo", line)
        if isinstance(exc, AttributeError) and missing and not _is_trusted(missing.group(1)):
            top = missing.group(1).split(".")[0]
            return _Failure(f"ImportError {top}",
                            f"{detail} (a submodule of the project that was not imported)",
                            _stub_hint(top), line)
        if run.offline_checks and innermost_in_file:
            return _Failure(REASON_OFFLINE_RAISE, detail,
                            "the revision refuses to run offline; it is analysed statically",
                            line)
        if run.reads and isinstance(exc, (AttributeError, TypeError, IndexError, KeyError,
                                          StopIteration, ValueError, LookupError)) \
                or type(exc).__name__ in ("NoResultFound", "MultipleResultsFound"):
            how = run.reads[-1][0] if run.reads else "one"
            return _Failure(REASON_BIND_READS, f"a read through op.get_bind() ({how}) is empty "
                            f"offline, then {detail}",
                            "data read from the database is not available offline; the "
                            "revision is analysed statically", line)
        if innermost_in_file and isinstance(exc, (RuntimeError, NotImplementedError)) \
                and re.search(r"offline|--sql|sql mode|as_sql", msg, re.I):
            return _Failure(REASON_OFFLINE_RAISE, detail,
                            "the revision refuses to run offline; it is analysed statically",
                            line)
        if isinstance(exc, SystemExit):
            return _Failure("SystemExit", detail, None, line)
        return _Failure(type(exc).__name__, detail, None, line)

    def _import_failure(self, exc: ImportError, line: int | None, detail: str,
                        importing: str | None) -> _Failure:
        name = exc.name or ""
        if not name:
            m = re.search(r"No module named '([^']+)'", str(exc))
            name = m.group(1) if m else "?"
        top = name.split(".")[0]
        if importing and importing.split(".")[0] != top:
            # the project module imports something missing: stubbing the project module helps
            top = importing.split(".")[0]
            detail = f"importing {importing} failed: {detail}"
        if top in self.stub_modules:
            return _Failure(f"ImportError {top}", detail, None, line)
        return _Failure(f"ImportError {top}", detail, _stub_hint(top), line)

    def _fail(self, outcome: RenderOutcome, failure: _Failure, filename: str) -> None:
        outcome.ok = False
        outcome.reason = failure.reason
        outcome.detail = failure.detail
        outcome.hint = failure.hint
        outcome.line = failure.line


_NON_WORD = re.compile(r"\W")


class _ParsedLoader(importlib.machinery.SourceFileLoader):
    """Loads a revision like :class:`~importlib.machinery.SourceFileLoader` (bytecode cache
    read and written alike), compiling the tree the static layer parsed instead of parsing
    the source a second time."""

    def __init__(self, fullname: str, path: str, tree: ast.Module,
                 content: bytes | None = None) -> None:
        super().__init__(fullname, path)
        self._tree = tree
        self._content = content

    def get_data(self, path: str) -> bytes:
        if path == self.path and self._content is not None:
            return self._content  # the bytes the tree was parsed from: no second read
        return super().get_data(path)

    def source_to_code(self, data: Any, path: Any, *,  # type: ignore[override]
                       _optimize: int = -1) -> types.CodeType:
        encoding: str | None = "utf-8"  # what Python reads a file without a coding cookie as
        if b"coding" in bytes(data):  # (a cookie is in the first two lines, if anywhere)
            try:
                encoding = tokenize.detect_encoding(io.BytesIO(bytes(data)).readline)[0]
            except SyntaxError:
                encoding = None
        if encoding not in ("utf-8", "utf-8-sig"):
            # the tree was parsed from the UTF-8 text; Python reads this file otherwise
            return super().source_to_code(data, path, _optimize=_optimize)  # type: ignore[call-arg]
        return compile(self._tree, path, "exec", dont_inherit=True, optimize=_optimize)


class _Deadline:
    """Raises :class:`_RenderTimeout` in the block it guards once ``seconds`` have passed
    (main thread, POSIX; elsewhere it does nothing). A class, not a generator: it guards
    every revision."""

    __slots__ = ("seconds", "previous", "armed")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.armed = False

    def _expire(self, signum: int, frame: Any) -> None:
        raise _RenderTimeout(f"rendering took longer than {self.seconds:g}s")

    def __enter__(self) -> None:
        if not hasattr(_signal, "setitimer") or \
                threading.current_thread() is not threading.main_thread():
            return
        self.previous = _signal.signal(_signal.SIGALRM, self._expire)
        _signal.setitimer(_signal.ITIMER_REAL, self.seconds)
        self.armed = True

    def __exit__(self, *exc: Any) -> None:
        if self.armed:
            _signal.setitimer(_signal.ITIMER_REAL, 0)
            _signal.signal(_signal.SIGALRM, self.previous)


class _Installed:
    """What :meth:`Renderer._installed` returns (a class: entered twice per revision)."""

    __slots__ = ("renderer", "env", "run", "prev_ctx", "prev_op")

    def __init__(self, renderer: Renderer, env: _DialectEnv, run: _Run) -> None:
        self.renderer = renderer
        self.env = env
        self.run = run

    def __enter__(self) -> None:
        env = self.env
        self.prev_ctx = environment_context()
        self.prev_op = operations_proxy()
        install_proxy(env.env)
        install_proxy(env.ops)
        env.capture.run = self.run
        self.renderer._run = self.run

    def __exit__(self, *exc: Any) -> None:
        env = self.env
        self.renderer._run = None
        env.capture.run = None
        remove_proxy(env.ops)
        remove_proxy(env.env)
        if self.prev_ctx is not None:
            install_proxy(self.prev_ctx)
        if self.prev_op is not None:
            install_proxy(self.prev_op)


class _SignatureError(Exception):
    pass


@dataclass
class _Failure:
    reason: str
    detail: str | None
    hint: str | None
    line: int | None


def _stub_hint(top: str) -> str:
    if _is_installed(top):
        return (f"'{top}' is installed but fails to import offline; add it to "
                f"[tool.sluice.lint] stub_modules = [\"{top}\"] (or pass --stub {top})")
    return (f"'{top}' is not installed or not on sys.path (prepend_sys_path); add it to "
            f"[tool.sluice.lint] stub_modules = [\"{top}\"] (or pass --stub {top}) so the "
            "revision renders with a stand-in")


def _is_trusted(module: str) -> bool:
    """Alembic, SQLAlchemy and the standard library: never the thing to stub."""
    top = module.split(".")[0]
    return top in ("alembic", "sqlalchemy") or top in getattr(sys, "stdlib_module_names", ())


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

