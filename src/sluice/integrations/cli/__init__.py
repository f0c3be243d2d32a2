"""The ``sluice`` command: parse, call the library, render, exit code. No logic of its own.

One module per command group, each a few small functions; shared options (``-c/--config``,
``-x``, ``--env``) and error rendering come from :mod:`.common`, the ``--format`` choices
from :mod:`.formats`. :mod:`.app` assembles them into the ``main`` group; the ``sluice``
console script (:func:`sluice.integrations.cli.fast.run`) runs a plain ``sluice lint``
without click and hands every other command line to ``main``. ``main`` is loaded on first
use, so that the write hook and pre-commit entry points (:mod:`sluice.integrations.hooks`) can use
the shared options without loading every command.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sluice.integrations.cli.app import main
    from sluice.integrations.cli.common import describe_exception

__all__ = ["describe_exception", "main"]


def __getattr__(name: str) -> Any:
    if name == "main":
        from sluice.integrations.cli.app import main  # lazy: the hooks load no command

        return main
    if name == "describe_exception":
        from sluice.integrations.cli.common import describe_exception  # lazy: as main

        return describe_exception
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
