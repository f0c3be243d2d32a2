"""``sluice fix``: rewrite dangerous operations of hand-written revisions into their safe
recipes (:mod:`sluice.recipes`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sluice.integrations.cli.common import common_options, handle_errors, section_option


@click.command("fix")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@common_options
@section_option
@click.option("--diff", "diff_only", is_flag=True,
              help="Print the diff only, change no file; exit 1 when there is something "
                   "to fix.")
@click.option("--dialect", default=None, metavar="NAME",
              help="The dialect to fix for: postgresql or mysql (default: as sluice lint "
                   "chooses it).")
@click.option("--include-locked", is_flag=True,
              help="Also rewrite revisions sluice.sum records (reviewed history); run "
                   "`sluice lock` afterwards.")
@handle_errors
def fix_command(files: tuple[Path, ...], config_path: Path, x_args: tuple[str, ...],
                env: str | None, ini_section: str, diff_only: bool, dialect: str | None,
                include_locked: bool) -> None:
    """Rewrite dangerous operations into their safe recipes, printing a unified diff.

    FILES: only these revision files (default: every revision not recorded in
    sluice.sum). Each rewritten operation becomes its recipe (docs/recipes.md lists
    them) as ordinary Alembic code; DDL on existing tables gets the
    lock_timeout of --env, else of the production environments. Exit 0 when done (or
    nothing to fix), 1 with --diff when a file would change, 2 when the project cannot
    be read.
    """
    from sluice.config import load_config  # lazy: start-up: loads when the command runs
    from sluice.core.sumfile import section_sum_file  # lazy: start-up: when the command runs
    from sluice.recipes.project import fix_project  # lazy: start-up: loads when the command runs

    cfg = load_config(config_path) if config_path.is_file() else None
    if env is not None and cfg is not None:
        cfg.validate_environment(env, origin="--env")
    from sluice.core.suggest import invocation  # lazy: start-up: loads when the command runs

    given = invocation(config_path, environment=env, x_args=x_args, ini_section=ini_section)
    result = fix_project(config_path, cfg, files=files, dialect=dialect, env=env,
                         x_args=x_args, include_locked=include_locked, write=not diff_only,
                         ini_section=ini_section, given=given)
    for fixed in result.changed:
        sys.stdout.write(fixed.diff())
    lock = given.sluice("lock")
    sum_file = section_sum_file(cfg.check.sum_file if cfg else "sluice.sum", ini_section)
    for path in result.locked:
        if files:
            click.echo(f"{path}: not changed: {sum_file} records it (reviewed history); "
                       f"--include-locked rewrites it, then run {lock}", err=True)
    calls = sum(len(f.fixed) for f in result.changed)
    if calls and result.dialect == "mysql" and (cfg is None
                                                or cfg.lint.target_mysql_version is None):
        result.notes.append(
            "written for MySQL 8.0, assumed: lint.target_mysql_version is unset; on MariaDB "
            'set it (e.g. "mariadb-10.11") and fix again: its forms can run twice '
            "(ADD ... IF NOT EXISTS)")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    recipes = sorted({a.recipe.id for f in result.changed for c in f.fixed for a in c.applied})
    verb = "would rewrite" if diff_only else "rewrote"
    if calls:
        click.echo(f"{verb} {calls} operation{'s' * (calls != 1)} in {len(result.changed)} "
                   f"file{'s' * (len(result.changed) != 1)} for {result.dialect} "
                   f"({', '.join(recipes)})", err=True)
    else:
        locked = (f"; {len(result.locked)} recorded in sluice.sum left alone "
                  "(--include-locked rewrites them)" if result.locked and not files else "")
        click.echo(f"nothing to fix in {len(result.files)} revision "
                   f"file{'s' * (len(result.files) != 1)} for {result.dialect}{locked}",
                   err=True)
    sys.exit(1 if diff_only and calls else 0)
