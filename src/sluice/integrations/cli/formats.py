"""The ``--format`` option of every command, its choices taken from the output registry."""

from __future__ import annotations

from collections.abc import Callable

import click

from sluice.integrations.cli.common import F
from sluice.output.registry import Kind, formats_for


def format_option(kind: Kind, help: str) -> Callable[[F], F]:
    """``--format`` with the formats that render ``kind`` (text by default)."""
    def decorate(fn: F) -> F:
        return click.option(
            "--format", "fmt", type=click.Choice(formats_for(kind)), default="text",
            show_default=True, help=help,
        )(fn)

    return decorate
