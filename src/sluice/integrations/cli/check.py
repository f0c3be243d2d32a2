"""``sluice check`` (the CI gate) and ``sluice lock`` (``sluice.sum``)."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sluice.integrations.cli.common import (
    common_options,
    handle_errors,
    left_out_note,
    section_option,
    url_origin,
)
from sluice.integrations.cli.formats import format_option

if TYPE_CHECKING:
    from sluice.check.checksums import LockResult
    from sluice.core.suggest import Invocation


@click.command()
@common_options
@section_option
@click.option("--url", default=None, envvar="SLUICE_CHECK_URL", metavar="URL",
              help="Database for upgrade/drift/roundtrip (default: check.url, else a "
                   "temporary SQLite file). Without --scratch it must be empty. "
                   "Env: SLUICE_CHECK_URL.")
@click.option("--scratch", is_flag=True,
              help="Create a uniquely named database on the server of --url (or "
                   "check.url) and drop it afterwards (also on failure and Ctrl-C).")
@click.option("--only", "only", multiple=True, metavar="CHECKS",
              help="Comma-separated checks to run: graph, upgrade, drift, roundtrip, checksums.")
@click.option("--last", type=click.IntRange(min=1), default=None, metavar="N",
              help="Round-trip only the latest N revisions (default: check.roundtrip_last).")
@format_option("check", "Output format (machine formats: stdout only).")
@click.option("-v", "--verbose", is_flag=True,
              help="Also show the INFO log lines env.py's logging config asks for "
                   "(Alembic's 'Running upgrade ...'), on stderr.")
@handle_errors
def check(config_path: Path, x_args: tuple[str, ...], env: str | None, ini_section: str,
          url: str | None, scratch: bool, only: tuple[str, ...], last: int | None, fmt: str,
          verbose: bool) -> None:
    """CI gate: revision graph, upgrade from empty, drift, round trip, checksums.

    Exit 0 when every check passes, 1 when one fails, 2 when one cannot run.
    """
    from sluice.check import (  # lazy: start-up: loads when the command runs
        CheckOptions,
        run_checks,
    )
    from sluice.check.render import render  # lazy: start-up: loads when the command runs

    progress = None
    if fmt == "text" and sys.stderr.isatty():
        def progress(message: str) -> None:
            click.echo(f"sluice: {message}", err=True)

    options = CheckOptions(url=url, url_origin=url_origin("url", "SLUICE_CHECK_URL"),
                           scratch=scratch, only=list(only) or None, last=last,
                           x_args=x_args, env=env, progress=progress, verbose=verbose,
                           ini_section=ini_section)
    # migrations and env.py may print; keep stdout for the report alone
    with contextlib.redirect_stdout(sys.stderr):
        report = run_checks(config_path, options)
    render(report, fmt, sys.stdout)
    for line in report.left_behind:  # after the report, which it never replaces
        click.echo(f"sluice: error: {line}", err=True)
    sys.exit(report.exit_code)


@click.command()
@common_options
@section_option
@click.option("--rebase", is_flag=True,
              help="First put branches that each added revisions on the same head in "
                   "sequence: re-point the newer branch's first revision at the other head "
                   "(after a merge conflict in sluice.sum).")
@click.option("--move", default=None, metavar="REV",
              help="With --rebase: re-point the branch holding REV (default: the one not "
                   "yet on the base branch, else the newer).")
@click.option("--base", default=None, metavar="REF",
              help="With --rebase: revisions on this git ref are never moved (default: "
                   "origin/main, main, origin/master, master), nor, during a git rebase, "
                   "those in the commit rebased onto.")
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when sluice.sum was created or changed (pre-commit: stage it "
                   "and commit again).")
@click.option("--no-lint", is_flag=True,
              help="Record new and changed revision files even when they have lint "
                   "findings at or above lint.fail_on (default: refuse, write nothing).")
@click.option("--staged", is_flag=True,
              help="Only the revision files git's index holds, what the commit records "
                   "(pre-commit); files not added are left out, a revision file with "
                   "unstaged changes is refused.")
@handle_errors
def lock(config_path: Path, x_args: tuple[str, ...], env: str | None, ini_section: str,
         rebase: bool, move: str | None, base: str | None, exit_code: bool,
         no_lint: bool, staged: bool) -> None:
    """Write sluice.sum: the SHA-256 of every revision file and the current head(s).

    With -n SECTION: that section's own file (sluice.SECTION.sum); other sections' files
    are left as they are. Revision files new or changed since the last lock are linted
    first: a finding at or above lint.fail_on exits 1 and writes nothing (a sum file
    created for the first time records today's history as it is; a revision changed only
    in its down_revision, re-pointed, keeps its review).

    Exit 2, writing nothing, when a revision does not parse or the graph is broken."""
    from sluice.check import lock as write_lock  # lazy: start-up: loads when the command runs
    from sluice.core.suggest import invocation  # lazy: start-up: loads when the command runs
    from sluice.errors import SluiceError  # lazy: start-up: loads when the command runs

    given = invocation(config_path, environment=env, x_args=x_args, ini_section=ini_section)
    if (move or base) and not rebase:
        raise SluiceError("--move and --base only apply with --rebase")
    if rebase and staged:
        raise SluiceError("--rebase edits revision files that --staged would find unstaged: "
                          f"run {given.sluice('lock', '--rebase')}, stage the files, then "
                          f"{given.sluice('lock', '--staged')}")
    pre_images: dict[Path, str] = {}
    if rebase:
        from sluice.check.rebase import rebase_heads  # lazy: start-up: loads when the command runs

        rebased = rebase_heads(config_path, move=move, base=base, name=ini_section)
        for m in rebased.moves:
            click.echo(f"re-pointed {m.revision} ({m.path.name}): down_revision "
                       f"{', '.join(m.old) or 'None'} -> {m.new}")
        if not rebased.moves:
            click.echo("nothing to rebase: the revision graph has no heads to join")
        for m in rebased.moves:  # the first text of a file moved twice is the recorded one
            pre_images.setdefault(m.path, m.before)
    gate = None if no_lint else functools.partial(
        _lint_before_lock, config_path=config_path, x_args=x_args, env=env,
        ini_section=ini_section, given=given)
    result = write_lock(config_path, x_args=x_args, ini_section=ini_section, before_write=gate,
                        staged=staged, pre_images=pre_images, env=env)
    heads = " ".join(result.heads) or "none"
    left_out_note(result.left_out)
    for file in result.unreadable:
        click.echo(f"sluice: warning: {file}: cannot read its revision id; the heads line "
                   f"leaves it out (run {given.sluice('check', '--only', 'graph')})", err=True)
    _more_heads_note(result.heads, config_path, given)
    if not result.changed:
        click.echo(f"{result.path.name} is up to date ({result.files} revision files; "
                   f"heads: {heads})")
        return
    verb = "created" if result.created else "wrote"
    click.echo(f"{verb} {result.path} ({result.files} revision files; heads: {heads})")
    edited = [f for f in result.modified if f not in result.repointed]
    for label, files in (("added", result.added), ("changed", edited),
                         ("re-pointed", result.repointed), ("removed", result.removed)):
        for file in files[:10]:
            click.echo(f"  {label}: {file}")
        if len(files) > 10:
            click.echo(f"  ... {len(files) - 10} more {label}")
    if result.created:
        import shlex  # lazy: only a new sum file

        shown = os.path.relpath(result.path)  # the command runs from the current folder
        click.echo(f"sluice: {result.path.name} is new: commit it with the migrations "
                   f"(git add {shlex.quote(shown)})", err=True)
    if exit_code:
        sys.exit(1)


def _more_heads_note(heads: list[str], config_path: Path, given: Invocation) -> None:
    """Warn when the recorded graph has more heads than ``check.expected_heads`` declares
    (a sum conflict resolved by relocking both sides records two heads)."""
    if len(heads) < 2:
        return
    from sluice.config import load_config  # lazy: only with several heads

    expected = load_config(config_path).check.expected_heads
    if len(heads) <= len(expected):
        return
    click.echo(f"sluice: warning: the sum records {len(heads)} heads ({', '.join(heads)}) "
               f"and check.expected_heads declares {len(expected)}: `alembic upgrade head` "
               f"refuses them and `sluice check` fails; {given.sluice('heads')} explains them "
               f"and gives the merge command (or {given.sluice('lock', '--rebase')} "
               "re-points a branch not on main yet)", err=True)


def _lint_before_lock(result: LockResult, *, config_path: Path, x_args: tuple[str, ...],
                      env: str | None, ini_section: str, given: Invocation) -> None:
    """Refuse to record revision files with findings at or above ``lint.fail_on``: a file
    in the sum is reviewed history, which plain ``sluice lint`` no longer lints. Only the
    files added or changed since the last lock (a re-pointed one keeps its review); none
    when the sum file is new (it records the history as it is, as the lint's note on a
    project without one says). A file the lint did not read is refused as well: the sum
    never vouches for a file nobody looked at."""
    from sluice.config import load_config  # lazy: start-up: only when the sum changes
    from sluice.core.findings import SEVERITY_ORDER  # lazy: start-up: only when the sum changes
    from sluice.environments import environment_of  # lazy: start-up: only when the sum changes
    from sluice.errors import (  # lazy: start-up: only when the sum changes
        PolicyViolation,
        SluiceError,
    )
    from sluice.integrations.hooks import lint_files  # lazy: start-up: only when the sum changes
    from sluice.output import render_findings  # lazy: start-up: only when the sum changes

    files = [config_path.resolve().parent / f for f in (*result.added, *result.modified)
             if f not in result.repointed]
    if result.created or not files:
        return
    cfg = load_config(config_path)
    name = environment_of(cfg, env, x_args)
    if name is not None:
        cfg = cfg.for_environment(name)
    with contextlib.redirect_stdout(sys.stderr):  # a revision's imports may print
        linted = lint_files(config_path, cfg, files=files, x_args=x_args,
                            ini_section=ini_section, use_cache=False)
    read = {os.path.realpath(r.path) for r in linted.revisions}
    unread = [os.path.relpath(f) for f in files if os.path.realpath(f) not in read]
    if unread:
        more = f" (and {len(unread) - 1} more)" if len(unread) > 1 else ""
        raise SluiceError(
            f"not recorded: {unread[0]}{more} was not linted; {result.path.name} was not "
            "changed",
            hint=f"{given.sluice('lint', unread[0])} says why; "
                 f"{given.sluice('lock', '--no-lint')} records it anyway.")
    threshold = cfg.lint.fail_on
    if not linted.failed(threshold):
        return
    failing = [f for f in linted.findings
               if SEVERITY_ORDER[f.severity] >= SEVERITY_ORDER[threshold]]
    render_findings("text", failing, summary=[])
    paths = sorted({os.path.relpath(f.path) for f in failing if f.path})
    raise PolicyViolation(
        f"not recorded: {len(failing)} finding{'s' if len(failing) != 1 else ''} at or above "
        f"lint.fail_on ({threshold}) in {', '.join(paths)}; {result.path.name} was not changed",
        hint=f"Fix them ({given.sluice('fix')} rewrites what a recipe answers), or accept a "
             "finding on purpose with `# sluice: ignore[ID] reason` above its line, then lock "
             "again; "
             f"{given.sluice('lock', '--no-lint')} records them anyway.")
