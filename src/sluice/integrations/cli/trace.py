"""``sluice trace``: the locks revisions really take on a scratch database."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sluice.integrations.cli.common import common_options, handle_errors, section_option, url_origin
from sluice.integrations.cli.formats import format_option

if TYPE_CHECKING:
    from sluice.errors import SluiceError


@click.command("trace")
@common_options
@section_option
@click.argument("revisions", nargs=-1, metavar="[REV...]")
@click.option("--url", default=None, envvar="SLUICE_TRACE_URL", metavar="URL",
              help="PostgreSQL or MySQL/MariaDB server; a scratch database is created there "
                   "and dropped afterwards. Env: SLUICE_TRACE_URL.")
@click.option("--seed-rows", type=click.IntRange(min=0), default=0, show_default=True,
              metavar="N", help="Insert N generated rows into every table before each "
                                "revision, so rewrites and scans take measurable time.")
@click.option("--fail-on", type=click.Choice(["writes", "reads", "never"]), default="writes",
              show_default=True,
              help="Exit 1 on a lock on an existing table that blocks writes (or reads), "
                   "or never.")
@click.option("--no-crosscheck", is_flag=True, help="Do not compare with lint's findings.")
@format_option("trace", "Output format (machine formats: stdout only).")
@click.option("-v", "--verbose", is_flag=True,
              help="Text: also list locks on relations created by the revision.")
@handle_errors
def trace_command(config_path: Path, x_args: tuple[str, ...], env: str | None,
                  ini_section: str, revisions: tuple[str, ...], url: str | None,
                  seed_rows: int, fail_on: str, no_crosscheck: bool, fmt: str,
                  verbose: bool) -> None:
    """Run revisions on a scratch database and report the locks they really take.

    REV: revision ids, prefixes, head/heads, or ranges LOWER:UPPER (default: all).
    Exit 1 when a statement took a lock blocking writes (see --fail-on) on a table that
    existed before its revision, 2 when tracing could not run.
    """
    from sluice.core.urls import database_url  # lazy: start-up: loads when the command runs
    from sluice.trace import (  # lazy: start-up: loads when the command runs
        fails,
        trace,
        untraced,
    )
    from sluice.trace.render import render  # lazy: start-up: loads when the command runs

    if url is None:
        raise SluiceError("sluice trace needs a server to run on: pass --url "
                          "postgresql://user@host/postgres (or mysql+pymysql://...) "
                          "or set SLUICE_TRACE_URL")
    database_url(url, origin=url_origin("url", "SLUICE_TRACE_URL"))

    def log(message: str) -> None:
        if sys.stderr.isatty() or os.environ.get("SLUICE_VERBOSE"):
            click.echo(f"sluice: {message}", err=True)

    # migrations and env.py may print; keep stdout for the report alone
    with contextlib.redirect_stdout(sys.stderr):
        result = trace(config_path, url, revisions, x_args=x_args, env=env,
                       seed_rows=seed_rows, crosscheck=not no_crosscheck, log=log,
                       ini_section=ini_section)
    render(fmt, result, result.findings, sys.stdout, verbose=verbose)
    if result.failure:
        raise SluiceError(result.failure)
    blind = untraced(result)
    if blind and fail_on != "never":  # the gate cannot judge: fail closed
        raise SluiceError(f"{blind}; --fail-on {fail_on} cannot judge locks it did not see "
                          "(pass --fail-on never to report without gating)")
    if blind:
        click.echo(f"sluice: warning: {blind}", err=True)
    sys.exit(1 if fails(result, fail_on) else 0)
