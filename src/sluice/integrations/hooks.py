"""Lint named revision files: the Alembic write hook and ``sluice lint FILE...``.

Alembic's ``post_write_hooks`` run after ``alembic revision`` writes a file. The
``console_scripts`` hook type runs an installed console script with the new file's path
(``REVISION_SCRIPT_FILENAME``, put first when the hook's ``options`` do not name it).
Sluice installs ``sluice-lint-new-revision``::

    # alembic.ini
    [post_write_hooks]
    hooks = sluice
    sluice.type = console_scripts
    sluice.entrypoint = sluice-lint-new-revision

    # pyproject.toml (Alembic 1.16+, when alembic.ini has no [post_write_hooks] section)
    [[tool.alembic.post_write_hooks]]
    name = "sluice"
    type = "console_scripts"
    entrypoint = "sluice-lint-new-revision"

It lints the file just written with the full rule catalog (both layers, like
``sluice lint``) and prints the findings under Alembic's "Running post write hook" line.

Exit status: 0 clean (or only findings below ``--fail-on``, default ``lint.fail_on``),
1 a finding at or above it, 2 the file could not be linted. Alembic (1.13 to 1.20) does not
look at a console_scripts hook's exit status: the revision file is always kept and
``alembic revision`` succeeds; the printed findings are the signal. The status matters
when the command runs elsewhere (scripts, pre-commit).

alembic.ini is found like this: ``-c PATH`` (add ``options = -c path/to/alembic.ini``
to the hook), else ``ALEMBIC_CONFIG``, else the nearest alembic.ini in the revision
file's folder or a folder above it whose revision folders hold the file, else
``./alembic.ini``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from sluice.config import SluiceConfig, load_config
from sluice.core.history import build_history, header_from_source, read_header, revision_files
from sluice.errors import SluiceError
from sluice.integrations.cli.common import describe_exception
from sluice.integrations.cli.formats import format_option
from sluice.lint.engine import Coverage, LintResult, lint_project, read_layout
from sluice.lint.scope import Node, display_path, match_locations, select_trees
from sluice.output import render_findings
from sluice.output.text import severity_counts

__all__ = ["find_alembic_ini", "lint_files", "new_revision_main", "revision_id_of"]

def revision_id_of(source: str) -> str | None:
    """The literal ``revision = "..."`` of a revision file (module level), or None."""
    return header_from_source(source, "<revision>").revision


def _revision_id_of_file(path: Path) -> str | None:
    """:func:`revision_id_of` the file at ``path``; None when it is not UTF-8 (Python and
    the lint read it as such, so the id exists for no one else)."""
    try:
        return revision_id_of(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        return None


def _revision_files(ini: Path, x_args: Sequence[str] = (),
                    ini_section: str = "alembic") -> set[Path]:
    layout = read_layout(ini, x_args=x_args, ini_section=ini_section)
    return set(revision_files(layout.version_locations, recursive=layout.recursive))


def _outside_trees(ini: Path, chosen: Sequence[Path], trees: Sequence[str],
                   x_args: Sequence[str] = (), ini_section: str = "alembic",
                   where: str | None = None) -> list[Path]:
    """The files of ``chosen`` (real paths of revision files) that are in none of the
    ``trees`` (version locations or branch labels, as ``sluice lint --tree``); an unknown
    tree name is the lint's one-line error (naming ``where``, the setting ``trees`` come
    from, when given)."""
    layout = read_layout(ini, x_args=x_args, ini_section=ini_section)
    located = [match_locations(t.strip().rstrip("/"), layout) for t in trees]
    if all(located):  # folders only: no need to read the graph
        folders = [Path(os.path.realpath(loc)) for locs in located for loc in locs]
        return [p for p in chosen if not any(p.is_relative_to(f) for f in folders)]
    headers = [read_header(p) for p in revision_files(layout.version_locations,
                                                      recursive=layout.recursive)]
    nodes = [Node(file=str(h.path), raw=None, digest="", revision=h.revision)
             for h in headers]
    history = build_history(headers, strict=False, root=layout.root)
    inside = {Path(os.path.realpath(nodes[i].file))
              for i in select_trees(history, nodes, layout, trees, where)}
    return [p for p in chosen if p not in inside]


def _outside_note(outside: Sequence[Path], trees: Sequence[str], configured: bool) -> str:
    """One line: the named revision files that the trees leave out, linted all the same."""
    names = [str(display_path(p)) for p in outside]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    where = "lint.trees" if configured else "--tree"
    return (f"note: {shown} {'is' if len(names) == 1 else 'are'} not in {where} "
            f"({', '.join(trees)}); linted because {'it was' if len(names) == 1 else 'they were'} "
            "named")


def find_alembic_ini(files: Sequence[str | Path], explicit: str | Path | None = None,
                     x_args: Sequence[str] = ()) -> Path:
    """The alembic.ini of the project the revision ``files`` belong to (see module docs)."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise SluiceError(f"{path}: no such file (pass -c/--config PATH to alembic.ini)")
        return path
    env = os.environ.get("ALEMBIC_CONFIG")
    if env and Path(env).name != "pyproject.toml":
        if not Path(env).is_file():
            raise SluiceError(f"ALEMBIC_CONFIG={env}: no such file")
        return Path(env)
    if files:
        first = Path(os.path.realpath(files[0]))
        for folder in first.parents:
            candidate = folder / "alembic.ini"
            if candidate.is_file():
                try:
                    if first in _revision_files(candidate, x_args):
                        return candidate
                except SluiceError:
                    continue
    here = Path("alembic.ini")
    if here.is_file():
        return here
    raise SluiceError(f"{files[0] if files else '.'}: no alembic.ini found in its folder, the "
                      "folders above it or the current folder; pass -c PATH (in the hook: "
                      "options = -c path/to/alembic.ini)")


def lint_files(ini: str | Path, config: SluiceConfig | None = None, *,
               files: Sequence[str | Path], **options: Any) -> Any:
    """Lint the revision files among ``files`` (others are ignored); a
    :class:`~sluice.lint.engine.LintResult` holding only their findings.

    ``options`` go to :func:`~sluice.lint.engine.lint_project` (dialects, x_args,
    use_cache, render, ...); the files are the scope, so ``revisions``, ``since`` and
    ``changed_base`` must be unset. A named file that does not exist is an error; files
    that are not revision files of this project (pre-commit passes every staged ``.py``
    file) are left out, and an empty result says so through its coverage (0 revisions).

    A named revision file is linted even when ``trees`` (default ``lint.trees``) leaves it
    out: it was asked for (the pre-commit hook names every staged file, and ``sluice
    lock`` the files it is about to record as reviewed), so skipping it would pass it
    unread. :attr:`LintResult.notes` says which files that was, in one line.
    """
    for scope in ("revisions", "since", "changed_base"):
        if options.pop(scope, None) not in (None, False):
            raise SluiceError(f"choose one scope: files or {scope}")
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise SluiceError(f"{missing[0]}: no such file")
    known = _revision_files(Path(ini), options.get("x_args", ()),
                            options.get("ini_section", "alembic"))
    chosen = [p for p in (Path(os.path.realpath(f)) for f in files) if p in known]
    if not chosen:
        return LintResult(findings=[], coverage=Coverage(), revisions=[])
    if config is None:
        config = load_config(Path(ini))
    given = options.pop("trees", None)
    trees = list(given) if given is not None else list(config.lint.trees)
    outside = (_outside_trees(Path(ini), chosen, trees, options.get("x_args", ()),
                              options.get("ini_section", "alembic"),
                              None if given is not None else config.where("lint.trees"))
               if trees else [])
    ids = [_revision_id_of_file(p) for p in chosen]
    known_ids = sorted({i for i in ids if i is not None})
    # a file whose id cannot be read (nor the lint's history: not UTF-8) is still
    # linted: the whole project, then filtered, so that its parse error is its finding
    revisions: list[str] | None = None if None in ids else known_ids
    result = lint_project(ini, config, revisions=revisions, trees=[], **options)
    wanted = set(chosen)

    def mine(path: str | None) -> bool:
        return path is not None and Path(os.path.realpath(path)) in wanted

    result.findings = [f for f in result.findings if mine(f.path)]
    result.suppressed = [f for f in result.suppressed if mine(f.path)]
    result.revisions = [r for r in result.revisions if mine(r.path)]
    coverage = Coverage(dialects=result.coverage.dialects)
    for report in result.revisions:
        coverage.add(report)
    result.coverage = coverage
    if outside:
        result.notes.append(_outside_note(outside, trees, configured=given is None))
    return result


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("-c", "--config", "config_path", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Path to alembic.ini (default: found from the revision file).")
@click.option("-x", "x_args", multiple=True, metavar="KEY=VALUE",
              help="Passed to Alembic like 'alembic -x'.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Lowest severity that exits 1 (default: lint.fail_on, 'error').")
@format_option("lint", "Output format.")
@click.option("--no-render", is_flag=True, help="Static analysis only (no offline rendering).")
def new_revision_main(files: tuple[Path, ...], config_path: Path | None,
                      x_args: tuple[str, ...], fail_on: str | None, fmt: str,
                      no_render: bool) -> None:
    """Lint revision FILE(s) just written by `alembic revision` (an Alembic write hook).

    Exit 0 when clean, 1 when a finding reaches --fail-on, 2 when the file cannot be
    linted. Alembic does not act on the exit status: the revision is kept either way.
    """
    try:
        ini = find_alembic_ini(files, config_path, x_args)
        cfg = load_config(ini)
        # the revision's own imports may print; keep stdout for the report
        with contextlib.redirect_stdout(sys.stderr):
            result = lint_files(ini, cfg, files=files, x_args=x_args,
                                render=False if no_render else None)
    except SluiceError as exc:
        click.echo(f"sluice: error: {exc}", err=True)
        if exc.hint:
            click.echo(exc.hint, err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # never a traceback under `alembic revision`
        if os.environ.get("SLUICE_DEBUG"):
            raise
        click.echo(f"sluice: error: {describe_exception(exc)}", err=True)
        sys.exit(2)
    threshold = fail_on or cfg.lint.fail_on
    failed = result.failed(threshold)
    if fmt == "text":
        names = ", ".join(r.path for r in result.revisions) or "no revision file"
        counts = severity_counts(result.findings)
        if result.suppressed:
            counts += f" ({len(result.suppressed)} suppressed)"
        summary = [f"sluice: {names}: {counts}"]
        if result.coverage.static_only or result.coverage.unparsed:  # not read in full
            summary.append(f"sluice: {result.coverage.line()}")
        if failed:
            summary.append("sluice: fix it before you open the pull request: "
                           "`sluice rules ID` explains a rule; `# sluice: ignore[ID] reason` "
                           "on the line accepts a finding on purpose")
        render_findings("text", result.findings, summary=summary)
    else:
        render_findings(fmt, result.findings, command="lint-new-revision",
                        summary=[result.coverage.line()],
                        extra={"summary": {**result.counts(), "fail_on": threshold,
                                           "failed": failed},
                               "coverage": result.coverage.as_dict()})
    sys.exit(1 if failed else 0)
