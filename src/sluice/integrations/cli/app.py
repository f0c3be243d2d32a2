"""The ``main`` group (the ``sluice`` console script): every command group assembled."""

from __future__ import annotations

import click

from sluice.integrations.cli import check, fix, graph, lint, migrate, project, trace
from sluice.integrations.cli.common import SluiceGroup

__all__ = ["main"]


@click.group(cls=SluiceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="alembic-sluice")
def main() -> None:
    """Sluice: control points for Alembic migrations."""


for _command in (project.demo, project.init, check.check, check.lock, lint.lint,
                 lint.rules_command, fix.fix_command, migrate.plan_command, migrate.upgrade_command,
                 migrate.downgrade_command, migrate.history_command, graph.graph_command,
                 graph.heads_command, trace.trace_command):
    main.add_command(_command)
