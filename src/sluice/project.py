"""Locate and open an Alembic project: alembic.ini, its Config and ScriptDirectory."""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from collections.abc import Iterable
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
    try:
        return ScriptDirectory.from_config(cfg)
    except Exception as exc:
        raise SluiceError(f"{cfg.config_file_name}: {exc}") from None


def sluice_config_for(ini: str | Path) -> SluiceConfig:
    return load_config(Path(ini))


def forget_modules(root: str | Path) -> None:
    """Drop modules imported from files under ``root`` so that edited code is re-imported,
    and modules named like a package or module at the top of ``root`` (imported earlier
    from another copy of the project), which would otherwise shadow this one's."""
    root = Path(root).resolve()
    local = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()} if root.is_dir() else set()
    local |= {p.stem for p in root.glob("*.py")} if root.is_dir() else set()
    for name, module in list(sys.modules.items()):
        if name.split(".", 1)[0] in local:
            del sys.modules[name]
            continue
        file = getattr(module, "__file__", None)
        if not file:
            continue
        try:
            Path(file).resolve().relative_to(root)
        except ValueError:
            continue
        del sys.modules[name]
