"""Locate and open an Alembic project: alembic.ini, its Config and ScriptDirectory."""

from __future__ import annotations

import argparse
import functools
import inspect
import os
import re
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory

from sluice.config import SluiceConfig, load_config
from sluice.errors import SluiceError


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
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def pyproject_for(ini: Path) -> Path | None:
    """The pyproject.toml next to ``ini`` when it has a ``[tool.alembic]`` table and the
    installed Alembic reads one (1.16+): Alembic's CLI reads it too, so settings such as
    ``script_location`` may live there instead of alembic.ini."""
    toml = ini.resolve().parent / "pyproject.toml"
    if not toml.is_file() or "toml_file" not in inspect.signature(Config).parameters:
        return None
    try:
        text = toml.read_text(encoding="utf-8")
    except OSError:
        return None
    return toml if re.search(r"^\s*\[+\s*tool\.alembic\b", text, re.M) else None


def script_directory(cfg: Config) -> ScriptDirectory:
    """Alembic's ScriptDirectory for ``cfg``; its version locations must be readable folders
    (see :func:`require_version_locations`)."""
    try:
        script = ScriptDirectory.from_config(cfg)
    except Exception as exc:
        raise SluiceError(f"{cfg.config_file_name}: {exc}") from None
    require_version_locations(cfg, list(getattr(script, "_version_locations", None)
                                        or [Path(script.dir) / "versions"]))
    return script


def version_locations_key(cfg: Config) -> tuple[str, bool]:
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
        return getter(name) if getter is not None else None  # type: ignore[no-any-return]
    except Exception:
        return None


def require_version_locations(cfg: Config, locations: Sequence[str | os.PathLike[str]]) -> None:
    """Fail closed on a version location that is missing or cannot be read.

    Alembic skips such a folder silently, so every command would see zero revisions and
    pass (lint clean, check green, lock writing an empty sum, upgrade doing nothing). A
    folder that exists and is empty is a fresh project: zero revisions, and that is fine.
    Every command that reads the project comes through here (via :func:`script_directory`
    or the lint engine's layout), so the message is the same everywhere.
    """
    for location in locations:
        path = Path(location)
        try:
            with os.scandir(path):
                pass
            continue
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


def _shown(path: Path, cfg: Config) -> str:
    root = Path(str(cfg.config_file_name or ".")).resolve().parent
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return absolute.as_posix()


def sluice_config_for(ini: str | Path) -> SluiceConfig:
    return load_config(Path(ini))


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
    paths = sysconfig.get_paths()
    return tuple(Path(paths[key]).resolve() for key in ("stdlib", "platstdlib", "purelib",
                                                        "platlib") if paths.get(key))
