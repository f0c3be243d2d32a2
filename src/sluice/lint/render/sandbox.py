"""The sandbox a revision runs in: nothing it does reaches outside the lint run.

:class:`Sandbox` prepends ``prepend_sys_path``, installs the stub finder, imports the
Alembic plugins env.py imports, makes ``create_engine`` return the stand-in bind, and on
leaving restores all of it and forgets the project modules the revisions imported (so
edited helpers are re-imported next time). Each revision is compiled by
:func:`compile_revision`, runs with its standard streams silenced (:class:`Silenced`:
``input()`` fails at once) and under a :class:`Deadline`.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.machinery
import importlib.util
import io
import os
import re
import sys
import threading
import tokenize
import types
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy
import sqlalchemy.engine

from sluice.core.project import is_project_file
from sluice.lint.render.standins import StandInBind
from sluice.lint.render.stubs import StubFinder, is_trusted

try:
    # signal.signal() without the enum conversions around it (once per revision)
    import _signal
except ImportError:  # pragma: no cover - not CPython
    import signal as _signal

__all__ = ["RENDER_TIMEOUT_S", "Deadline", "ParsedLoader", "RenderTimeout", "Sandbox",
           "Silenced", "compile_revision"]

#: Seconds one revision may take to render before it falls back to the static layer.
RENDER_TIMEOUT_S = 10.0


class RenderTimeout(BaseException):
    """Raised by the alarm; a BaseException so that ``except Exception`` cannot swallow it."""


class Sandbox:
    """Isolation for one lint run: :meth:`enter` before the first revision, :meth:`leave`
    after the last. ``engine`` gives the stand-in bind ``create_engine`` returns."""

    def __init__(self, *, script_location: str, stub_modules: Sequence[str],
                 sys_path: Sequence[str], project_root: Path | None,
                 engine: Callable[[], StandInBind]) -> None:
        self.script_location = script_location
        self.stub_modules = list(stub_modules)
        self.sys_path = list(sys_path)
        self.project_root = project_root
        self.engine = engine
        self._patched: list[tuple[Any, str, Any]] = []
        self._saved_path: list[str] | None = None
        self._finder: StubFinder | None = None
        self._hidden: dict[str, types.ModuleType] = {}
        self._modules_before: set[str] = set()

    def enter(self, timeout: float) -> None:
        """Isolate; importing env.py's plugins may take ``timeout`` seconds each."""
        self._patch_engines()
        self._modules_before = set(sys.modules)
        self._saved_path = list(sys.path)
        sys.path[:0] = [p for p in self.sys_path if p not in sys.path[: len(self.sys_path)]]
        if self.stub_modules:
            self._finder = StubFinder(self.stub_modules)
            sys.meta_path.insert(0, self._finder)
            for name in list(sys.modules):
                if self._finder.matches(name):
                    self._hidden[name] = sys.modules.pop(name)
        self._import_env_plugins(timeout)

    def _import_env_plugins(self, timeout: float) -> None:
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
            if is_trusted(top) or top == "sluice" or "alembic" not in name.lower() or (
                    self._finder is not None and self._finder.matches(name)):
                continue
            try:
                spec = importlib.util.find_spec(top)
            except (ImportError, ValueError):
                continue
            origin = getattr(spec, "origin", None) if spec is not None else None
            if not origin or self._in_project(origin):
                continue
            with contextlib.suppress(Exception, RenderTimeout), \
                    Deadline(timeout), warnings.catch_warnings(), \
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

    def leave(self) -> None:
        """Undo :meth:`enter`: stubs, ``sys.path``, project modules, engines."""
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
        self._unpatch_engines()

    def _patch_engines(self) -> None:
        """Engines a revision creates are stand-ins: linting never connects anywhere."""
        def fake_engine(*args: Any, **kw: Any) -> StandInBind:
            return self.engine()

        self._patched = []
        for mod in (sqlalchemy, sqlalchemy.engine):
            for name in ("create_engine", "engine_from_config"):
                original = getattr(mod, name, None)
                if original is not None:
                    self._patched.append((mod, name, original))
                    setattr(mod, name, fake_engine)

    def _unpatch_engines(self) -> None:
        for mod, name, original in self._patched:
            setattr(mod, name, original)
        self._patched = []

    def _forget_new_modules(self) -> None:
        root = Path(self.project_root).resolve() if self.project_root is not None else None
        #: folder -> it resolves inside the project (one resolve per folder, not per module:
        #: what the lint itself imports meanwhile, sqlglot's dozens of modules, is elsewhere)
        inside: dict[str, bool] = {}
        for name in set(sys.modules) - self._modules_before:
            module = sys.modules.get(name)
            if module is None:
                continue
            if getattr(module, "__sluice_stub__", False):
                del sys.modules[name]
                continue
            file = getattr(module, "__file__", None)
            if not file or root is None:
                continue
            folder = os.path.dirname(file)
            near = inside.get(folder)
            if near is None:
                near = inside[folder] = _resolves_inside(folder, root)
            if (near or os.path.islink(file)) and is_project_file(file, root):
                del sys.modules[name]  # installed packages stay (see forget_modules)



def _resolves_inside(folder: str, root: Path) -> bool:
    """``folder`` (resolved) is ``root`` or inside it."""
    try:
        return Path(folder).resolve().is_relative_to(root)
    except OSError:
        return True  # let is_project_file decide


class Silenced:
    """A revision's standard streams go nowhere and ``input()`` fails at once; warnings
    are ignored. A class, not a generator: it guards every revision."""

    __slots__ = ("streams", "warnings")

    def __enter__(self) -> None:
        sink = io.StringIO()
        self.streams = sys.stdin, sys.stdout, sys.stderr
        sys.stdin = io.StringIO()  # input() in a revision fails instead of waiting
        sys.stdout = sys.stderr = sink
        self.warnings = warnings.catch_warnings()
        self.warnings.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc: Any) -> None:
        try:
            self.warnings.__exit__(*exc)
        finally:
            sys.stdin, sys.stdout, sys.stderr = self.streams


_NON_WORD = re.compile(r"\W")


def compile_revision(filename: str, source: str | None, tree: ast.Module | None = None,
                     content: bytes | None = None) -> tuple[types.ModuleType, types.CodeType]:
    """An empty module for the revision and its code (``source`` if given, else the file,
    from its bytecode cache or ``tree``). Raises :class:`SyntaxError` or what reading
    raised."""
    name = _NON_WORD.sub("_", os.path.basename(filename))
    module = types.ModuleType(name)
    module.__file__ = filename
    if source is None:
        loader = (importlib.machinery.SourceFileLoader(name, filename) if tree is None
                  else ParsedLoader(name, filename, tree, content))
        code = loader.get_code(name)
        if code is None:
            raise ImportError(f"cannot read {filename}")
    else:
        code = compile(source, filename, "exec")
    return module, code


class ParsedLoader(importlib.machinery.SourceFileLoader):
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
            return super().source_to_code(data, path, _optimize=_optimize)
        return compile(self._tree, path, "exec", dont_inherit=True, optimize=_optimize)


class Deadline:
    """Raises :class:`RenderTimeout` in the block it guards once ``seconds`` have passed
    (main thread, POSIX; elsewhere it does nothing). A class, not a generator: it guards
    every revision."""

    __slots__ = ("seconds", "previous", "armed")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.armed = False

    def _expire(self, signum: int, frame: Any) -> None:
        raise RenderTimeout(f"rendering took longer than {self.seconds:g}s")

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
