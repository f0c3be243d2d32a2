"""alembic.ini read with :mod:`configparser`, the way the installed Alembic's ``Config``
reads it, without importing Alembic.

``import alembic`` imports SQLAlchemy and Alembic's runtime: on a small machine that is
most of the time a static ``sluice lint`` takes. What reading a project's layout needs
from alembic.ini (``script_location``, ``version_locations`` split on ``path_separator``,
``recursive_version_locations``, ``sourceless``, ``prepend_sys_path``,
``sqlalchemy.url``, with ``%(here)s``) is a few ``ConfigParser`` calls, made here exactly
as Alembic 1.16 and later make them. :func:`light_config` gives :class:`IniConfig` only
where its answers are Alembic's own: an installed Alembic of 1.16 or later (whose ``Config``
this class follows) and no ``[tool.alembic]`` table in the pyproject.toml beside the ini
(Alembic reads that too; then the caller builds Alembic's own ``Config``).
``tests/test_ini.py`` compares both on the same files.
"""

from __future__ import annotations

import importlib.util
import os
import re
from configparser import ConfigParser
from pathlib import Path

__all__ = ["IniConfig", "alembic_version", "light_config"]

#: The first Alembic whose ``Config`` :class:`IniConfig` reads like (``path_separator``,
#: ``get_alembic_option``, ``[tool.alembic]``).
SINCE = (1, 16)

_SEPARATORS = {"space": " ", "newline": "\n", "os": os.pathsep, ":": ":", ";": ";"}


class IniConfig:
    """The part of Alembic's ``Config`` that reading a project's layout uses, for an
    ini file whose settings are all in its ``[alembic]`` (or ``ini_section``) section."""

    toml_file_name: str | None = None

    def __init__(self, ini: str | os.PathLike[str], ini_section: str = "alembic") -> None:
        self.config_file_name = os.fspath(ini)
        self.config_ini_section = ini_section
        self._parser: ConfigParser | None = None

    @property
    def file_config(self) -> ConfigParser:
        """The parsed file, read on first use (as Alembic's: a broken file raises there)."""
        if self._parser is None:
            path = Path(self.config_file_name)
            parser = ConfigParser({"here": path.absolute().parent.as_posix()})
            parser.read([path], encoding="locale")
            self._parser = parser
        return self._parser

    def get_section_option(self, section: str, name: str,
                           default: str | None = None) -> str | None:
        if not self.file_config.has_section(section):
            raise ValueError(f"No config file {self.config_file_name!r} found, or file has "
                             f"no '[{section}]' section")
        if self.file_config.has_option(section, name):
            return self.file_config.get(section, name)
        return default

    def get_main_option(self, name: str, default: str | None = None) -> str | None:
        return self.get_section_option(self.config_ini_section, name, default)

    def get_alembic_option(self, name: str, default: str | None = None) -> str | None:
        if self.file_config.has_option(self.config_ini_section, name):
            return self.file_config.get(self.config_ini_section, name)
        return default

    def get_alembic_boolean_option(self, name: str) -> bool:
        return self.get_alembic_option(name) == "true"

    def _separator(self, *names: str) -> str | None:
        for name in names:
            value = self.get_main_option(name)
            if value is not None:
                break
        else:
            return None
        try:
            return _SEPARATORS[value]
        except KeyError:
            raise ValueError(f"'{value}' is not a valid value for {name}; expected "
                             "'space', 'newline', 'os', ':', ';'") from None

    def get_version_locations_list(self) -> list[str] | None:
        raw = self.file_config.get(self.config_ini_section, "version_locations",
                                   fallback=None)
        if not raw:
            return None
        sep = self._separator("path_separator", "version_path_separator")
        if sep is None:  # Alembic's legacy split (it warns)
            return re.split(r", *|(?: +)", raw)
        return [x.strip() for x in raw.split(sep) if x]

    def get_prepend_sys_paths_list(self) -> list[str] | None:
        raw = self.file_config.get(self.config_ini_section, "prepend_sys_path",
                                   fallback=None)
        if not raw:
            return None
        sep = self._separator("path_separator")
        if sep is None:  # Alembic's legacy split (it warns)
            return re.split(r", *|(?: +)|\:", raw)
        return [x.strip() for x in raw.split(sep) if x]


def alembic_version() -> tuple[int, ...] | None:
    """The installed Alembic's version, read from its ``__init__.py`` without importing
    it; None when it cannot be read."""
    try:
        spec = importlib.util.find_spec("alembic")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None or not spec.origin.endswith("__init__.py"):
        return None
    try:
        with open(spec.origin, encoding="utf-8") as fh:
            found = re.search(r"""^__version__\s*=\s*["'](\d+)\.(\d+)""", fh.read(), re.M)
    except OSError:
        return None
    return (int(found[1]), int(found[2])) if found else None


def has_tool_alembic(ini: Path) -> bool:
    """The pyproject.toml beside ``ini`` has a ``[tool.alembic]`` table (Alembic 1.16+
    reads settings from it)."""
    toml = ini.resolve().parent / "pyproject.toml"
    try:
        text = toml.read_text(encoding="utf-8")
    except OSError:
        return False
    return re.search(r"^\s*\[+\s*tool\.alembic\b", text, re.M) is not None


def light_config(ini: str | os.PathLike[str], ini_section: str = "alembic") -> IniConfig | None:
    """An :class:`IniConfig` for ``ini`` when it reads the file as the installed Alembic
    would, else None (build Alembic's ``Config``)."""
    version = alembic_version()
    if version is None or version < SINCE or has_tool_alembic(Path(ini)):
        return None
    return IniConfig(ini, ini_section)
