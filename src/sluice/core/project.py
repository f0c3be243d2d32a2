"""Locate and open an Alembic project: alembic.ini and ``[tool.alembic]``, its Config and
ScriptDirectory, its script and version locations and ``prepend_sys_path``.

The one place that reads them: every command opens the project through here.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import os
import re
import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sluice.core.alembic_compat import script_version_locations
from sluice.core.errors import SluiceError
from sluice.core.ini import (
    IniConfig,
    alembic_options,
    boolean_option,
    has_tool_alembic,
    light_config,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    #: Alembic's ``Config``, or :class:`~sluice.core.ini.IniConfig` where it reads the same.
    AnyConfig = Config | IniConfig


def alembic_config(
    ini: str | Path,
    *,
    url: str | None = None,
    x_args: Iterable[str] = (),
    stdout: Any = None,
    ini_section: str = "alembic",
) -> Config:
    """Alembic's Config for ``ini``, as ``alembic -c ini [-n SECTION] [-x ...]`` would build it.

    ``url`` overrides ``sqlalchemy.url``. Missing files are a one-line error.
    """
    import argparse  # lazy: only with Alembic's Config (start-up of lint)

    from alembic.config import Config  # lazy: lint starts without Alembic

    path = Path(ini)
    if not path.is_file():
        raise SluiceError(f"{path}: no such file (pass -c/--config PATH to alembic.ini)")
    cmd_opts = argparse.Namespace(x=list(x_args), autogenerate=False)
    kwargs: dict[str, Any] = {"cmd_opts": cmd_opts, "ini_section": ini_section}
    if stdout is not None:
        kwargs["stdout"] = stdout
    toml = pyproject_for(path)
    if toml is not None:
        kwargs["toml_file"] = str(toml)
    cfg = Config(str(path), **kwargs)
    require_section(cfg, path)
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def require_section(cfg: AnyConfig, ini: str | os.PathLike[str]) -> None:
    """Fail closed on an ini section (``-n NAME``) that ``ini`` does not have: a one-line
    :class:`SluiceError` naming the file and the section, listing those that have a
    ``script_location``. ``[alembic]`` is Alembic's default (its settings may come from
    ``[tool.alembic]``), so it is left to the reading of its options."""
    name, path = cfg.config_ini_section, display_path(ini, Path.cwd())
    if name == "alembic":
        return
    try:
        if cfg.has_section(name) if isinstance(cfg, IniConfig) \
                else cfg.file_config.has_section(name):
            return
        parser = cfg.file_config
        sections = ", ".join(s for s in parser.sections()
                             if parser.has_option(s, "script_location"))
    except Exception as exc:  # noqa: BLE001 - configparser's errors, in one line
        raise SluiceError(f"{path}: cannot read: {one_line(exc)}") from None
    raise SluiceError(f"{path}: no section [{name}] (sections with a script_location: "
                      f"{sections or 'none'})",
                      hint="Pass -n/--name one of them (as `alembic -n`), or add the section "
                           "to alembic.ini.")


def pyproject_for(ini: Path) -> Path | None:
    """The pyproject.toml next to ``ini`` when it has a ``[tool.alembic]`` table and the
    installed Alembic reads one (1.16+): Alembic's CLI reads it too, so settings such as
    ``script_location`` may live there instead of alembic.ini."""
    from alembic.config import Config  # lazy: lint starts without Alembic

    toml = ini.resolve().parent / "pyproject.toml"
    if not toml.is_file() or "toml_file" not in inspect.signature(Config).parameters:
        return None
    return toml if has_tool_alembic(ini) else None


def script_directory(cfg: Config) -> ScriptDirectory:
    """Alembic's ScriptDirectory for ``cfg``; its version locations must be readable folders
    (see :func:`require_version_locations`)."""
    from alembic.script import ScriptDirectory  # lazy: lint starts without Alembic


    try:
        script = ScriptDirectory.from_config(cfg)
    except Exception as exc:
        missing = re.match(r"Path doesn't exist: '?(.*?)'?\.\s", one_line(exc) + " ")
        if missing:  # not Alembic's "use the 'init' command": a second, empty project
            raise SluiceError(f"{cfg.config_file_name}: script_location {missing.group(1)}: "
                              "no such folder") from None
        raise SluiceError(f"{cfg.config_file_name}: {one_line(exc)}") from None
    require_version_locations(cfg, script_version_locations(script),
                              recursive=bool(script.recursive_version_locations))
    return script


def section_config(ini: str | os.PathLike[str], name: str = "alembic") -> Config:
    """Alembic's Config for section ``name`` of ``ini`` (``alembic -n NAME``); a section
    that does not exist is a one-line error listing those that have a script_location."""
    return alembic_config(Path(ini), ini_section=name, stdout=io.StringIO())


def refuse_multidb(cfg: AnyConfig, ini: str | os.PathLike[str], command: str) -> None:
    """One-line :class:`SluiceError` for a project made from Alembic's ``multidb``
    template: ``databases = a, b`` in its section, and an env.py that migrates each of
    those databases in one run, which ``command`` (made for one database) cannot guard
    or check."""
    try:
        listed = cfg.get_main_option("databases")
    except Exception:
        return
    names = [n.strip() for n in (listed or "").split(",") if n.strip()]
    if names:
        raise SluiceError(
            f"{display_path(ini, Path.cwd())}: [{cfg.config_ini_section}] databases = "
            f"{', '.join(names)}: "
            f"env.py migrates {len(names)} databases in one run (Alembic's multidb "
            f"template); {command} works on one database and cannot guard or check them",
            hint="Run plain `alembic upgrade` for this project (sluice lint reads it), or "
                 "give each database its own Alembic project (its own alembic.ini or "
                 "section, `alembic -n NAME`).")


@dataclass
class Locations:
    """Where an Alembic project keeps its revisions, read from its Config the way the
    installed Alembic reads them (without building a ScriptDirectory)."""

    script_location: Path
    version_locations: list[Path]
    recursive: bool
    #: ``prepend_sys_path``, each entry resolved from the working directory and, when
    #: relative, from the folder of alembic.ini too.
    sys_path: list[str]
    sourceless: bool
    #: ``sqlalchemy.url`` (alembic.ini, else ``[tool.alembic]``).
    url: str | None


def layout_config(ini: str | os.PathLike[str], *, x_args: Iterable[str] = (),
                  ini_section: str = "alembic") -> AnyConfig:
    """What :func:`read_locations` reads section ``ini_section`` of ``ini`` with:
    :class:`~sluice.core.ini.IniConfig` where it reads the file as the installed Alembic
    would (no Alembic import), else Alembic's own ``Config`` (:func:`alembic_config`).
    Missing files and sections are a one-line error."""
    path = Path(ini)
    if not path.is_file():
        raise SluiceError(f"{path}: no such file (pass -c/--config PATH to alembic.ini)")
    light = light_config(path, ini_section)
    if light is None:
        return alembic_config(path, x_args=x_args, ini_section=ini_section)
    require_section(light, path)
    return light


def read_locations(cfg: AnyConfig, ini: str | os.PathLike[str]) -> Locations:
    """Script location, version locations (split on ``path_separator``),
    ``recursive_version_locations``, ``sourceless``, ``prepend_sys_path`` and
    ``sqlalchemy.url`` of ``cfg``; one-line :class:`SluiceError` when broken, and a version
    location that cannot be read fails closed (:func:`require_version_locations`).

    A project whose alembic.ini sits next to env.py without a ``script_location``
    (Flask-Migrate) has its scripts in that folder."""
    ini = Path(ini)
    root = ini.resolve().parent
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            script_location, locations, recursive, sys_path = alembic_options(cfg)
            sourceless = boolean_option(cfg, "sourceless")
            url = cfg.get_main_option("sqlalchemy.url")
            if not url and hasattr(cfg, "get_alembic_option"):
                url = cfg.get_alembic_option("sqlalchemy.url")  # [tool.alembic]
    except SluiceError:
        raise
    except Exception as exc:
        raise SluiceError(f"{ini}: cannot read: {' '.join(str(exc).split())}") from None
    if not script_location:
        if (root / "env.py").is_file():
            script_location = str(root)  # Flask-Migrate keeps alembic.ini next to env.py
        else:
            raise SluiceError(f"{ini}: [{cfg.config_ini_section}] script_location is not set")
    paths: list[str] = []
    for p in sys_path:
        paths.append(str(Path(p).resolve()))
        if not Path(p).is_absolute():
            alt = str((root / p).resolve())
            if alt not in paths:
                paths.append(alt)
    key = "script_location"
    try:
        script_dir = _resolve_location(str(script_location), root, paths)
        key = "version_locations"
        if locations:
            version_locations = [_resolve_location(str(v), root, paths) for v in locations]
        else:
            version_locations = [script_dir / "versions"]
    except SluiceError as exc:
        raise SluiceError(f"{ini}: {key} {exc.message}", hint=exc.hint) from None
    if not script_dir.is_dir():
        raise SluiceError(f"{ini}: script_location {script_location}: no such folder")
    require_version_locations(cfg, version_locations, recursive=recursive)
    return Locations(script_location=script_dir, version_locations=version_locations,
                     recursive=recursive, sys_path=paths, sourceless=sourceless, url=url)


def _resolve_location(value: str, root: Path, search: list[str]) -> Path:
    path = Path(value)
    if not os.path.isabs(value) and ":" in value:  # a package resource, ``pkg:folder``
        path = _package_folder(value, search)
    if path.is_absolute():
        return path
    cwd_path = path.resolve()
    if cwd_path.exists():
        return cwd_path
    return (root / path).resolve()


def _package_folder(value: str, search: list[str]) -> Path:
    """The folder a package resource (``myapp:migrations``, Alembic's other form of
    ``script_location`` and ``version_locations``) names: the package as Python finds it
    with ``prepend_sys_path`` (``search``) in front of ``sys.path``, as Alembic puts it
    there, then each part after it. The package itself is not run (the parents of a
    dotted one are imported, as Python must to find it); one-line error when it is not
    found."""
    import importlib.util  # lazy: only for a package resource

    package, *parts = value.split(":")
    added = [p for p in search if p not in sys.path]
    sys.path[:0] = added
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError) as exc:
        raise SluiceError(f"{value}: cannot find package {package}: "
                          f"{' '.join(str(exc).split())}") from None
    finally:
        for p in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(p)
    if spec is None:
        where = "prepend_sys_path or sys.path" if search else "sys.path (prepend_sys_path " \
                                                                 "is not set)"
        raise SluiceError(f"{value}: no package {package} on {where}",
                          hint="Install the package, or set prepend_sys_path in alembic.ini "
                               "to the folder that holds it (Alembic needs the same).")
    found = list(spec.submodule_search_locations or [])
    base = Path(found[0]) if found else Path(str(spec.origin)).parent
    return base.joinpath(*parts)


def version_locations_key(cfg: AnyConfig) -> tuple[str, bool]:
    """Where the version locations of ``cfg`` come from (``FILE: [SECTION] KEY``), and
    whether it is Alembic's default (``versions/`` below ``script_location``)."""
    ini = Path(str(cfg.config_file_name or "alembic.ini")).name
    section = f"{ini}: [{cfg.config_ini_section}]"
    toml = getattr(cfg, "toml_file_name", None)
    toml_section = f"{Path(str(toml)).name}: [tool.alembic]" if toml else section
    if _option(cfg.get_main_option, "version_locations"):
        return f"{section} version_locations", False
    if toml and _option(getattr(cfg, "get_alembic_option", None), "version_locations"):
        return f"{toml_section} version_locations", False
    where = section if _option(cfg.get_main_option, "script_location") else toml_section
    return f"{where} script_location", True


def _option(getter: Any, name: str) -> str | None:
    try:
        return getter(name) if getter is not None else None
    except Exception:
        return None


def require_version_locations(cfg: AnyConfig, locations: Sequence[str | os.PathLike[str]],
                              *, recursive: bool = False) -> None:
    """Fail closed on a version location that is missing or cannot be read, or that holds
    no revision file while its sub-folders hold some (``recursive``: they count).

    Alembic skips such a folder silently, so every command would see zero revisions and
    pass (lint clean, check green, lock writing an empty sum, upgrade doing nothing). A
    folder that exists and is empty is a fresh project: zero revisions, and that is fine;
    one whose revisions sit in sub-folders (one per dialect, say, picked by env.py at run
    time, which Sluice does not run to find them) is not.
    Every command that reads the project comes through here (via :func:`script_directory`
    or the lint engine's layout), so the message is the same everywhere.
    """
    for location in locations:
        path = Path(location)
        try:
            with os.scandir(path) as entries:
                nested = [] if recursive else _nested_revisions(entries)
            if not nested:
                continue
            key, _ = version_locations_key(cfg)
            raise SluiceError(
                f"{key}: {_shown(path, cfg)} holds no revision file, but its sub-folders "
                f"{', '.join(n + '/' for n in nested)} do; Sluice stops instead of passing on "
                "zero revisions",
                hint="Name the sub-folder in version_locations (a service or dialect of its "
                     "own: an alembic.ini section each, `-n SECTION`), or set "
                     "recursive_version_locations = true. A version_locations env.py sets at "
                     "run time is not read.")
        except FileNotFoundError:
            why = "does not exist"
        except NotADirectoryError:
            why = "is not a folder"
        except PermissionError:
            why = "cannot be read (permission denied)"
        except OSError as exc:
            why = f"cannot be read ({exc.strerror or exc})"
        key, default = version_locations_key(cfg)
        what = f"{_shown(path, cfg)} (its versions folder)" if default else _shown(path, cfg)
        raise SluiceError(
            f"{key}: {what} {why}; Sluice stops instead of passing on zero revisions",
            hint="Correct the path (Alembic reads a relative path from the current "
                 "directory) or create the folder; run Sluice from the folder of alembic.ini "
                 "or pass -c/--config.")



def _nested_revisions(entries: Iterable[os.DirEntry[str]]) -> list[str]:
    """The sub-folders holding revision files at any depth (Alembic's date-based
    ``file_template`` nests two deep), when the folder itself holds no ``.py`` file; a
    file counts when it names a ``down_revision`` (a helper module does not)."""
    folders = []
    for entry in entries:
        if entry.name.endswith((".py", ".pyc")) and entry.name != "__init__.py" \
                and entry.is_file():
            return []
        if entry.is_dir() and entry.name != "__pycache__" and not entry.name.startswith("."):
            folders.append(entry.path)
    return sorted(os.path.basename(f) for f in folders if _holds_revisions(f))


def _holds_revisions(folder: str) -> bool:
    for root, dirs, files in os.walk(folder, onerror=lambda _: None):
        dirs[:] = [d for d in dirs if d != "__pycache__" and not d.startswith(".")]
        for name in files:
            if name.endswith(".py") and name != "__init__.py":
                with contextlib.suppress(OSError), \
                        open(os.path.join(root, name), "rb") as fh:
                    if b"down_revision" in fh.read(16384):
                        return True
    return False


def require_revisions(cfg: AnyConfig, script: ScriptDirectory, *,
                      doing: str = "deploying") -> list[Path]:
    """The revision files of ``script``; none at all is a one-line :class:`SluiceError`
    for a command that deploys or gates (``doing``: what it would do with zero)."""
    from sluice.core.history import script_revision_files  # lazy: history imports this module

    files = script_revision_files(script)
    if not files:
        key, default = version_locations_key(cfg)
        shown = ", ".join(_shown(Path(loc), cfg) for loc in script_version_locations(script))
        what = f"{shown} (its versions folder)" if default else shown
        raise SluiceError(
            f"{key}: no revision files in {what}; Sluice stops instead of {doing} zero "
            "revisions",
            hint="Point the setting at the folder that holds the revision files; a new "
                 "project writes its first one with `alembic revision -m \"...\"`.")
    return files


def require_history(cfg: AnyConfig, script: ScriptDirectory) -> list[Path]:
    """The revision files of ``script``, for a command that deploys: fail closed on none
    at all (:func:`require_revisions`), on two files declaring one id, on a down_revision
    no file declares and on a cycle, each a one-line :class:`SluiceError` naming the file
    and line.

    Alembic keeps one of two files declaring the same id (with a warning), so an upgrade
    would apply either; a broken link would surface as a message about the database or
    as Alembic's bare ``KeyError``. Nothing is imported: the headers are read from source.
    """
    from sluice.core.history import build_map, read_header  # lazy: history imports this module

    files = require_revisions(cfg, script)
    root = Path(str(cfg.config_file_name or ".")).resolve().parent
    build_map([read_header(path) for path in files], strict=True, root=root)
    return files


def one_line(exc: BaseException) -> str:
    """``exc``'s message on one line (configparser's errors quote the offending line
    on lines of their own)."""
    return " ".join(str(exc).split())


def _shown(path: Path, cfg: AnyConfig) -> str:
    root = Path(str(cfg.config_file_name or ".")).resolve().parent
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return absolute.as_posix()


def forget_modules(root: str | Path) -> None:
    """Drop modules imported from files under ``root`` so that edited code is re-imported,
    and modules named like a package or module at the top of ``root`` (imported earlier
    from another copy of the project), which would otherwise shadow this one's.

    Installed packages stay, even in a virtualenv inside ``root`` (``project/.venv``):
    importing them again would re-run their import-time registrations (SQLAlchemy 2.0
    fails with "Type <class 'object'> is already registered")."""
    root = Path(root).resolve()
    local = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()} if root.is_dir() else set()
    local |= {p.stem for p in root.glob("*.py")} if root.is_dir() else set()
    for name, module in list(sys.modules.items()):
        if name.split(".", 1)[0] in local:
            del sys.modules[name]
            continue
        file = getattr(module, "__file__", None)
        if file and is_project_file(file, root):
            del sys.modules[name]


def is_project_file(file: str | Path, root: Path) -> bool:
    """``file`` is under ``root`` (resolved) and is not part of an installed package
    (``site-packages``/``dist-packages``) or of the standard library."""
    try:
        path = Path(file).resolve()
        path.relative_to(root)
    except (ValueError, OSError):
        return False
    if {"site-packages", "dist-packages"} & set(path.parts):
        return False
    return not any(path.is_relative_to(lib) for lib in _library_dirs())


@functools.lru_cache(maxsize=1)
def _library_dirs() -> tuple[Path, ...]:
    import sysconfig  # lazy: only to tell project code from installed libraries

    paths = sysconfig.get_paths()
    return tuple(Path(paths[key]).resolve() for key in ("stdlib", "platstdlib", "purelib",
                                                        "platlib") if paths.get(key))


def display_path(path: str | os.PathLike[str], root: Path) -> str:
    """``path`` relative to ``root`` with forward slashes (absolute when outside it)."""
    p = Path(path).resolve()
    try:
        return p.relative_to(root.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def where_in_project(exc: BaseException, root: str | os.PathLike[str]) -> str | None:
    """``path:line`` (relative to the working folder) of the innermost place under
    ``root`` an exception came from: a syntax error's own position, else the deepest
    traceback frame in a file there. None when it came from elsewhere."""
    import traceback  # lazy: only on an error

    base = Path(root).resolve()
    if isinstance(exc, SyntaxError) and exc.filename and is_project_file(exc.filename, base):
        return f"{display_path(exc.filename, Path.cwd())}:{exc.lineno or 0}"
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if is_project_file(frame.filename, base):
            return f"{display_path(frame.filename, Path.cwd())}:{frame.lineno}"
    return None
