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


#: A placeholder the reader replaces (``<revision>``, ``<label>@-1``, ``<label>@head``):
#: shown as it is.
_PLACEHOLDER = r"<[a-z]+>(@([-+]?\d+|head|base))?"


def _join(parts: Sequence[str]) -> str:
    return " ".join(p if re.fullmatch(_PLACEHOLDER, p) else shlex.quote(p) for p in parts)


@dataclass(frozen=True)
class AlembicOptions:
    """The options a plain ``alembic`` command line was given before its subcommand
    (``-c``, ``-n``, ``-x``, as given): what the commands a message printed inside that
    run (an autogenerate refusal) repeat, so that they act on the same alembic.ini,
    section, environment and service."""

    #: ``-c`` as given, each time (alembic.ini and pyproject.toml may both be given).
    configs: tuple[str, ...] = ()
    #: ``-n``: the alembic.ini section.
    name: str = "alembic"
    #: ``-x`` as given, in order.
    x_args: tuple[str, ...] = ()

    @classmethod
    def of(cls, alembic_config: object) -> AlembicOptions:
        """The options of the command line behind an Alembic ``Config`` (none under the
        command API, which has no ``cmd_opts``)."""
        opts = getattr(alembic_config, "cmd_opts", None)
        if opts is None:
            return cls()
        configs = getattr(opts, "config", None)
        name = getattr(opts, "name", None)
        return cls(configs=tuple(str(c) for c in ([configs] if isinstance(configs, str)
                                                  else configs or [])),
                   name=name if isinstance(name, str) else "alembic",
                   x_args=tuple(getattr(opts, "x", None) or ()))

    @classmethod
    def parse(cls, words: Sequence[str]) -> AlembicOptions:
        """The options of :meth:`words` read back."""
        configs: list[str] = []
        name, x_args = "alembic", []
        for flag, value in zip(words[::2], words[1::2], strict=False):
            if flag == "-c":
                configs.append(value)
            elif flag == "-n":
                name = value
            elif flag == "-x":
                x_args.append(value)
        return cls(tuple(configs), name, tuple(x_args))

    def words(self) -> tuple[str, ...]:
        """``-c INI -n SECTION -x K=V ...`` (``-n`` left out for ``alembic``)."""
        out: list[str] = []
        for path in self.configs:
            out += ["-c", path]
        if self.name != "alembic":
            out += ["-n", self.name]
        for arg in self.x_args:
            out += ["-x", arg]
        return tuple(out)

    def but(self, *, name: str | None = None, x: Sequence[str] = (),
            without: Sequence[str] = ()) -> AlembicOptions:
        """These options in section ``name``, without the ``-x`` of the keys ``without``,
        with ``x`` added after the others."""
        kept = tuple(a for a in self.x_args if a.partition("=")[0].strip() not in without)
        return replace(self, name=self.name if name is None else name,
                       x_args=kept + tuple(x))

    def alembic_line(self, *words: str, message: bool = False) -> str:
        """``alembic OPTIONS WORDS`` (``message``: then ``-m "..."``, for the reader to
        fill in)."""
        line = " ".join(["alembic", *(_join([w]) for w in (*self.words(), *words))])
        return line + (' -m "..."' if message else "")

    def sluice(self, *words: str) -> str:
        """```sluice WORDS -c INI -n SECTION --env ENV -x K=V``` (in backticks): Sluice's
        command on the same alembic.ini and section, ``-x env=`` as ``--env``."""
        ini = next((c for c in self.configs if not c.endswith(".toml")), DEFAULT_INI)
        return invocation(ini, environment=None, x_args=self.x_args,
                          ini_section=self.name).sluice(*words)
