"""``sluice init`` and ``sluice demo``: start a project, or walk through one."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sluice.integrations.cli.common import handle_errors


@click.command()
@click.option("--keep", is_flag=True, help="Keep the temporary project and print its path.")
@handle_errors
def demo(keep: bool) -> None:
    """Walk through every control point on a throwaway copy of examples/shop (SQLite)."""
    from sluice.integrations.demo import run_demo  # lazy: start-up: loads when the command runs

    sys.exit(run_demo(keep=keep))


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("-c", "--config", "config_path", default=None, envvar="ALEMBIC_CONFIG",
              type=click.Path(dir_okay=False, path_type=Path),
              help="The alembic.ini of an existing project to wire (instead of DIRECTORY).")
@click.option("--metadata", default=None, metavar="MODULE:ATTR",
              help="Where target_metadata lives, e.g. myapp.models:Base.metadata.")
@click.option("--url", default=None, help="sqlalchemy.url for a new project.")
@click.option("--dry-run", is_flag=True, help="Show the changes without writing them.")
@handle_errors
def init(directory: Path, config_path: Path | None, metadata: str | None, url: str | None,
         dry_run: bool) -> None:
    """Create an Alembic project wired to Sluice, or wire an existing one.

    DIRECTORY (default: here) holding an alembic.ini is wired; without one a new project
    is created there. -c/--config (or ALEMBIC_CONFIG, as for every command) names the
    alembic.ini to wire instead; a DIRECTORY given on the command line wins over
    ALEMBIC_CONFIG."""
    from sluice.errors import SluiceError  # lazy: start-up: loads when the command runs
    from sluice.scaffold import init_project, wire_existing  # lazy: start-up: as above

    source = click.get_current_context().get_parameter_source
    given = source("directory") == click.core.ParameterSource.COMMANDLINE
    from_env = source("config_path") == click.core.ParameterSource.ENVIRONMENT
    if config_path is not None and given and not from_env:
        raise SluiceError("pass DIRECTORY or -c/--config, not both")
    if config_path is not None and not given:
        if not config_path.is_file():
            origin = "ALEMBIC_CONFIG" if from_env else "-c/--config"
            raise SluiceError(f"{config_path}: no such file ({origin}); sluice init wires "
                              "an existing alembic.ini this way, or creates a project in "
                              "DIRECTORY")
        result = wire_existing(config_path, dry_run=dry_run)
    else:
        result = init_project(directory, metadata=metadata, url=url, dry_run=dry_run)
    for line in result.messages:
        click.echo(line)
    if result.diff:
        click.echo(result.diff)
