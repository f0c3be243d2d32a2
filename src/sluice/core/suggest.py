"""The command lines Sluice's messages tell the user to run (run it again, review the
plan, read the history, stamp the revision, write the missing migration, lock the revision
files, merge the heads), built from the options the command was run with, so that copying
one acts on the same alembic.ini, section and database: a hint that left out ``--url``
would run against alembic.ini's database instead, one that left out ``-n`` against
another section's revisions.

Every such hint goes through :meth:`Invocation.sluice` (or :meth:`Invocation.alembic`
for plain Alembic: the ``alembic stamp`` of a partial failure, the ``alembic revision
--autogenerate`` of drift). A URL's password never goes into a message: a URL that has
one is shown masked (``***``) and the hint says so.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sluice.core.errors import mask_url

#: The config path ``-c`` defaults to (left out of a suggested command).
DEFAULT_INI = "alembic.ini"


@dataclass(frozen=True)
class Invocation:
    """The options a run was given: repeated in every command a message suggests."""

    #: ``-c``: alembic.ini as given (left out when it is ``alembic.ini`` here).
    ini: str = DEFAULT_INI
    #: ``--env``: the environment the run resolved (from ``--env``, ``-x env``,
    #: ``SLUICE_ENV`` or the default), named explicitly in every suggestion.
    environment: str | None = None
    #: ``--url`` as given (None: the URL came from the configuration or env.py).
    url: str | None = None
    #: ``-x`` arguments as given, ``env=`` left out (it is ``--env``).
    x_args: tuple[str, ...] = ()
    #: ``-n``: the alembic.ini section (left out when it is ``alembic``).
    ini_section: str = "alembic"
    #: Where the URL the run used came from when plain Alembic would not use it: ``--url``,
    #: or the environment's ``url`` setting (as a message names it); empty otherwise.
    via: str = ""

    def sluice(self, *words: str) -> str:
        """```sluice WORDS -c INI -n SECTION --url URL --env ENV -x K=V``` (in backticks),
        followed by a note when the URL's password is masked in it."""
        line, masked = self._sluice(words)
        note = " (*** stands for the password of the URL given with --url)" if masked else ""
        return f"`{line}`{note}"

    def sluice_line(self, *words: str) -> str:
        """The command line of :meth:`sluice` alone (no backticks, no note), for a
        machine format."""
        return self._sluice(words)[0]

    def _sluice(self, words: Sequence[str]) -> tuple[str, bool]:
        parts = ["sluice", *words]
        if self.ini != DEFAULT_INI:
            parts += ["-c", self.ini]
        if self.ini_section != "alembic":
            parts += ["-n", self.ini_section]
        masked = False
        if self.url:
            shown, masked = _shown_url(self.url)
            parts += ["--url", shown]
        if self.environment is not None:
            parts += ["--env", self.environment]
        for arg in self.x_args:
            parts += ["-x", arg]
        return _join(parts), masked

    def alembic(self, *words: str) -> str:
        """```alembic -c INI -n SECTION -x env=ENV -x K=V WORDS``` (in backticks): plain
        Alembic, followed by a warning when the run's URL is one plain Alembic does not
        read (``--url``, the environment's ``url``)."""
        note = ""
        if self.via:
            note = (" (plain Alembic connects where alembic.ini or env.py says, not to "
                    f"{self.via}: make sure that is this database first)")
        return f"`{self.alembic_line(*words)}`{note}"

    def alembic_line(self, *words: str) -> str:
        """The command line of :meth:`alembic` alone (no backticks, no note)."""
        parts = ["alembic", "-c", self.ini]
        if self.ini_section != "alembic":
            parts += ["-n", self.ini_section]
        if self.environment is not None:
            parts += ["-x", f"env={self.environment}"]
        for arg in self.x_args:
            parts += ["-x", arg]
        parts += words
        return _join(parts)

    def in_section(self, section: str) -> Invocation:
        """The same options for another section of the same alembic.ini."""
        return replace(self, ini_section=section)


def invocation(ini: object, *, environment: str | None, url: str | None = None,
               x_args: Sequence[str] = (), ini_section: str = "alembic",
               via: str = "") -> Invocation:
    """The :class:`Invocation` of a command given these options (``x_args`` as given:
    ``env=`` is left out, ``environment`` names it; with no ``environment``, the last
    ``-x env=NAME`` given does)."""
    if environment is None:
        for arg in x_args:
            key, sep, value = arg.partition("=")
            if sep and key == "env":
                environment = value
    return Invocation(ini=str(ini), environment=environment, url=url or None,
                      x_args=tuple(a for a in x_args if a.partition("=")[0] != "env"),
                      ini_section=ini_section, via=via)


def _shown_url(url: str) -> tuple[str, bool]:
    """The URL as a suggestion shows it, and whether its password was masked."""
    masked = mask_url(url)
    if "***" in masked and "***" not in url:
        return masked, True
    return url, False


#: A placeholder the reader replaces (``<revision>``, ``<label>@-1``): shown as it is.
_PLACEHOLDER = re.compile(r"<[a-z]+>(@[-+]?\d+)?")


def _join(parts: Sequence[str]) -> str:
    return " ".join(p if _PLACEHOLDER.fullmatch(p) else shlex.quote(p) for p in parts)
