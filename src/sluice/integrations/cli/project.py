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
@click.option("--metadata", default=None, metavar="MODULE:ATTR",
              help="Where target_metadata lives, e.g. myapp.models:Base.metadata.")
@click.option("--url", default=None, help="sqlalchemy.url for a new project.")
@click.option("--dry-run", is_flag=True, help="Show the changes without writing them.")
@handle_errors
def init(directory: Path, metadata: str | None, url: str | None, dry_run: bool) -> None:
    """Create an Alembic project wired to Sluice, or wire an existing one."""
    from sluice.scaffold import init_project  # lazy: start-up: loads when the command runs

    result = init_project(directory, metadata=metadata, url=url, dry_run=dry_run)
    for line in result.messages:
        click.echo(line)
    if result.diff:
        click.echo(result.diff)
