"""What every autogenerate policy receives, and the comment op used to annotate scripts."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from alembic.autogenerate import renderers
from alembic.operations import ops as alembic_ops

from sluice.config import SluiceConfig
from sluice.core.suggest import AlembicOptions
from sluice.errors import ConfigError
from sluice.notices import notice


class CommentOp(alembic_ops.MigrateOperation):
    """A ``# comment`` line in a generated script; no effect when the script runs."""

    def __init__(self, text: str) -> None:
        self.text = text

    def reverse(self) -> CommentOp:
        return CommentOp(self.text)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ()


@renderers.dispatch_for(CommentOp)
def _render_comment(autogen_context: Any, op: CommentOp) -> str:
    return "\n".join(f"# {line}" if line else "#" for line in op.text.splitlines())


#: The KIND of ``-x allow=KIND:TARGET``: the operations the policies judge
#: (:func:`sluice.core.alembic_ops.to_model`).
ALLOW_KINDS = (
    "add_column", "alter_column", "create_check_constraint", "create_foreign_key",
    "create_index", "create_primary_key", "create_table", "create_unique_constraint",
    "drop_column", "drop_constraint", "drop_index", "drop_table", "execute", "rename_table",
)


@dataclass
class Allowance:
    """One explicit override, e.g. ``drop_column:users.legacy_field``, and where it came from."""

    pattern: str
    origin: str
    #: It allowed an operation of this run.
    used: bool = False

    def matches(self, key: str) -> bool:
        return fnmatchcase(key.lower(), self.pattern.lower())


def parse_allowances(x_args: list[str], environ: dict[str, str] | None = None) -> list[Allowance]:
    """Overrides from every ``-x allow=...`` and from ``SLUICE_ALLOW`` (comma separated).
    A token that is not ``KIND:TARGET`` with a known KIND (globs allowed), or an empty
    ``-x allow=``, is a :class:`~sluice.errors.ConfigError` with a did-you-mean."""
    environ = dict(os.environ) if environ is None else environ
    out: list[Allowance] = []
    for arg in x_args:
        key, sep, value = arg.partition("=")
        if sep and key.strip() == "allow":
            tokens = [t.strip() for t in value.split(",") if t.strip()]
            if not tokens:
                raise ConfigError(f"-x {arg}: no token; write -x allow=KIND:TARGET, "
                                  "e.g. -x allow=drop_column:users.legacy_field")
            out += [_allowance(t, f"-x allow={t}") for t in tokens]
    raw = environ.get("SLUICE_ALLOW", "")
    tokens = [t.strip() for t in raw.replace(" ", ",").split(",") if t.strip()]
    if raw.strip() and not tokens:
        raise ConfigError(f"SLUICE_ALLOW={raw!r}: no token; write KIND:TARGET, comma separated")
    out += [_allowance(t, f"SLUICE_ALLOW={t}") for t in tokens]
    return out


def _allowance(token: str, origin: str) -> Allowance:
    kind, sep, target = token.partition(":")
    kind, target = kind.strip().lower(), target.strip()
    if not sep or not kind or not target:
        raise ConfigError(f"{origin}: not KIND:TARGET (e.g. drop_column:users.legacy_field, "
                          f"drop_table:orders); kinds: {', '.join(ALLOW_KINDS)}")
    if not any(fnmatchcase(k, kind) for k in ALLOW_KINDS):
        close = difflib.get_close_matches(kind, ALLOW_KINDS, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}:{target}? " if close else ""
        raise ConfigError(f"{origin}: unknown operation '{kind}'; {hint}"
                          f"kinds: {', '.join(ALLOW_KINDS)}")
    return Allowance(token, origin)


@dataclass
class PolicyContext:
    config: SluiceConfig
    environment: str
    allowances: list[Allowance] = field(default_factory=list)
    autogenerate: bool = True
    migration_context: Any = None
    #: Lines for the review header, keyed by revision id.
    notes: dict[str, list[str]] = field(default_factory=dict)
    #: Asks the operator a yes/no question; None when no one can answer (no terminal, CI).
    confirm: Callable[[str], bool] | None = None
    #: What :meth:`info` said, told by :meth:`announce` once every policy has passed: a
    #: revision announced and then refused would name files that were never written.
    pending: list[str] = field(default_factory=list)
    #: The options the ``alembic`` command line running env.py was given before its
    #: subcommand (``-c``, ``-n``, ``-x``, as given), repeated by every ``alembic`` (and
    #: ``sluice``) command a refusal suggests (:attr:`given`).
    command_options: tuple[str, ...] = ()

    @property
    def given(self) -> AlembicOptions:
        """:attr:`command_options` as :class:`~sluice.core.suggest.AlembicOptions`, which
        render the commands a refusal suggests: ``ctx.given.alembic_line("merge", ...)``,
        ``ctx.given.sluice("heads")``."""
        return AlembicOptions.parse(self.command_options)

    def allow_command(self, allow: str) -> str:
        """``alembic ... -x allow=ALLOW revision --autogenerate -m "..."``: this run again
        with the override, on the same project, section, environment and service."""
        return self.given.but(x=[f"allow={allow}"]).alembic_line(
            "revision", "--autogenerate", message=True)

    def warn(self, message: str) -> None:
        notice(f"sluice: warning: {message}")

    def info(self, message: str) -> None:
        self.pending.append(f"sluice: {message}")

    def announce(self) -> None:
        """Tell the operator what :meth:`info` collected (the policies all passed)."""
        for message in self.pending:
            notice(message)
        self.pending.clear()

    def allowed_by(self, key: str) -> Allowance | None:
        for allowance in self.allowances:
            if allowance.matches(key):
                allowance.used = True
                return allowance
        return None

    def unused_allowances(self, refused: list[str]) -> list[str]:
        """A line for each override that allowed nothing in this run, with the closest of
        the ``refused`` allow keys: the token has a typo, or names another operation."""
        lines = []
        for allowance in self.allowances:
            if allowance.used:
                continue
            close = difflib.get_close_matches(allowance.pattern.lower(), refused, n=1,
                                              cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            lines.append(f"allow token '{allowance.pattern}' ({allowance.origin}) matched "
                         f"nothing{hint}")
        return lines
