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

An ordinary file (sections, ``key = value`` lines, comments, blank lines, ``%(name)s``
references) is read without :mod:`configparser` (:class:`PlainIni`, which gives what
``ConfigParser`` gives for such a file); anything else (a value over several lines, a
``[DEFAULT]`` section, a line ``ConfigParser`` refuses, a reference it cannot resolve)
goes to ``ConfigParser``, which reads it or raises its own error.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

from sluice.core.pyproject import may_hold_tool

TYPE_CHECKING = False
if TYPE_CHECKING:
    from configparser import ConfigParser
    from typing import Any

__all__ = ["IniConfig", "PlainIni", "alembic_options", "alembic_version", "boolean_option",
           "light_config"]

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
        self._plain: PlainIni | None | bool = False  # False: not read yet

    @property
    def file_config(self) -> ConfigParser:
        """The parsed file, read on first use (as Alembic's: a broken file raises there)."""
        if self._parser is None:
            from configparser import ConfigParser  # lazy: only for a file PlainIni leaves

            path = Path(self.config_file_name)
            parser = ConfigParser({"here": self._here()})
            parser.read([path], encoding="locale")
            self._parser = parser
        return self._parser

    def _here(self) -> str:
        return Path(self.config_file_name).absolute().parent.as_posix()

    def _plain_ini(self) -> PlainIni | None:
        """The file as :class:`PlainIni` reads it; None when ConfigParser must."""
        if self._plain is False:
            self._plain = None if self._parser is not None else \
                PlainIni.read(self.config_file_name, self._here())
        return self._plain if isinstance(self._plain, PlainIni) else None

    def _has_section(self, section: str) -> bool:
        plain = self._plain_ini()
        return plain.has_section(section) if plain is not None \
            else self.file_config.has_section(section)

    def has_section(self, section: str) -> bool:
        """Whether the file has ``[section]`` (as Alembic's ``file_config`` reads it)."""
        return self._has_section(section)

    def _has_option(self, section: str, name: str) -> bool:
        plain = self._plain_ini()
        return plain.has_option(section, name) if plain is not None \
            else self.file_config.has_option(section, name)

    def _get(self, section: str, name: str) -> str | None:
        """``file_config.get(section, name, fallback=None)``."""
        plain = self._plain_ini()
        if plain is not None:
            value = plain.get(section, name)
            if value is None or isinstance(value, str):  # else UNREAD
                return value
        return self.file_config.get(section, name, fallback=None)

    def get_section_option(self, section: str, name: str,
                           default: str | None = None) -> str | None:
        if not self._has_section(section):
            raise ValueError(f"No config file {self.config_file_name!r} found, or file has "
                             f"no '[{section}]' section")
        if self._has_option(section, name):
            return self._get(section, name)
        return default

    def get_main_option(self, name: str, default: str | None = None) -> str | None:
        return self.get_section_option(self.config_ini_section, name, default)

    def get_alembic_option(self, name: str, default: str | None = None) -> str | None:
        if self._has_option(self.config_ini_section, name):
            return self._get(self.config_ini_section, name)
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
        raw = self._get(self.config_ini_section, "version_locations")
        if not raw:
            return None
        sep = self._separator("path_separator", "version_path_separator")
        if sep is None:  # Alembic's legacy split (it warns)
            return re.split(r", *|(?: +)", raw)
        return [x.strip() for x in raw.split(sep) if x]

    def get_prepend_sys_paths_list(self) -> list[str] | None:
        raw = self._get(self.config_ini_section, "prepend_sys_path")
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
    """The pyproject.toml beside ``ini`` may have a ``[tool.alembic]`` table, in any of
    TOML's spellings (Alembic 1.16+ reads settings from it)."""
    toml = ini.resolve().parent / "pyproject.toml"
    try:
        data = toml.read_bytes()
    except OSError:
        return False
    return may_hold_tool(data, "alembic")


def light_config(ini: str | os.PathLike[str], ini_section: str = "alembic") -> IniConfig | None:
    """An :class:`IniConfig` for ``ini`` when it reads the file as the installed Alembic
    would, else None (build Alembic's ``Config``)."""
    version = alembic_version()
    if version is None or version < SINCE or has_tool_alembic(Path(ini)):
        return None
    return IniConfig(ini, ini_section)


#: :meth:`PlainIni.get`: ConfigParser must answer (it raises, or reads what PlainIni does not).
UNREAD = object()
#: ``configparser.MAX_INTERPOLATION_DEPTH``.
_MAX_DEPTH = 10


class PlainIni:
    """An ini file as ``ConfigParser({"here": here})`` with ``read(path, encoding="locale")``
    reads it (section and option names, values, ``%(name)s`` interpolation), for files
    whose every line is blank, a comment (``#`` or ``;``), a ``[section]`` header or a
    ``key = value`` (or ``key: value``) line, none of them indented, no section or key twice
    and no ``[DEFAULT]``; :meth:`read` returns None for any other file."""

    def __init__(self, sections: dict[str, dict[str, str]], here: str) -> None:
        self.sections = sections
        self.defaults = {"here": here}

    @classmethod
    def read(cls, path: str | os.PathLike[str], here: str) -> PlainIni | None:
        if "%" in here:  # ConfigParser checks the default's syntax; let it
            return None
        try:
            with open(path, encoding="locale") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError):
            return None
        sections: dict[str, dict[str, str]] = {}
        current: dict[str, str] | None = None
        for line in text.split("\n"):
            value = line.strip()
            if not value or value[0] in "#;":
                continue
            if line[0].isspace():  # a continuation line or an indented header
                return None
            if value[0] == "[":
                end = value.rfind("]")
                name = value[1:end]
                if end < 2 or name in sections or name == "DEFAULT":
                    return None
                current = sections[name] = {}
                continue
            delimiter = min((i for i in (value.find("="), value.find(":")) if i >= 0),
                            default=-1)
            key = value[:delimiter].rstrip().lower()
            if current is None or delimiter < 0 or not key or key in current:
                return None
            current[key] = value[delimiter + 1:].strip()
        return cls(sections, here)

    def has_section(self, section: str) -> bool:
        return section in self.sections

    def has_option(self, section: str, option: str) -> bool:
        option = option.lower()
        if not section or section == "DEFAULT":
            return option in self.defaults
        values = self.sections.get(section)
        return values is not None and (option in values or option in self.defaults)

    def get(self, section: str, option: str) -> object:
        """``get(section, option, fallback=None)``; :data:`UNREAD` where ConfigParser
        would raise (a section that does not exist, a reference it cannot resolve)."""
        values = self.sections.get(section)
        if values is None:
            return None if section != "DEFAULT" else self.defaults.get(option.lower())
        option = option.lower()
        value = values.get(option, self.defaults.get(option))
        if value is None or "%" not in value:
            return value
        out: list[str] = []
        return "".join(out) if self._interpolate(values, value, out, 1) else UNREAD

    def _interpolate(self, values: dict[str, str], rest: str, out: list[str],
                     depth: int) -> bool:
        """BasicInterpolation's ``_interpolate_some``: False where it raises."""
        if depth > _MAX_DEPTH:
            return False
        while rest:
            at = rest.find("%")
            if at < 0:
                out.append(rest)
                return True
            out.append(rest[:at])
            rest = rest[at:]
            if rest[1:2] == "%":
                out.append("%")
                rest = rest[2:]
                continue
            end = rest.find(")s")
            name = rest[2:end] if rest[1:2] == "(" and end > 2 else ""
            if not name or ")" in name:  # not %(name)s: a syntax error
                return False
            rest = rest[end + 2:]
            name = name.lower()
            found = values.get(name, self.defaults.get(name))
            if found is None:
                return False
            if "%" in found:
                if not self._interpolate(values, found, out, depth + 1):
                    return False
            else:
                out.append(found)
        return True


_LEGACY_SEPARATORS = {None: None, "space": " ", "newline": "\n", "os": os.pathsep,
                      ":": ":", ";": ";"}


def alembic_options(cfg: Any) -> tuple[str | None, list[str], bool, list[str]]:
    """(script_location, version_locations, recursive, prepend_sys_path) as the installed
    Alembic reads them: its own accessors on 1.16+ (which also read ``[tool.alembic]``),
    the ``[alembic]`` section the way 1.13 to 1.15 split it before that."""
    if hasattr(cfg, "get_alembic_option"):
        return (cfg.get_alembic_option("script_location"),
                list(cfg.get_version_locations_list() or []),
                bool(cfg.get_alembic_boolean_option("recursive_version_locations")),
                list(cfg.get_prepend_sys_paths_list() or []))
    get = cfg.get_main_option
    raw = get("version_locations")
    locations: list[str] = []
    if raw:
        sep = get("version_path_separator")
        if sep not in _LEGACY_SEPARATORS:
            raise ValueError(f"'{sep}' is not a valid value for version_path_separator")
        split = _LEGACY_SEPARATORS[sep]
        locations = [x.strip() for x in (re.split(r", *|(?: +)", raw) if split is None
                                         else raw.split(split)) if x.strip()]
    sys_path = [x for x in re.split(r", *|(?: +)|\:", get("prepend_sys_path") or "") if x]
    return (get("script_location"), locations,
            get("recursive_version_locations") == "true", sys_path)


def boolean_option(cfg: Any, name: str) -> bool:
    if hasattr(cfg, "get_alembic_boolean_option"):
        return bool(cfg.get_alembic_boolean_option(name))
    return str(cfg.get_main_option(name) or "").lower() == "true"  # pragma: no cover
