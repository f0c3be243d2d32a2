"""Which dialects a project runs on, and so which dialects its revisions are linted for.

In order: an explicit list (``--dialect``, the ``dialects`` argument of
:func:`~sluice.lint.engine.lint_project`) for every revision; else a version location whose
folder is named after a dialect (``postgresql``/``postgres``/``pg``, ``mysql``/``mariadb``,
``sqlite``) is linted for that dialect, and every other revision for ``lint.dialects``
when set, else for the dialect of the URL Alembic would use (``-x url=...``, then
``sqlalchemy.url`` in alembic.ini or ``[tool.alembic]``; when env.py sets the URL from an
environment variable, that variable). A missing URL, an unset variable or Alembic's
placeholder (``driver://user:pass@localhost/dbname``) names no dialect. Only when nothing
names one are all three linted, and :attr:`DialectChoice.note` says how to set it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sluice.errors import SluiceError
from sluice.lint.model import DIALECTS

__all__ = ["ALIASES", "DialectChoice", "choose_dialects", "context_dialect", "normalise",
           "url_dialect"]

ALIASES = {"postgres": "postgresql", "pg": "postgresql", "mariadb": "mysql",
           "postgresql": "postgresql", "mysql": "mysql", "sqlite": "sqlite"}

#: What the coverage line says about where the dialects came from.
ORIGIN_ARGUMENT = "--dialect"
ORIGIN_CONFIG = "lint.dialects"
ORIGIN_NONE = "no dialect named"

NOTE_UNNAMED = ("note: nothing names this project's database (lint.dialects, "
                "sqlalchemy.url), so every dialect's rules ran; name yours in {where} "
                'dialects = ["postgresql"]')


def url_dialect(url: str | None) -> str | None:
    """The Sluice dialect of a SQLAlchemy URL; None when it names none (or a placeholder)."""
    if not url or "%(" in url or "${" in url:
        return None
    # what SQLAlchemy's make_url(url).get_backend_name() gives: the scheme before any
    # "+driver" (without importing SQLAlchemy)
    name = url.split(":", 1)[0].split("+", 1)[0]
    return ALIASES.get(name.lower())


def normalise(values: Iterable[str], origin: str) -> list[str]:
    """Canonical dialect names, in order, without repeats; unknown names are an error."""
    out: list[str] = []
    for v in values:
        d = ALIASES.get(v.strip().lower())
        if d is None:
            raise SluiceError(f"{origin}: unknown dialect '{v}' (valid: "
                              + ", ".join(DIALECTS) + ")")
        if d not in out:
            out.append(d)
    return out


def x_url(x_args: Iterable[str]) -> str | None:
    """``-x url=...`` (or ``-x sqlalchemy.url=...``), the way env.py recipes take a URL."""
    for arg in x_args:
        key, sep, value = arg.partition("=")
        if sep and key.strip().lower() in ("url", "sqlalchemy.url", "db_url", "database_url"):
            return value.strip()
    return None


_SETS_URL = (r"set_main_option\(\s*['\"]sqlalchemy\.url['\"]|"
             r"create_(?:async_)?engine\(\s*(?:os\.)?(?:environ|getenv)")
_ENV_VAR = r"(?:environ\[\s*|environ\.get\(\s*|getenv\(\s*)['\"](\w+)['\"]"


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled on first use (only env.py files are searched)."""
    return re.compile(pattern)


def env_py_url(script_dir: Path, environ: Mapping[str, str]) -> tuple[bool, str | None, str]:
    """Whether env.py takes the URL from an environment variable (so ``sqlalchemy.url``
    is not the one Alembic uses), the URL when such a variable is set in ``environ``, and
    where it came from (``$DATABASE_URL``)."""
    try:
        text = (script_dir / "env.py").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False, None, ""
    names = _compiled(_ENV_VAR).findall(text)
    if not names or not _compiled(_SETS_URL).search(text):
        return False, None, ""
    for name in names:
        value = environ.get(name)
        if value and url_dialect(value) is not None:
            return True, value, f"${name}"
    return True, None, f"${names[0]}"


@dataclass
class DialectChoice:
    """The dialects each revision is linted for."""

    #: Dialects of every revision outside a dialect-named version location, primary first.
    dialects: list[str]
    #: Where they came from: ``--dialect``, ``lint.dialects``, ``sqlalchemy.url``,
    #: ``-x url`` or ``no dialect named``.
    origin: str
    #: Version locations named after a dialect -> that dialect.
    by_location: dict[Path, str] = field(default_factory=dict)

    @property
    def named(self) -> bool:
        return self.origin != ORIGIN_NONE

    def for_location(self, location: Path | None) -> list[str]:
        if location is not None and location in self.by_location:
            return [self.by_location[location]]
        return self.dialects

    def all(self) -> list[str]:
        """Every dialect linted somewhere, primary first."""
        out = list(self.dialects)
        for d in self.by_location.values():
            if d not in out:
                out.append(d)
        return out

    def describe(self, used: Iterable[Path | None] | None = None, *,
                 root: Path | None = None) -> str:
        """``postgresql (sqlalchemy.url)``; ``sqlite in migrations/sqlite (folder name)``.
        ``used``: the version locations of the revisions linted (default: all)."""
        locations = set(used) if used is not None else None
        parts: list[str] = []
        if locations is None or any(loc not in self.by_location for loc in locations):
            parts.append(f"{', '.join(self.dialects)} ({self.origin})")
        for loc, d in self.by_location.items():
            if locations is None or loc in locations:
                shown = loc
                if root is not None:
                    try:
                        shown = loc.relative_to(root)
                    except ValueError:
                        shown = loc
                parts.append(f"{d} in {shown.as_posix()} (folder name)")
        return "; ".join(parts)

    def note(self, used: Iterable[Path | None], *,
             where: str = "pyproject.toml: [tool.sluice.lint]") -> str | None:
        """One line saying how to name the project's dialect, when nothing named the
        dialect of some revision linted (``used``: their version locations; ``where``: the
        configuration file and its lint table, as the project spells them)."""
        if self.named or all(loc in self.by_location for loc in used):
            return None
        return NOTE_UNNAMED.format(where=where)


def choose_dialects(*, explicit: Sequence[str] | None, configured: Sequence[str],
                    url: str | None, url_origin: str = "sqlalchemy.url",
                    locations: Sequence[Path] = ()) -> DialectChoice:
    """See the module docstring. ``explicit``: ``--dialect`` (narrowed to ``configured``
    when those overlap); ``configured``: ``lint.dialects``; ``url``: the URL Alembic would
    use; ``locations``: the version locations."""
    from_url = url_dialect(url)
    if explicit:
        chosen = normalise(explicit, ORIGIN_ARGUMENT)
        allowed = normalise(configured, "tool.sluice.lint.dialects")
        chosen = [d for d in chosen if d in allowed] or chosen
        return DialectChoice(_primary_first(chosen, from_url), ORIGIN_ARGUMENT)
    by_location = {loc: ALIASES[loc.name.lower()] for loc in locations
                   if loc.name.lower() in ALIASES}
    if configured:
        chosen = normalise(configured, "tool.sluice.lint.dialects")
        return DialectChoice(_primary_first(chosen, from_url), ORIGIN_CONFIG, by_location)
    if from_url is not None:
        return DialectChoice([from_url], url_origin, by_location)
    if by_location and len(set(by_location.values())) == 1:
        # every dialect-named folder names the same one: that is the project's dialect
        (only,) = set(by_location.values())
        return DialectChoice([only], "folder name", by_location)
    return DialectChoice(list(DIALECTS), ORIGIN_NONE, by_location)


def _primary_first(dialects: list[str], primary: str | None) -> list[str]:
    if primary in dialects:
        return [primary, *[d for d in dialects if d != primary]]
    return dialects


def policy_dialects(configured: Sequence[str], migration_context: object) -> list[str | None]:
    """The dialects the autogenerate policies judge: ``lint.dialects`` when set (the
    database autogenerate compares against may be a local stand-in for production), else
    the dialect of that database; ``[None]`` (dialect-neutral rules only) when neither
    is known."""
    if configured:
        return list(normalise(configured, "tool.sluice.lint.dialects"))
    return [context_dialect(migration_context)]


def context_dialect(migration_context: object) -> str | None:
    """The Sluice dialect of an Alembic ``MigrationContext`` (autogenerate compares
    against a real database, so its dialect is the one the project runs on)."""
    name = getattr(getattr(migration_context, "dialect", None), "name", None)
    return ALIASES.get(str(name).lower()) if name else None
