"""Reading a project's revision files: listed like Alembic lists them, imported one by one.

Alembic's own loader stops at the first revision that fails to import and crashes with a
``KeyError`` on a missing parent. Here every file is loaded on its own, so one broken file
becomes one line naming ``file:line`` and the rest of the history is still checked. The
loaded :class:`~alembic.script.Script` objects are then handed to the project's
:class:`~alembic.script.ScriptDirectory`, so the upgrade that follows does not import
every revision a second time.

The files are listed by :func:`sluice.core.history.script_revision_files`; facts that need
no import (revision ids: :func:`sluice.core.history.read_header`, the kind of
``downgrade()``) come from ``ast``.
"""

from __future__ import annotations

import ast
import dis
import os
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from alembic.script.revision import RevisionError, RevisionMap

from sluice.core.alembic_compat import load_script
from sluice.core.history import script_revision_files
from sluice.core.project import display_path
from sluice.lint.static import analyze_file

if TYPE_CHECKING:  # imported where used: sluice lint reads sluice.sum through this module
    from alembic.script import Script, ScriptDirectory

DowngradeKind = Literal["ops", "pass", "missing", "raises", "empty"]

@dataclass
class LoadError:
    """A revision file that could not be loaded, reduced to one line."""

    path: Path
    line: int | None
    message: str
    kind: str = "import-error"


@dataclass
class LoadedHistory:
    """The revision files of a project and what loading them produced."""

    script: ScriptDirectory
    root: Path
    files: list[Path] = field(default_factory=list)
    scripts: list[Script] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    #: The ScriptDirectory now reads its revisions from ``scripts`` (see :func:`adopt`).
    adopted: bool = False

    def rel(self, path: str | os.PathLike[str]) -> str:
        return display_path(path, self.root)

    def by_id(self) -> dict[str, list[Script]]:
        out: dict[str, list[Script]] = {}
        for s in self.scripts:
            out.setdefault(s.revision, []).append(s)
        return out


def _error_line(exc: BaseException, path: Path) -> int | None:
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == path:
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            if Path(frame.filename).resolve() == path:
                line = frame.lineno
        except (OSError, ValueError):  # pragma: no cover - odd frame names
            continue
    return line


def describe_error(exc: BaseException) -> str:
    """``Type: first line of the message`` (database errors: the driver's message)."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip()
    if isinstance(exc, SyntaxError):
        text = exc.msg
    first = text.splitlines()[0] if text else ""
    return f"{type(inner).__name__}: {first}" if first else type(inner).__name__


def load_history(script: ScriptDirectory, root: Path) -> LoadedHistory:
    """Import every revision file of ``script`` on its own; collect failures as one-liners."""
    history = LoadedHistory(script=script, root=root, files=script_revision_files(script))
    for path in history.files:
        try:
            loaded = load_script(script, path)
        except RevisionError as exc:
            history.errors.append(LoadError(path, None, str(exc), kind="bad-revision"))
            continue
        except AttributeError as exc:
            if "down_revision" in str(exc):
                history.errors.append(LoadError(
                    path, None, "no module-level 'down_revision' variable", kind="bad-revision"))
                continue
            history.errors.append(LoadError(path, _error_line(exc, path), describe_error(exc)))
            continue
        except Exception as exc:
            history.errors.append(LoadError(path, _error_line(exc, path), describe_error(exc)))
            continue
        if loaded is not None:
            history.scripts.append(loaded)
    return history


def adopt(history: LoadedHistory) -> None:
    """Make the ScriptDirectory use the already imported scripts (no second import)."""
    scripts = list(history.scripts)

    def generator() -> Iterator[Script]:
        return iter(scripts)

    history.script.revision_map = RevisionMap(generator)
    history.adopted = True


# --------------------------------------------------------------------------- static facts


@dataclass
class DowngradeFact:
    """What a revision's ``downgrade()`` does, from the static layer (never imported)."""

    #: ``ops``, ``pass`` (also an empty body), ``missing``, ``raises`` (an explicit
    #: irreversible marker) or ``empty`` (code runs, but no operation is visible).
    kind: DowngradeKind
    line: int | None
    #: Operations the static layer sees in ``upgrade()``.
    upgrade_ops: int
    #: ``upgrade()`` only changes data (nothing in the schema for a downgrade to undo).
    data_only: bool = False


def _trivial(body: list[ast.stmt]) -> bool:
    """Only ``pass``, docstrings and ``...``."""
    return all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr)
               and isinstance(s.value, ast.Constant)) for s in body)


def _quick_kind(tree: ast.Module) -> tuple[str, int | None]:
    """(``missing``, ``pass``, ``maybe-raises`` or ``ops``; line of ``def downgrade``)."""
    functions = {n.name: n for n in tree.body
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    fn = functions.get("downgrade")
    if fn is None:
        return "missing", None
    if _trivial(fn.body):
        return "pass", fn.lineno
    if any(isinstance(n, ast.Raise) for n in ast.walk(fn)):
        return "maybe-raises", fn.lineno
    return "ops", fn.lineno


_NOOP_OPS = {"RESUME", "NOP", "CACHE", "RETURN_VALUE", "RETURN_CONST"}


def _code_kind(module: Any) -> tuple[str, int | None] | None:
    """The same verdict as :func:`_quick_kind`, from the imported ``downgrade`` function's
    bytecode (no file read); None when it cannot tell."""
    fn = getattr(module, "downgrade", None)
    if fn is None:
        return "missing", None
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    trivial = True
    for ins in dis.get_instructions(code):
        if ins.opname == "RAISE_VARARGS":
            return "maybe-raises", code.co_firstlineno
        if ins.opname in _NOOP_OPS or (ins.opname == "LOAD_CONST" and ins.argval is None):
            continue
        trivial = False
    return ("pass" if trivial else "ops"), code.co_firstlineno


def downgrade_fact(path: str | os.PathLike[str], module: Any = None) -> DowngradeFact:
    """The ``script.downgrade`` fact of :func:`sluice.lint.static.analyze_file`.

    The full static analysis runs only when it can change the answer (the downgrade is
    missing, does nothing, or raises somewhere); a downgrade with code and no ``raise``
    is ``ops`` either way, and most revisions are that.
    """
    quick = _code_kind(module) if module is not None else None
    if quick is None:
        try:
            tree = ast.parse(Path(path).read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, OSError):
            return DowngradeFact(kind="ops", line=None, upgrade_ops=0)
        quick = _quick_kind(tree)
    kind, line = quick
    if kind == "ops":
        return DowngradeFact(kind="ops", line=line, upgrade_ops=0)
    from sluice.rules.lint._script import changes_only_data  # lazy: start-up (every lint rule)

    result = analyze_file(Path(path))
    for op in result.ops:
        if op.kind == "script.downgrade":
            kind = str(op.args.get("kind", "ops"))
            return DowngradeFact(
                kind=kind if kind in ("ops", "pass", "missing", "raises", "empty")
                else "ops",  # type: ignore[arg-type]
                line=op.line, upgrade_ops=int(op.args.get("upgrade_ops") or 0),
                data_only=changes_only_data(op.args.get("upgrade_detail")))
    # unparsable: nothing is known, so nothing is claimed
    return DowngradeFact(kind="ops", line=None, upgrade_ops=0)
