"""Questions asked at the terminal while Alembic generates a revision.

The library never prompts: an autogenerate policy that needs a yes or no (is this drop plus
add a rename?) calls the ``confirm`` its :class:`~sluice.policy.base.PolicyContext` was
given, and gets none when no one can answer. The env.py glue gives it :func:`confirm` when
standard input is a terminal and ``CI`` is not set.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from sluice.errors import PolicyViolation


def is_interactive() -> bool:
    """Prompt only on a terminal, and never in CI."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return False
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def confirm(question: str) -> bool:
    """Ask ``question`` on stderr; no by default. An interrupted prompt stops the run."""
    import click  # lazy: env.py imports this module on every alembic command; click only to ask

    try:
        return bool(click.confirm(question, default=False, err=True))
    except (click.Abort, EOFError, KeyboardInterrupt):
        raise PolicyViolation("stopped at the rename prompt; no revision written") from None


def terminal_confirm() -> Callable[[str], bool] | None:
    """:func:`confirm` when someone can answer at a terminal, else None."""
    return confirm if is_interactive() else None
