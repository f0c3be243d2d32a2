"""What every autogenerate policy receives, and the comment op used to annotate scripts."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from alembic.autogenerate import renderers
from alembic.operations import ops as alembic_ops

from sluice.config import SluiceConfig
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


@dataclass
class Allowance:
    """One explicit override, e.g. ``drop_column:users.legacy_field``, and where it came from."""

    pattern: str
    origin: str

    def matches(self, key: str) -> bool:
        return fnmatchcase(key.lower(), self.pattern.lower())


def parse_allowances(x_args: list[str], environ: dict[str, str] | None = None) -> list[Allowance]:
    """Overrides from every ``-x allow=...`` and from ``SLUICE_ALLOW`` (comma separated)."""
    environ = dict(os.environ) if environ is None else environ
    out: list[Allowance] = []
    for arg in x_args:
        key, sep, value = arg.partition("=")
        if sep and key.strip() == "allow":
            for token in value.split(","):
                if token.strip():
                    out.append(Allowance(token.strip(), f"-x allow={token.strip()}"))
    for token in environ.get("SLUICE_ALLOW", "").replace(" ", ",").split(","):
        if token.strip():
            out.append(Allowance(token.strip(), f"SLUICE_ALLOW={token.strip()}"))
    return out


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

    def warn(self, message: str) -> None:
        notice(f"sluice: warning: {message}")

    def info(self, message: str) -> None:
        notice(f"sluice: {message}")

    def allowed_by(self, key: str) -> Allowance | None:
        for allowance in self.allowances:
            if allowance.matches(key):
                return allowance
        return None
