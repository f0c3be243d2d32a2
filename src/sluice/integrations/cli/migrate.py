"""The guarded runs: ``sluice plan``, ``upgrade``, ``downgrade`` and ``history``."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sluice.integrations.cli.common import (
    F,
    RevisionCommand,
    common_options,
    few_collections,
    handle_errors,
    section_option,
)
from sluice.integrations.cli.formats import format_option, json_text

if TYPE_CHECKING:
    from sluice.errors import SluiceError


def _url_option(fn: F) -> F:
    return click.option(
        "--url", default=None, metavar="URL",
        help="Database URL (default: the environment's url, then sqlalchemy.url).",
    )(fn)


@click.command("plan", cls=RevisionCommand)
@click.argument("revision", default="head")
@common_options
@section_option
@_url_option
@click.option("--downgrade", is_flag=True, help="Plan a downgrade to REVISION.")
@click.option("--no-sql", is_flag=True, help="Leave out the SQL preview.")
@format_option("plan", "Output format (json: stdout only).")
@handle_errors
def plan_command(revision: str, config_path: Path, x_args: tuple[str, ...], env: str | None,
                 ini_section: str, url: str | None, downgrade: bool, no_sql: bool,
                 fmt: str) -> None:
    """What `sluice upgrade REVISION` would do: revisions, operations, risk, table sizes, SQL.

    Exit 1 when the environment's guards would refuse the plan, or the upgrade would stop
    on its configuration (a required backup without a backup_command)."""
    from sluice.runner.api import make_plan  # lazy: start-up: loads when the command runs

    plan = make_plan(config_path, target=revision, downgrade=downgrade, env=env, url=url,
                     x_args=x_args, with_sql=not no_sql, ini_section=ini_section)
    if fmt == "json":
        click.echo(json_text(plan.as_dict()), nl=False)
    else:
        click.echo(plan.render(sql=not no_sql))
    if plan.refusals or plan.blockers:
        sys.exit(1)


def _confirm_plan(plan: Any) -> bool:
    click.echo(plan.render(), err=True)
    click.echo("", err=True)
    verb = "apply" if plan.direction == "upgrade" else "run"
    return click.confirm(f"{verb} this {plan.direction} on {plan.environment}?",
                         default=False, err=True)


@contextmanager
def kept_dataclass_code() -> Iterator[None]:
    """The runner's dataclasses defined with the methods compiled by earlier runs
    (:mod:`.codecache`): their text is not parsed again in every process."""
    from sluice.integrations.cli import codecache  # lazy: only while the runner loads

    cache = codecache.install()
    try:
        yield
    finally:
        codecache.uninstall(cache)


def _migrate(direction: str, revision: str, config_path: Path, x_args: tuple[str, ...],
             env: str | None, url: str | None, yes: bool, dry_run: bool, sql: bool, fmt: str,
             allow_downgrade: bool = False, ini_section: str = "alembic") -> None:
    # nothing is frozen for the interpreter's exit: env.py and the revisions are modules
    # Alembic loads itself (not in sys.modules), so only the collector's passes on the way
    # out free them, and with them flush what they wrote to files they left open
    # from the runner's imports on (Alembic, SQLAlchemy, the driver): few collector passes
    with few_collections():
        _run_migrate(direction, revision, config_path, x_args, env, url, yes, dry_run, sql,
                     fmt, allow_downgrade, ini_section)


def _run_migrate(direction: str, revision: str, config_path: Path, x_args: tuple[str, ...],
                 env: str | None, url: str | None, yes: bool, dry_run: bool, sql: bool,
                 fmt: str, allow_downgrade: bool, ini_section: str) -> None:
    with kept_dataclass_code():
        from sluice.core.suggest import invocation  # lazy: start-up: loads when the command runs
        from sluice.runner.api import (  # lazy: start-up: loads when the command runs
            migrate,
            offline_sql,
        )
        from sluice.runner.run import (  # lazy: start-up: loads when the command runs
            MigrationFailed,
            RunOptions,
        )

    if sql:
        if dry_run:
            raise SluiceError("--sql and --dry-run exclude each other")
        click.echo(offline_sql(config_path, direction=direction, target=revision, env=env,
                               url=url, x_args=x_args, ini_section=ini_section), nl=False)
        return
    options = RunOptions(
        direction=direction, target=revision, dry_run=dry_run, yes=yes,
        allow_downgrade=allow_downgrade,
        confirm=_confirm_plan if sys.stdin is not None and sys.stdin.isatty() else None,
        notify=_notify,
        notify_step=_notify_step,
        loading=kept_dataclass_code,
    )
    try:
        result = migrate(config_path, options, env=env, url=url, x_args=x_args,
                         ini_section=ini_section)
    except MigrationFailed as exc:
        if fmt == "json":
            click.echo(json_text(exc.result.as_dict()), nl=False)
        raise
    given = invocation(config_path, environment=result.environment, url=url, x_args=x_args,
                       ini_section=ini_section)
    _report_after_success(json_text(result.as_dict()) if fmt == "json"
                          else result.render() + "\n", f"the {direction} succeeded",
                          given.sluice("history"))


def _notify(message: str) -> None:
    """A progress line on stderr (one per revision): written and flushed as ``click.echo``
    does for plain text, without asking each time whether stderr is a terminal."""
    stream = sys.stderr
    if stream is None:  # no console (pythonw): nowhere to show it, as click.echo
        return
    line = f"sluice: {message}\n"
    if not line.isascii() or "\x1b" in line:
        # click.echo's own work: text other than ASCII in UTF-8 on a stream set to ASCII,
        # colour codes left out where stderr is not a terminal
        click.echo(line, err=True, nl=False)
        return
    stream.write(line)
    stream.flush()


def _notify_step(message: str) -> None:
    """A revision's progress line, left out where Alembic writes its own ``Running
    upgrade ...`` line for each revision to stderr (the standard logging of env.py)."""
    if not _alembic_reports_steps():
        _notify(message)


def _alembic_reports_steps() -> bool:
    """Alembic writes a ``Running upgrade ...`` line per revision to this process's
    standard error: its migration logger is enabled for INFO and a handler on the way up
    writes to ``sys.stderr``."""
    import logging  # lazy: loaded with Alembic, by then

    from sluice.core.alembic_log import MIGRATION_LOGGER  # lazy: loaded with the runner

    first = logging.getLogger(MIGRATION_LOGGER)
    if not first.isEnabledFor(logging.INFO):
        return False
    streams = (sys.stderr, sys.__stderr__)
    logger: logging.Logger | None = first
    while logger is not None:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.level <= logging.INFO \
                    and any(handler.stream is s for s in streams if s is not None):
                return True
        if not logger.propagate:
            break
        logger = logger.parent
    return False


def _report_after_success(report: str, done: str, history: str = "`sluice history`") -> None:
    """Print the report of a migration that succeeded. When stdout cannot take it (a full
    disk, a closed pipe), say on stderr that the migration succeeded and exit 0: the exit
    code is about the database, and a deploy script must not retry or roll back a
    migration that was applied."""
    try:
        click.echo(report, nl=False)
        sys.stdout.flush()
    except OSError as exc:
        try:  # the interpreter's final flush must not fail again (exit 120)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        click.echo(f"sluice: {done}, but its report could not be written to stdout "
                   f"({exc.strerror or exc}); {history} shows what ran", err=True)


@click.command("upgrade", cls=RevisionCommand)
@click.argument("revision", default="head")
@common_options
@section_option
@_url_option
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation (CI, scripts).")
@click.option("--dry-run", is_flag=True,
              help="Run it all in one transaction, then roll back (PostgreSQL, SQLite).")
@click.option("--sql", is_flag=True,
              help="Print the SQL from the database's current revision instead (FROM:TO works).")
@format_option("run", "Output format (json: stdout only).")
@handle_errors
def upgrade_command(revision: str, config_path: Path, x_args: tuple[str, ...], env: str | None,
                    ini_section: str, url: str | None, yes: bool, dry_run: bool, sql: bool,
                    fmt: str) -> None:
    """Alembic's upgrade to REVISION (default head) under the environment's guards."""
    _migrate("upgrade", revision, config_path, x_args, env, url, yes, dry_run, sql, fmt,
             ini_section=ini_section)


@click.command("downgrade", cls=RevisionCommand)
@click.argument("revision")
@common_options
@section_option
@_url_option
@click.option("--allow-downgrade", is_flag=True,
              help="Allow it where the environment refuses downgrades (production).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation (CI, scripts).")
@click.option("--dry-run", is_flag=True,
              help="Run it all in one transaction, then roll back (PostgreSQL, SQLite).")
@click.option("--sql", is_flag=True,
              help="Print the SQL from the database's current revision instead (FROM:TO works).")
@format_option("run", "Output format (json: stdout only).")
@handle_errors
def downgrade_command(revision: str, config_path: Path, x_args: tuple[str, ...],
                      env: str | None, ini_section: str, url: str | None,
                      allow_downgrade: bool, yes: bool, dry_run: bool, sql: bool,
                      fmt: str) -> None:
    """Alembic's downgrade to REVISION (an id, -1 or base) under the guards."""
    _migrate("downgrade", revision, config_path, x_args, env, url, yes, dry_run, sql, fmt,
             allow_downgrade=allow_downgrade, ini_section=ini_section)


@click.command("history")
@common_options
@section_option
@_url_option
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show the newest N rows.")
@click.option("--revision", default=None, help="Only this revision's rows.")
@format_option("history", "Output format (json: stdout only).")
@handle_errors
def history_command(config_path: Path, x_args: tuple[str, ...], env: str | None,
                    ini_section: str, url: str | None, limit: int | None,
                    revision: str | None, fmt: str) -> None:
    """The audit table (sluice_history), newest first; edited applied revisions flagged."""
    from sluice.runner.api import history  # lazy: start-up: loads when the command runs

    report = history(config_path, env=env, url=url, x_args=x_args, limit=limit,
                     revision=revision, ini_section=ini_section)
    if fmt == "json":
        click.echo(json_text(report.as_dict()), nl=False)
    else:
        click.echo(report.render())
