"""Reading a project's revision files: listed like Alembic lists them, imported one by one.

Alembic's own loader stops at the first revision that fails to import and crashes with a
``KeyError`` on a missing parent. Here every file is loaded on its own, so one broken file
becomes one line naming ``file:line`` and the rest of the history is still checked. The
loaded :class:`~alembic.script.Script` objects are then handed to the project's
:class:`~alembic.script.ScriptDirectory`, so the upgrade that follows does not import
every revision a second time.

Facts that need no import (revision ids, the kind of ``downgrade()``) come from ``ast``.
"""

from __future__ import annotations

import ast
import dis
import os
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from alembic.script import Script, ScriptDirectory
from alembic.script.revision import RevisionMap

DowngradeKind = Literal["ops", "pass", "missing", "raises", "empty"]

_SOURCE_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")


def display_path(path: str | os.PathLike[str], root: Path) -> str:
    """``path`` relative to ``root`` with forward slashes (absolute when outside it)."""
    p = Path(path).resolve()
    try:
        return p.relative_to(root.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def version_locations(script: ScriptDirectory) -> list[Path]:
    """The folders Alembic reads revisions from, that exist."""
    locations = getattr(script, "_version_locations", None)
    if locations is None:  # pragma: no cover - very old Alembic
        locations = [Path(script.dir) / "versions"]
    return [Path(str(p)) for p in locations if Path(str(p)).exists()]


def revision_files(script: ScriptDirectory) -> list[Path]:
    """Every revision source file, in the order and with the rules Alembic uses."""
    seen: set[Path] = set()
    out: list[Path] = []
    recursive = bool(getattr(script, "recursive_version_locations", False))
    for location in version_locations(script):
        for root, dirs, files in os.walk(location):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if not _SOURCE_FILE.match(name):
                    continue
                real = (Path(root) / name).resolve()
                if real not in seen:
                    seen.add(real)
                    out.append(real)
            if not recursive:
                break
    return out


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


def _load_one(script: ScriptDirectory, path: Path) -> Script | None:
    from_path = getattr(Script, "_from_path", None)
    if from_path is not None:
        return from_path(script, path)  # type: ignore[no-any-return]
    return Script._from_filename(script, str(path.parent), path.name)  # type: ignore[attr-defined]  # pragma: no cover


def load_history(script: ScriptDirectory, root: Path) -> LoadedHistory:
    """Import every revision file of ``script`` on its own; collect failures as one-liners."""
    from alembic.script.revision import RevisionError

    history = LoadedHistory(script=script, root=root, files=revision_files(script))
    for path in history.files:
        try:
            loaded = _load_one(script, path)
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


def _literal(node: ast.AST | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _Unknown


class _UnknownType:
    pass


_Unknown: Any = _UnknownType()


@dataclass
class StaticRevision:
    """What a revision file says without importing it."""

    path: Path
    revision: str | None = None
    down_revisions: tuple[str, ...] = ()
    revision_line: int | None = None
    down_revision_line: int | None = None
    branch_labels_line: int | None = None
    #: The module-level assignments could not all be read as literals.
    dynamic: bool = False
    depends_on: tuple[str, ...] = ()
    branch_labels: tuple[str, ...] = ()
    #: (line, message) when the file is not valid Python.
    syntax_error: tuple[int | None, str] | None = None
    #: ``branch_labels`` or ``depends_on`` is not a literal (only an import tells).
    dynamic_links: bool = False
    #: The module docstring (Alembic's ``Script.longdoc``), and ``sluice_phase``.
    doc: str | None = None
    phase: str | None = None


def _as_tuple(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def read_static(path: Path) -> StaticRevision:
    """Revision id and parents of one file, with their lines, from its ``ast``."""
    info = StaticRevision(path=path)
    try:
        source = path.read_bytes()
    except OSError:
        info.dynamic = True
        return info
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        info.syntax_error = (exc.lineno, f"{type(exc).__name__}: {exc.msg}")
        return _read_lines(info, source.decode("utf-8", errors="replace"))
    except ValueError as exc:
        info.syntax_error = (None, f"{type(exc).__name__}: {exc}")
        return _read_lines(info, source.decode("utf-8", errors="replace"))
    info.doc = ast.get_docstring(tree, clean=False)
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.AST | None = None
        if isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            if target.id in ("branch_labels", "depends_on"):
                links = _as_tuple(_literal(value))
                info.dynamic_links = info.dynamic_links or links is None
                if target.id == "branch_labels":
                    info.branch_labels_line = node.lineno
                    info.branch_labels = links or ()
                else:
                    info.depends_on = links or ()
            elif target.id == "sluice_phase":
                phase = _literal(value)
                info.phase = phase if isinstance(phase, str) else None
            if target.id == "revision":
                info.revision_line = node.lineno
                lit = _literal(value)
                if isinstance(lit, str):
                    info.revision = lit
                else:
                    info.dynamic = True
            elif target.id == "down_revision":
                info.down_revision_line = node.lineno
                tup = _as_tuple(_literal(value))
                if tup is None:
                    info.dynamic = True
                else:
                    info.down_revisions = tup
    if info.revision is None:
        info.dynamic = True
    return info


_ASSIGN = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*(?:#.*)?$", re.M)


def _read_lines(info: StaticRevision, text: str) -> StaticRevision:
    """Ids from single-line module assignments, for a file that does not parse."""
    for m in _ASSIGN.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        try:
            value = ast.literal_eval(m.group(2))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            info.dynamic = True
            continue
        if m.group(1) == "revision" and isinstance(value, str):
            info.revision, info.revision_line = value, line
        elif m.group(1) == "down_revision" and _as_tuple(value) is not None:
            info.down_revisions, info.down_revision_line = _as_tuple(value) or (), line
    if info.revision is None:
        info.dynamic = True
    return info


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
    from sluice.lint.rules.script import changes_only_data
    from sluice.lint.static import analyze_file

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
