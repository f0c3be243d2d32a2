"""The ``--format`` option of every command, its choices taken from the output registry.

Every command imports this module: it reads the registry's metadata only (format names and
the results they render); the renderers, and the finding types behind them, load when a
command writes its output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from sluice.integrations.cli.common import F
from sluice.output.registry import formats_for

if TYPE_CHECKING:
    from sluice.output.registry import Kind


def format_option(kind: Kind, help: str) -> Callable[[F], F]:
    """``--format`` with the formats that render ``kind`` (text by default)."""
    def decorate(fn: F) -> F:
        return click.option(
            "--format", "fmt", type=click.Choice(formats_for(kind)), default="text",
            show_default=True, help=help,
        )(fn)

    return decorate


def json_text(data: Any) -> str:
    """A command's JSON report (the encoder loads only for ``--format json``)."""
    from sluice.output.jsonout import json_text as encode  # lazy: start-up of every command

    return encode(data)
