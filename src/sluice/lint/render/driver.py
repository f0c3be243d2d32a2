"""The driver: :class:`Renderer` renders one revision after another offline.

It loads each revision inside the :mod:`~sluice.lint.render.sandbox`, calls its
``upgrade()`` (every dialect) and ``downgrade()`` (primary dialect) while the
:mod:`~sluice.lint.render.instrument` layer records them, and turns what went wrong into
a reason through :mod:`~sluice.lint.render.failures`.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sluice.lint.render import failures
from sluice.lint.render.failures import Failure
from sluice.lint.render.instrument import Recorder, Run
from sluice.lint.render.outcome import (
    REASON_DISABLED,
    REASON_NO_UPGRADE,
    REASON_SIGNATURE,
    RenderOutcome,
)
from sluice.lint.render.sandbox import (
    RENDER_TIMEOUT_S,
    Deadline,
    RenderTimeout,
    Sandbox,
    Silenced,
    compile_revision,
)
from sluice.lint.render.standins import SignatureError, StandInBind, stand_in_arguments

__all__ = ["Renderer"]


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
        self.timeout = RENDER_TIMEOUT_S
        self.script_location = str(script_location)
        self.version_locations = [str(v) for v in version_locations]
        self.dialects = list(dialects)
        self.stub_modules = [s for s in stub_modules if s]
        self.sys_path = list(sys_path)
        self.project_root = Path(project_root).resolve() if project_root else None
        self._recorder = Recorder(alembic_cfg, self.script_location, self.version_locations,
                                  sql=sql)
        self._sandbox = Sandbox(script_location=self.script_location,
                                stub_modules=self.stub_modules, sys_path=self.sys_path,
                                project_root=self.project_root, engine=self._engine)

    @property
    def sql(self) -> bool:
        """Compile every operation to SQL. Without it, Alembic's own operations are recorded
        but not compiled (their ``Op`` is what rules need); raw SQL, SQL built from
        SQLAlchemy constructs, bind executes and custom operations are still rendered."""
        return self._recorder.sql

    @sql.setter
    def sql(self, value: bool) -> None:
        self._recorder.sql = value

    def __enter__(self) -> Renderer:
        self._sandbox.enter(self.timeout)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._sandbox.leave()
        self._recorder.envs.clear()

    def _engine(self) -> StandInBind:
        """What ``create_engine`` returns while rendering: the current dialect's bind."""
        run = self._recorder.run
        return self._recorder.env(run.dialect if run is not None else self.dialects[0]).bind

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
            with Deadline(self.timeout), Silenced():
                self._render_module(filename, source, outcome, downgrade, all_dialects,
                                    tree, content)
        except RenderTimeout as exc:
            failures.timed_out(outcome, exc, filename)
        return outcome

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
            if isinstance(run, Failure):
                if dialect == primary:
                    failures.fail(outcome, run)
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
            if isinstance(run, Failure):
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
        try:
            module, code = compile_revision(filename, source, tree, content)
        except Exception as exc:  # a syntax error, an unreadable file
            failures.unreadable(outcome, exc)
            return None
        env = self._recorder.env(dialect)
        run = Run(dialect, "upgrade", filename)
        try:
            with self._recorder.installed(env, run):
                exec(code, module.__dict__)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.fail(outcome, failures.classify(exc, run, filename, self.stub_modules))
            return None
        return module

    def _call(self, module: types.ModuleType, phase: str, dialect: str,
              filename: str) -> Run | Failure:
        fn = getattr(module, phase)
        env = self._recorder.env(dialect)
        run = Run(dialect, phase, filename)
        try:
            calls = stand_in_arguments(fn, module, ops=env.ops, bind=env.bind, context=env.mc)
        except SignatureError as exc:
            return Failure(REASON_SIGNATURE, str(exc), None, None)
        try:
            with self._recorder.installed(env, run):
                for kwargs in calls:
                    fn(**kwargs)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            failure = failures.classify(exc, run, filename, self.stub_modules)
            if calls and calls[0]:
                failure = failures.on_stand_in_arguments(failure, exc, phase, calls[0])
            return failure
        run.finish()
        return run
