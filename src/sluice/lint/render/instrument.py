"""Instrumentation: what a revision does offline, recorded as it happens.

One :class:`Recorder` per lint run holds an ``as_sql`` Alembic context per dialect, with
``Operations.invoke``, ``batch_alter_table``, ``autocommit_block`` and
``is_offline_mode`` wrapped so that every operation becomes an :class:`~sluice.lint.model.Op`
and every statement written to the output buffer a :class:`RenderedStatement`, both with
the line of the revision file that caused them (a :class:`Run` per revision, dialect and
phase).
"""

from __future__ import annotations

import contextlib
import re
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from alembic.operations import BatchOperations, Operations
from alembic.operations.batch import BatchOperationsImpl
from alembic.operations.ops import CreateTableOp, ExecuteSQLOp
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from alembic.util import immutabledict
from sqlalchemy import text
from sqlalchemy.exc import CompileError
from sqlalchemy.sql.elements import TextClause

from sluice.core.alembic_compat import (
    environment_context,
    install_proxy,
    operations_proxy,
    remove_proxy,
)
from sluice.core.alembic_ops import to_model
from sluice.lint.model import Op
from sluice.lint.render.outcome import RenderedStatement
from sluice.lint.render.standins import INSPECT_CALL, StandInBind
from sluice.lint.render.stubs import Stub

__all__ = ["Capture", "DialectEnv", "Installed", "Recorder", "Run"]


class Capture:
    """The ``output_buffer`` of every offline context: one record per statement."""

    def __init__(self, run: Run | None = None) -> None:
        self.run = run

    def write(self, text: str) -> int:
        run = self.run
        if run is not None:
            run.statement(text)
        return len(text)

    def flush(self) -> None:
        return None


_TXN = re.compile(r"^\s*(BEGIN|COMMIT|START TRANSACTION|ROLLBACK)\s*;?\s*$", re.I)


class Run:
    """Recording state for one revision, one dialect, one phase."""

    def __init__(self, dialect: str, phase: str, filename: str) -> None:
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



    def finish(self) -> None:
        """Reads seen at run time become script facts like the static layer's; each
        ``execute`` op gets the SQL it emitted."""
        seen: set[int] = set()
        for how, line in self.reads:
            if line is not None and how != INSPECT_CALL and line not in seen:
                seen.add(line)
                self.ops.append(Op("script.get_bind_read", args={"how": how}, line=line,
                                   phase=self.phase, source="render"))  # type: ignore[arg-type]
        for op in self.ops:
            sql = self.op_sql.get(id(op))
            if op.kind == "execute" and sql:
                op.sql = ";\n".join(sql)


# --------------------------------------------------------------------------- operations


TOLERATED_IMPL_METHODS = (
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
    return (not isinstance(operation, ExecuteSQLOp)
            and type(operation).__module__.startswith("alembic."))


def to_op(operation: Any, phase: str, in_batch: bool, name: str | None = None) -> Op:
    """The :class:`Op` for an invoked Alembic operation (generic for unmodelled ones)."""
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
class DialectEnv:
    """The instrumented offline context of one dialect."""

    name: str
    env: Any
    mc: Any
    ops: Any
    bind: StandInBind
    capture: Capture


class Recorder:
    """The instrumented offline contexts (one per dialect, made on first use and reused)
    and the :class:`Run` being recorded, if any.

    ``sql``: compile every operation to SQL. Without it, Alembic's own operations are
    recorded but not compiled (their ``Op`` is what rules need); raw SQL, SQL built from
    SQLAlchemy constructs, bind executes and custom operations are still rendered.
    """

    def __init__(self, alembic_cfg: Any, script_location: str | Path,
                 version_locations: Sequence[str | Path], *, sql: bool) -> None:
        self.cfg = alembic_cfg
        self.script_location = str(script_location)
        self.version_locations = [str(v) for v in version_locations]
        self.sql = sql
        self.envs: dict[str, DialectEnv] = {}
        self.run: Run | None = None

    def env(self, dialect: str) -> DialectEnv:
        """The offline context of ``dialect``, instrumented (made once, then reused)."""
        env = self.envs.get(dialect)
        if env is not None:
            return env
        script = ScriptDirectory(self.script_location,
                                 version_locations=self.version_locations or None)
        capture = Capture()
        ectx = EnvironmentContext(self.cfg, script, as_sql=True)
        ectx.configure(dialect_name=dialect, output_buffer=cast(Any, capture), literal_binds=True,
                       target_metadata=None)
        mc = ectx.get_context()
        ops = Operations(mc)
        bind = StandInBind(mc.dialect, self.bind_emit, self.bind_read)
        mc.connection = cast(Any, bind)
        mc.impl.connection = cast(Any, bind)
        self._instrument(ectx, mc, ops)
        env = DialectEnv(dialect, ectx, mc, ops, bind, capture)
        self.envs[dialect] = env
        return env

    def _instrument(self, ectx: Any, mc: Any, ops: Any) -> None:
        recorder = self

        def make_invoke(target: Any, base: Callable[[Any, Any], Any],
                        in_batch: bool) -> Callable[[Any], Any]:
            def invoke(operation: Any) -> Any:
                run = recorder.run
                if run is None:
                    return base(target, operation)
                caller = sys._getframe(1).f_code.co_name  # the op method: its public name
                model = to_op(operation, run.phase, in_batch or run.batch > 0,
                               caller.removeprefix("batch_"))
                model.line = run.line()
                model.in_autocommit = run.autocommit > 0
                run.ops.append(model)
                if isinstance(getattr(operation, "sqltext", None), Stub):
                    run.notes.append(f"line {model.line}: SQL built by a stubbed module is "
                                     "unknown offline")
                    return None
                if not recorder.sql and _skip_dispatch(operation):
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

        ops.invoke = make_invoke(ops, Operations.invoke, False)

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
            run = recorder.run
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
            run = recorder.run
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
            if recorder.run is not None:
                recorder.run.offline_checks += 1
            return bool(base_offline())

        ectx.is_offline_mode = is_offline_mode

        impl = mc.impl
        for name in TOLERATED_IMPL_METHODS:
            method = getattr(impl, name, None)
            if method is not None:
                setattr(impl, name, self._tolerant(name, method))

    def _tolerant(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kw: Any) -> Any:
            try:
                return method(*args, **kw)
            except (CompileError, NotImplementedError, AssertionError) as exc:
                run = self.run
                if run is None:
                    raise
                line = run.line()
                msg = " ".join(str(exc).split()) or type(exc).__name__
                run.notes.append(f"line {line}: {name} has no {run.dialect} SQL offline: "
                                 f"{type(exc).__name__}: {msg}")
                return None
        return call

    def bind_emit(self, statement: Any, parameters: Any) -> None:
        run = self.run
        if run is None:
            return
        env = self.envs[run.dialect]
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

    def bind_read(self, how: str) -> None:
        if self.run is not None:
            self.run.read(how)

    def installed(self, env: DialectEnv, run: Run) -> Installed:
        """``alembic.context`` and ``alembic.op`` point at ``env`` while recording ``run``."""
        return Installed(self, env, run)


class Installed:
    """What :meth:`Recorder.installed` returns (a class: entered twice per revision)."""

    __slots__ = ("recorder", "env", "run", "prev_ctx", "prev_op")

    def __init__(self, recorder: Recorder, env: DialectEnv, run: Run) -> None:
        self.recorder = recorder
        self.env = env
        self.run = run

    def __enter__(self) -> None:
        env = self.env
        self.prev_ctx = environment_context()
        self.prev_op = operations_proxy()
        install_proxy(env.env)
        install_proxy(env.ops)
        env.capture.run = self.run
        self.recorder.run = self.run

    def __exit__(self, *exc: Any) -> None:
        env = self.env
        self.recorder.run = None
        env.capture.run = None
        remove_proxy(env.ops)
        remove_proxy(env.env)
        if self.prev_ctx is not None:
            install_proxy(self.prev_ctx)
        if self.prev_op is not None:
            install_proxy(self.prev_op)
