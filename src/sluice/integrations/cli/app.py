"""The ``main`` group (the ``sluice`` console script): every command group assembled.

The commands are listed by name and module; a command's module is imported when the
command is looked up (click's lazy-group pattern), so ``sluice upgrade`` loads the
migration commands and not the lint, check or graph ones. ``--help`` still lists them all
(listing imports each, for its short help).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

import click

from sluice.integrations.cli.common import SluiceGroup

__all__ = ["COMMANDS", "main"]

#: Every command: its name, the module that defines it and the name it has there.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("project", "demo"),
    "init": ("project", "init"),
    "check": ("check", "check"),
    "lock": ("check", "lock"),
    "lint": ("lint", "lint"),
    "rules": ("lint", "rules_command"),
    "fix": ("fix", "fix_command"),
    "plan": ("migrate", "plan_command"),
    "upgrade": ("migrate", "upgrade_command"),
    "downgrade": ("migrate", "downgrade_command"),
    "history": ("migrate", "history_command"),
    "graph": ("graph", "graph_command"),
    "heads": ("graph", "heads_command"),
    "trace": ("trace", "trace_command"),
}


class LazyCommands(MutableMapping[str, click.Command]):
    """``main``'s commands by name, each imported on first access."""

    def __init__(self, names: dict[str, tuple[str, str]]) -> None:
        self._names = dict(names)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        command = self._loaded.get(name)
        if command is None:
            module, attr = self._names[name]  # KeyError: no such command
            command = getattr(importlib.import_module(f"sluice.integrations.cli.{module}"),
                              attr)
            assert isinstance(command, click.Command)
            self._loaded[name] = command
        return command

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command
        self._names.setdefault(name, ("", ""))

    def __delitem__(self, name: str) -> None:
        del self._names[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@click.group(cls=SluiceGroup, commands=LazyCommands(COMMANDS),
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="alembic-sluice")
def main() -> None:
    """Sluice: control points for Alembic migrations."""
