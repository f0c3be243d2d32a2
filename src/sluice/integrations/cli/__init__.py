"""The ``sluice`` command: parse, call the library, render, exit code. No logic of its own.

One module per command group, each a few small functions; shared options (``-c/--config``,
``-x``, ``--env``) and error rendering come from :mod:`.common`. This module assembles
them into the ``main`` group (the ``sluice`` console script).
"""

from __future__ import annotations

import click

from sluice.integrations.cli import check, fix, graph, lint, migrate, project, trace
from sluice.integrations.cli.common import SluiceGroup, describe_exception

__all__ = ["describe_exception", "main"]


@click.group(cls=SluiceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="alembic-sluice")
def main() -> None:
    """Sluice: control points for Alembic migrations."""


for _command in (project.demo, project.init, check.check, check.lock, lint.lint,
                 lint.rules_command, fix.fix_command, migrate.plan_command, migrate.upgrade_command,
                 migrate.downgrade_command, migrate.history_command, graph.graph_command,
                 graph.heads_command, trace.trace_command):
    main.add_command(_command)
