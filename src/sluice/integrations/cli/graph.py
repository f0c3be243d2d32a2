"""The revision graph: ``sluice graph`` and ``sluice heads``."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from sluice.integrations.cli.common import (
    F,
    common_options,
    handle_errors,
    left_out_note,
    section_option,
    split_values,
)
from sluice.integrations.cli.formats import format_option, json_text


def _graph_stub_option(fn: F) -> F:
    return click.option(
        "--stub", "stubs", multiple=True, metavar="MODULE",
        help="Stand-in for MODULE when a revision whose header is computed must be imported "
             "(adds to lint.stub_modules).",
    )(fn)


def _load_graph(config_path: Path, ini_section: str, stubs: tuple[str, ...],
                url: str | None = None, *, env: str | None = None,
                x_args: tuple[str, ...] = (), staged: bool = False) -> tuple[Any, Any]:
    """The sluice config (a broken sluice.toml is exit 2, as everywhere) and the graph;
    an environment named by ``--env``, ``-x env`` or ``SLUICE_ENV`` must be one."""
    from sluice.config import load_config  # lazy: start-up: loads when the command runs
    from sluice.environments import environment_of  # lazy: start-up: when the command runs
    from sluice.graph import load_graph  # lazy: start-up: loads when the command runs

    config = load_config(config_path)
    environment_of(config, env, x_args)
    graph = load_graph(config_path, name=ini_section, url=url, sluice_config=config,
                       stub_modules=[*config.lint.stub_modules, *split_values(stubs)],
                       staged=staged)
    return config, graph


@click.command("graph")
@common_options
@section_option
@click.option("--url", default=None, metavar="URL",
              help="Mark the revisions this database is at (the section's version table).")
@format_option("graph", "text: a tree in the terminal; mermaid/dot for docs and reviews.")
@_graph_stub_option
@handle_errors
def graph_command(config_path: Path, x_args: tuple[str, ...], env: str | None,
                  ini_section: str, url: str | None, fmt: str, stubs: tuple[str, ...]) -> None:
    """The revision tree: branches, branch labels, merge points, heads, the database."""
    from sluice.graph import (  # lazy: start-up: loads when the command runs
        graph_json,
        render_dot,
        render_mermaid,
        render_text,
    )

    _, graph = _load_graph(config_path, ini_section, stubs, url, env=env, x_args=x_args)
    if fmt == "mermaid":
        click.echo(render_mermaid(graph), nl=False)
    elif fmt == "dot":
        click.echo(render_dot(graph), nl=False)
    elif fmt == "json":
        click.echo(json_text(graph_json(graph)), nl=False)
    else:
        tty = sys.stdout.isatty()
        color = tty and not os.environ.get("NO_COLOR")
        width = shutil.get_terminal_size().columns if tty else 100
        click.echo(render_text(graph, width=width, color=color), nl=False)


@click.command("heads")
@common_options
@section_option
@format_option("heads", "Output format (json: stdout only).")
@_graph_stub_option
@click.option("--staged", is_flag=True,
              help="Only the revision files git's index holds, what the commit records "
                   "(pre-commit); files not added are left out, a revision file with "
                   "unstaged changes is refused.")
@handle_errors
def heads_command(config_path: Path, x_args: tuple[str, ...], env: str | None,
                  ini_section: str, fmt: str, stubs: tuple[str, ...], staged: bool) -> None:
    """Explain multiple heads and print the `alembic merge` command that joins them.

    Exit 1 when there are heads that [tool.sluice.check] expected_heads does not declare."""

    from sluice.graph import (  # lazy: start-up: loads when the command runs
        explain_heads,
        heads_json,
        render_heads,
    )

    config, graph = _load_graph(config_path, ini_section, stubs, env=env, x_args=x_args,
                                staged=staged)
    left_out_note(graph.left_out)
    from sluice.policy.services import service_labels  # lazy: start-up: loads when the command runs

    expected = list(config.check.expected_heads)
    if ini_section != "alembic":  # as sluice check -n: entries naming nothing here are
        names = {b for n in graph.nodes.values() for b in (*n.labels, *n.branches)}
        expected = [e for e in expected  # another section's heads
                    if e in names or any(i.startswith(e) for i in graph.nodes)]
    from sluice.core.suggest import invocation  # lazy: start-up: loads when the command runs

    given = invocation(config_path, environment=env, x_args=x_args, ini_section=ini_section)
    report = explain_heads(graph, expected, sorted(service_labels(config)))
    if fmt == "json":
        click.echo(json_text(heads_json(graph, report, given)), nl=False)
    else:
        click.echo(render_heads(graph, report, given=given,
                                setting=f"{config.table('check')} expected_heads"), nl=False)
    if not report.ok:
        sys.exit(1)
