"""The ``sluice`` command: parse, call the library, render, exit code. No logic of its own.

Each subcommand is a small function; shared options (``-c/--config``, ``-x``, ``--env``)
come from :func:`common_options`. Errors derived from :class:`SluiceError` become one line
on stderr and exit code 2 (1 for policy refusals); findings exit 1 through ``ctx.exit``.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from sluice.errors import SluiceError

F = TypeVar("F", bound=Callable[..., Any])


def _load_errors() -> type[SluiceError]:
    """Import :mod:`sluice.errors` when a command runs, not at start-up.

    ``SluiceError`` is an Alembic ``CommandError``, so importing it imports Alembic and
    SQLAlchemy, which costs more than the rest of start-up: ``sluice --help`` and usage
    errors do without. Command bodies raise ``SluiceError`` by its module-level name,
    bound here before any of them runs (every command is wrapped by :func:`handle_errors`).
    """
    from sluice.errors import SluiceError as loaded

    globals()["SluiceError"] = loaded
    return loaded


def common_options(fn: F) -> F:
    """``-c/--config``, ``-x`` and ``--env``, as every command takes them."""
    fn = click.option(
        "--env", "env", default=None, metavar="NAME",
        help="Environment (default: SLUICE_ENV, ALEMBIC_ENV, then default_environment).",
    )(fn)
    fn = click.option(
        "-x", "x_args", multiple=True, metavar="KEY=VALUE",
        help="Passed to Alembic like 'alembic -x'.",
    )(fn)
    fn = click.option(
        "-c", "--config", "config_path", default="alembic.ini", envvar="ALEMBIC_CONFIG",
        show_default=True, show_envvar=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Path to alembic.ini.",
    )(fn)
    return fn


def handle_errors(fn: F) -> F:
    """Turn Sluice and Alembic errors into one line on stderr and the right exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        sluice_error = _load_errors()
        from alembic.util import CommandError

        try:
            return fn(*args, **kwargs)
        except sluice_error as exc:
            click.echo(f"sluice: error: {exc}", err=True)
            if exc.hint:
                click.echo(exc.hint, err=True)
            sys.exit(exc.exit_code)
        except CommandError as exc:
            click.echo(f"sluice: error: {exc}", err=True)
            sys.exit(2)
        except (KeyboardInterrupt, SystemExit, click.exceptions.Exit, click.ClickException,
                BrokenPipeError):
            raise  # a closed stdout (`sluice ... | head`) is handled once, in SluiceGroup
        except Exception as exc:
            if os.environ.get("SLUICE_DEBUG"):
                raise
            click.echo(f"sluice: error: {describe_exception(exc)}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def describe_exception(exc: BaseException) -> str:
    """``file:line: Type: message`` for the innermost frame outside installed packages."""
    import traceback

    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        name = frame.filename
        if "site-packages" in name or name.startswith("<") or "/sluice/" in name.replace("\\", "/"):
            continue
        where = f"{name}:{frame.lineno}: "
        break
    return f"{where}{type(exc).__name__}: {exc} (set SLUICE_DEBUG=1 for the traceback)"


class RevisionCommand(click.Command):
    """A command whose REVISION argument may be relative, as in Alembic: ``-1``, ``-2``.

    Click reads ``-1`` as an option; a bare ``-N`` that is not the value of an option is
    passed as the revision instead (after ``--``), so ``sluice downgrade -1 --env prod``
    works like ``alembic downgrade -1``.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" not in args:
            takes_value = {name for p in self.params if isinstance(p, click.Option)
                           and not p.is_flag and not p.count for name in p.opts}
            relative = {i for i, a in enumerate(args) if re.fullmatch(r"-\d+", a)
                        and (i == 0 or args[i - 1] not in takes_value)}
            if relative:
                args = [*(a for i, a in enumerate(args) if i not in relative), "--",
                        *(args[i] for i in sorted(relative))]
        return super().parse_args(ctx, args)


class SluiceGroup(click.Group):
    """The ``sluice`` group; a reader that closes the pipe early (``sluice rules | head``)
    ends the command quietly, without a BrokenPipeError line."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return super().main(*args, **kwargs)
            finally:
                if sys.stdout is not None:  # buffered output fails here, not at exit
                    sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
            sys.exit(1)


def _silence_stdout() -> None:
    """Point stdout at devnull so that the interpreter's final flush cannot fail again
    (the recipe of Python's signal module documentation, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (tests, embedding)
        pass


@click.group(cls=SluiceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="alembic-sluice")
def main() -> None:
    """Sluice: control points for Alembic migrations."""


@main.command()
@click.option("--keep", is_flag=True, help="Keep the temporary project and print its path.")
@handle_errors
def demo(keep: bool) -> None:
    """Walk through every control point on a throwaway copy of examples/shop (SQLite)."""
    from sluice.demo import run_demo

    sys.exit(run_demo(keep=keep))


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--metadata", default=None, metavar="MODULE:ATTR",
              help="Where target_metadata lives, e.g. myapp.models:Base.metadata.")
@click.option("--url", default=None, help="sqlalchemy.url for a new project.")
@click.option("--dry-run", is_flag=True, help="Show the changes without writing them.")
@handle_errors
def init(directory: Path, metadata: str | None, url: str | None, dry_run: bool) -> None:
    """Create an Alembic project wired to Sluice, or wire an existing one."""
    from sluice.scaffold import init_project

    result = init_project(directory, metadata=metadata, url=url, dry_run=dry_run)
    for line in result.messages:
        click.echo(line)
    if result.diff:
        click.echo(result.diff)


@main.command()
@common_options
@click.option("--url", default=None, envvar="SLUICE_CHECK_URL", metavar="URL",
              help="Database for upgrade/drift/roundtrip (default: check.url, else a "
                   "temporary SQLite file). Without --scratch it must be empty. "
                   "Env: SLUICE_CHECK_URL.")
@click.option("--scratch", is_flag=True,
              help="Create a uniquely named database on the --url server and drop it "
                   "afterwards (also on failure and Ctrl-C).")
@click.option("--only", "only", multiple=True, metavar="CHECKS",
              help="Comma-separated checks to run: graph, upgrade, drift, roundtrip, checksums.")
@click.option("--last", type=click.IntRange(min=1), default=None, metavar="N",
              help="Round-trip only the latest N revisions (default: check.roundtrip_last).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit", "github"]),
              default="text", show_default=True, help="Output format (machine formats: stdout only).")
@click.option("-v", "--verbose", is_flag=True,
              help="Also show the INFO log lines env.py's logging config asks for "
                   "(Alembic's 'Running upgrade ...'), on stderr.")
@handle_errors
def check(config_path: Path, x_args: tuple[str, ...], env: str | None, url: str | None,
          scratch: bool, only: tuple[str, ...], last: int | None, fmt: str,
          verbose: bool) -> None:
    """CI gate: revision graph, upgrade from empty, drift, round trip, checksums.

    Exit 0 when every check passes, 1 when one fails, 2 when one cannot run.
    """
    import contextlib

    from sluice.check import CheckOptions, run_checks
    from sluice.check.render import render

    if scratch and url is None:
        raise SluiceError("--scratch needs --url naming a PostgreSQL or MySQL/MariaDB server")
    progress = None
    if fmt == "text" and sys.stderr.isatty():
        def progress(message: str) -> None:
            click.echo(f"sluice: {message}", err=True)

    options = CheckOptions(url=url, scratch=scratch, only=list(only) or None, last=last,
                           x_args=x_args, env=env, progress=progress, verbose=verbose)
    # migrations and env.py may print; keep stdout for the report alone
    with contextlib.redirect_stdout(sys.stderr):
        report = run_checks(config_path, options)
    render(report, fmt, sys.stdout)
    sys.exit(report.exit_code)


@main.command()
@common_options
@click.option("--rebase", is_flag=True,
              help="First put branches that each added revisions on the same head in "
                   "sequence: re-point the newer branch's first revision at the other head "
                   "(after a merge conflict in sluice.sum).")
@click.option("--move", default=None, metavar="REV",
              help="With --rebase: re-point the branch holding REV (default: the one not "
                   "yet on the base branch, else the newer).")
@click.option("--base", default=None, metavar="REF",
              help="With --rebase: revisions on this git ref are never moved (default: "
                   "origin/main, main, origin/master, master).")
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when sluice.sum was created or changed (pre-commit: stage it "
                   "and commit again).")
@handle_errors
def lock(config_path: Path, x_args: tuple[str, ...], env: str | None, rebase: bool,
         move: str | None, base: str | None, exit_code: bool) -> None:
    """Write sluice.sum: the SHA-256 of every revision file and the current head(s).

    Exit 2, writing nothing, when a revision does not parse or the graph is broken."""
    from sluice.check import lock as write_lock

    if (move or base) and not rebase:
        raise SluiceError("--move and --base only apply with --rebase")
    if rebase:
        from sluice.check.rebase import rebase_heads

        rebased = rebase_heads(config_path, move=move, base=base)
        for m in rebased.moves:
            click.echo(f"re-pointed {m.revision} ({m.path.name}): down_revision "
                       f"{', '.join(m.old) or 'None'} -> {m.new}")
        if not rebased.moves:
            click.echo("nothing to rebase: the revision graph has no heads to join")
    result = write_lock(config_path, x_args=x_args)
    heads = " ".join(result.heads) or "none"
    for file in result.unreadable:
        click.echo(f"sluice: warning: {file}: cannot read its revision id; the heads line "
                   "leaves it out (run `sluice check --only graph`)", err=True)
    if not result.changed:
        click.echo(f"{result.path.name} is up to date ({result.files} revision files; "
                   f"heads: {heads})")
        return
    verb = "created" if result.created else "wrote"
    click.echo(f"{verb} {result.path} ({result.files} revision files; heads: {heads})")
    for label, files in (("added", result.added), ("changed", result.modified),
                         ("removed", result.removed)):
        for file in files[:10]:
            click.echo(f"  {label}: {file}")
        if len(files) > 10:
            click.echo(f"  ... {len(files) - 10} more {label}")
    if result.created:
        click.echo(f"sluice: {result.path.name} is new: commit it with the migrations "
                   f"(git add {result.path.name})", err=True)
    if exit_code:
        sys.exit(1)


def _split_values(values: tuple[str, ...]) -> list[str]:
    """``--dialect postgresql,mysql --dialect sqlite`` -> three values."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


@main.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@common_options
@click.option("--all", "scope_all", is_flag=True,
              help="Lint every revision, the reviewed history recorded in sluice.sum too.")
@click.option("--since", default=None, metavar="REV",
              help="Lint the revisions after REV (its descendants).")
@click.option("--revision", "revisions", multiple=True, metavar="REV",
              help="Lint this revision (id, unique prefix, head, branch label); repeatable.")
@click.option("--changed", is_flag=True,
              help="Lint revision files git sees as changed against --base, untracked included.")
@click.option("--base", default=None, metavar="REF",
              help="Base for --changed (default: origin/main, then main).")
@click.option("--format", "fmt",
              type=click.Choice(["text", "json", "sarif", "github", "gitlab"]),
              default="text", show_default=True,
              help="Output format (machine formats: stdout only; gitlab: code quality "
                   "report).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Lowest severity that exits 1 (default: lint.fail_on, 'error').")
@click.option("--dialect", "dialects", multiple=True, metavar="NAME",
              help="Lint only these dialects: postgresql, mysql, sqlite (repeatable).")
@click.option("--tree", "trees", multiple=True, metavar="NAME",
              help="Lint only this tree: a version location (a folder name: every location "
                   "with that name) or a branch label (repeatable).")
@click.option("--stub", "stubs", multiple=True, metavar="MODULE",
              help="Replace MODULE with a stand-in while rendering (adds to lint.stub_modules).")
@click.option("--no-render", is_flag=True, help="Static analysis only (no offline rendering).")
@click.option("--no-cache", is_flag=True, help="Ignore and do not update the lint cache.")
@handle_errors
def lint(files: tuple[Path, ...], config_path: Path, x_args: tuple[str, ...], env: str | None,
         scope_all: bool, since: str | None, revisions: tuple[str, ...], changed: bool,
         base: str | None, fmt: str, fail_on: str | None, dialects: tuple[str, ...], trees: tuple[str, ...],
         stubs: tuple[str, ...], no_render: bool, no_cache: bool) -> None:
    """Lint revisions for operations that lose data, lock tables or break running code.

    Exit 0 when clean, 1 when a finding reaches --fail-on, 2 when the project cannot be
    linted. The last line is the coverage: how many revisions rendered offline and why
    the others were analysed from their source only. FILES: lint only these revision
    files; other files are ignored (pre-commit passes every staged file).
    """
    from sluice.config import load_config
    from sluice.lint.engine import lint_project
    from sluice.report import render_findings

    scopes = [name for name, on in (("--all", scope_all), ("--since", since is not None),
                                    ("--revision", bool(revisions)), ("--changed", changed),
                                    ("FILES", bool(files)))
              if on]
    if len(scopes) > 1:
        raise SluiceError(f"choose one scope: {' and '.join(scopes)} cannot be combined")
    if base is not None and not changed:
        raise SluiceError("--base only applies with --changed")
    if not config_path.is_file():
        raise SluiceError(f"{config_path}: no such file (pass -c/--config PATH to alembic.ini)")
    cfg = load_config(config_path)
    if env is not None:
        cfg = cfg.for_environment(cfg.validate_environment(env, origin="--env"))
    if files:
        from sluice.hooks import lint_files

        lint_project = functools.partial(lint_files, files=files)
    result = lint_project(
        config_path, cfg,
        revisions=list(revisions) or None,
        since=since,
        changed_base=(base or True) if changed else None,
        dialects=_split_values(dialects) or None,
        trees=_split_values(trees) or None,
        stub_modules=_split_values(stubs),
        x_args=x_args,
        use_cache=not no_cache,
        render=False if no_render else None,
        baseline=not scopes,
    )
    threshold = fail_on or cfg.lint.fail_on
    from sluice.report.text import severity_counts

    counts = severity_counts(result.findings)
    if result.suppressed:
        counts += f" ({len(result.suppressed)} suppressed)"
    extra: dict[str, Any] | None = None
    if fmt in ("json", "sarif"):  # the formats that carry it; text never builds it
        extra = {"summary": {**result.counts(), "suppressed": len(result.suppressed),
                             "fail_on": threshold, "failed": result.failed(threshold)},
                 # reviewed, not harmless: each with its reason ("suppressed")
                 "suppressed": [f.as_dict() for f in result.suppressed],
                 "coverage": result.coverage.as_dict(),
                 "dialects": result.dialects,
                 "notes": _lint_notes(result.notes, config_path),
                 "revisions": [{k: v for k, v in r.as_dict().items() if k != "statements"}
                               for r in result.revisions]}
    render_findings(
        fmt, result.findings,
        summary=([counts, result.coverage.line()] if fmt == "text"
                 else [result.coverage.line()]) + _lint_notes(result.notes, config_path),
        extra=extra,
    )
    sys.exit(1 if result.failed(threshold) else 0)


def _lint_notes(notes: list[str], config_path: Path) -> list[str]:
    """The engine's notes, with ``sluice lock`` spelled for this project's alembic.ini."""
    if config_path != Path("alembic.ini"):
        lock = f"`sluice lock -c {shlex.quote(str(config_path))}`"
        return [n.replace("`sluice lock`", lock) for n in notes]
    return list(notes)


@main.command("rules")
@click.argument("rule", required=False, metavar="[ID|NAME]")
@common_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@handle_errors
def rules_command(rule: str | None, config_path: Path, x_args: tuple[str, ...],
                  env: str | None, fmt: str) -> None:
    """List the lint rule catalog, or print one rule's documentation."""
    import difflib
    import json

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from sluice.config import load_config
    from sluice.lint.registry import active_rules, all_rules, find_rule, severity_for

    cfg = load_config(config_path if config_path.is_file() else Path.cwd())
    catalog = all_rules()
    enabled = {r.id for r in active_rules(cfg)}
    console = Console(highlight=False, soft_wrap=rule is not None)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=rule is not None, width=160)
    if rule is not None:
        found = find_rule(rule)
        if found is None:
            import re

            keys = [r.id for r in catalog.values()] + [r.name for r in catalog.values()]
            close = difflib.get_close_matches(rule.upper() if rule[:2].lower() == "sl"
                                              else rule.lower(), keys, n=3, cutoff=0.5)
            m = re.fullmatch(r"(?i)s?l?0*(\d+)", rule.strip())
            same = [r.id for r in catalog.values() if m and int(r.id[2:]) == int(m.group(1))]
            close = same + [c for c in close if c not in same][: 3 - len(same)]
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise SluiceError(f"unknown rule '{rule}'",
                              hint=f"{hint}List the catalog with `sluice rules`.")
        sev = severity_for(found, cfg)
        if fmt == "json":
            click.echo(json.dumps(_rule_json(found, sev, found.id in enabled), indent=2))
            return
        console.print(Text(f"{found.id} {found.name}", style="bold"))
        state = "enabled" if found.id in enabled else "disabled (enable it in lint.enable)"
        console.print(Text(f"family: {found.family} · severity: {sev} · dialects: "
                           f"{', '.join(found.dialects)} · {state}"))
        console.print()
        console.print(Text(found.doc))
        return
    ordered = sorted(catalog.values(), key=lambda r: r.id)
    if fmt == "json":
        click.echo(json.dumps([_rule_json(r, severity_for(r, cfg), r.id in enabled)
                               for r in ordered], indent=2))
        return
    table = Table(title=None, show_lines=False, header_style="bold")
    for col in ("ID", "Name", "Family", "Severity", "Dialects", "On"):
        table.add_column(col, no_wrap=True)
    table.add_column("Summary", overflow="fold")
    for r in ordered:
        dialects = "all" if len(r.dialects) >= 3 else ", ".join(r.dialects)
        table.add_row(r.id, r.name, r.family, severity_for(r, cfg), dialects,
                      "yes" if r.id in enabled else "no", r.summary)
    console.print(table)
    console.print(Text(f"{len(ordered)} rules; `sluice rules ID` prints one rule's docs."))


def _rule_json(r: Any, severity: str, enabled: bool) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "family": r.family, "severity": severity,
            "default_severity": r.severity, "dialects": list(r.dialects),
            "enabled": enabled, "summary": r.summary, "doc": r.doc}


# --------------------------------------------------------------------------- guarded runs


def _url_option(fn: F) -> F:
    return click.option(
        "--url", default=None, metavar="URL",
        help="Database URL (default: the environment's url, then sqlalchemy.url).",
    )(fn)


def _format_option(fn: F) -> F:
    return click.option(
        "--format", "fmt", type=click.Choice(["text", "json"]), default="text",
        show_default=True, help="Output format (json: stdout only).",
    )(fn)


@main.command("plan", cls=RevisionCommand)
@click.argument("revision", default="head")
@common_options
@_url_option
@click.option("--downgrade", is_flag=True, help="Plan a downgrade to REVISION.")
@click.option("--no-sql", is_flag=True, help="Leave out the SQL preview.")
@_format_option
@handle_errors
def plan_command(revision: str, config_path: Path, x_args: tuple[str, ...], env: str | None,
                 url: str | None, downgrade: bool, no_sql: bool, fmt: str) -> None:
    """What `sluice upgrade REVISION` would do: revisions, operations, risk, table sizes, SQL.

    Exit 1 when the environment's guards would refuse the plan."""
    import json

    from sluice.runner.api import make_plan

    plan = make_plan(config_path, target=revision, downgrade=downgrade, env=env, url=url,
                     x_args=x_args, with_sql=not no_sql)
    if fmt == "json":
        click.echo(json.dumps(plan.as_dict(), indent=2))
    else:
        click.echo(plan.render(sql=not no_sql))
    if plan.refusals:
        sys.exit(1)


def _confirm_plan(plan: Any) -> bool:
    click.echo(plan.render(), err=True)
    click.echo("", err=True)
    verb = "apply" if plan.direction == "upgrade" else "run"
    return click.confirm(f"{verb} this {plan.direction} on {plan.environment}?",
                         default=False, err=True)


def _migrate(direction: str, revision: str, config_path: Path, x_args: tuple[str, ...],
             env: str | None, url: str | None, yes: bool, dry_run: bool, sql: bool, fmt: str,
             allow_downgrade: bool = False) -> None:
    import json

    from sluice.runner.api import migrate, offline_sql
    from sluice.runner.run import MigrationFailed, RunOptions

    if sql:
        if dry_run:
            raise SluiceError("--sql and --dry-run exclude each other")
        click.echo(offline_sql(config_path, direction=direction, target=revision, env=env,
                               url=url, x_args=x_args), nl=False)
        return
    options = RunOptions(
        direction=direction, target=revision, dry_run=dry_run, yes=yes,
        allow_downgrade=allow_downgrade,
        confirm=_confirm_plan if sys.stdin is not None and sys.stdin.isatty() else None,
        notify=lambda message: click.echo(f"sluice: {message}", err=True),
    )
    try:
        result = migrate(config_path, options, env=env, url=url, x_args=x_args)
    except MigrationFailed as exc:
        if fmt == "json":
            click.echo(json.dumps(exc.result.as_dict(), indent=2))
        raise
    _report_after_success(json.dumps(result.as_dict(), indent=2) if fmt == "json"
                          else result.render(), f"the {direction} succeeded")


def _report_after_success(report: str, done: str) -> None:
    """Print the report of a migration that succeeded. When stdout cannot take it (a full
    disk, a closed pipe), say on stderr that the migration succeeded and exit 0: the exit
    code is about the database, and a deploy script must not retry or roll back a
    migration that was applied."""
    try:
        click.echo(report)
        sys.stdout.flush()
    except OSError as exc:
        try:  # the interpreter's final flush must not fail again (exit 120)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        click.echo(f"sluice: {done}, but its report could not be written to stdout "
                   f"({exc.strerror or exc}); `sluice history` shows what ran", err=True)


@main.command("upgrade", cls=RevisionCommand)
@click.argument("revision", default="head")
@common_options
@_url_option
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation (CI, scripts).")
@click.option("--dry-run", is_flag=True,
              help="Run it all in one transaction, then roll back (PostgreSQL, SQLite).")
@click.option("--sql", is_flag=True,
              help="Print the SQL from the database's current revision instead (FROM:TO works).")
@_format_option
@handle_errors
def upgrade_command(revision: str, config_path: Path, x_args: tuple[str, ...], env: str | None,
                    url: str | None, yes: bool, dry_run: bool, sql: bool, fmt: str) -> None:
    """Alembic's upgrade to REVISION (default head) under the environment's guards."""
    _migrate("upgrade", revision, config_path, x_args, env, url, yes, dry_run, sql, fmt)


@main.command("downgrade", cls=RevisionCommand)
@click.argument("revision")
@common_options
@_url_option
@click.option("--allow-downgrade", is_flag=True,
              help="Allow it where the environment refuses downgrades (production).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation (CI, scripts).")
@click.option("--dry-run", is_flag=True,
              help="Run it all in one transaction, then roll back (PostgreSQL, SQLite).")
@click.option("--sql", is_flag=True,
              help="Print the SQL from the database's current revision instead (FROM:TO works).")
@_format_option
@handle_errors
def downgrade_command(revision: str, config_path: Path, x_args: tuple[str, ...],
                      env: str | None, url: str | None, allow_downgrade: bool, yes: bool,
                      dry_run: bool, sql: bool, fmt: str) -> None:
    """Alembic's downgrade to REVISION (an id, -1 or base) under the guards."""
    _migrate("downgrade", revision, config_path, x_args, env, url, yes, dry_run, sql, fmt,
             allow_downgrade=allow_downgrade)


@main.command("history")
@common_options
@_url_option
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show the newest N rows.")
@click.option("--revision", default=None, help="Only this revision's rows.")
@_format_option
@handle_errors
def history_command(config_path: Path, x_args: tuple[str, ...], env: str | None,
                    url: str | None, limit: int | None, revision: str | None, fmt: str) -> None:
    """The audit table (sluice_history), newest first; edited applied revisions flagged."""
    import json

    from sluice.runner.api import history

    report = history(config_path, env=env, url=url, x_args=x_args, limit=limit,
                     revision=revision)
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(report.render())


# --------------------------------------------------------------------------- revision graph


def _graph_name_option(fn: F) -> F:
    return click.option(
        "-n", "--name", "ini_section", default="alembic", show_default=True, metavar="SECTION",
        help="alembic.ini section, like `alembic -n` (a service with its own version table).",
    )(fn)


def _graph_stub_option(fn: F) -> F:
    return click.option(
        "--stub", "stubs", multiple=True, metavar="MODULE",
        help="Stand-in for MODULE when a revision whose header is computed must be imported "
             "(adds to lint.stub_modules).",
    )(fn)


def _load_graph(config_path: Path, ini_section: str, stubs: tuple[str, ...],
                url: str | None = None) -> tuple[Any, Any]:
    """The sluice config (a broken sluice.toml is exit 2, as everywhere) and the graph."""
    from sluice.config import load_config
    from sluice.graph import load_graph

    config = load_config(config_path)
    graph = load_graph(config_path, name=ini_section, url=url, sluice_config=config,
                       stub_modules=[*config.lint.stub_modules, *_split_values(stubs)])
    return config, graph


@main.command("graph")
@common_options
@_graph_name_option
@click.option("--url", default=None, metavar="URL",
              help="Mark the revisions this database is at (the section's version table).")
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid", "dot", "json"]),
              default="text", show_default=True,
              help="text: a tree in the terminal; mermaid/dot for docs and reviews.")
@_graph_stub_option
@handle_errors
def graph_command(config_path: Path, x_args: tuple[str, ...], env: str | None,
                  ini_section: str, url: str | None, fmt: str, stubs: tuple[str, ...]) -> None:
    """The revision tree: branches, branch labels, merge points, heads, the database."""
    import json
    import shutil

    from sluice.graph import graph_json, render_dot, render_mermaid, render_text

    _, graph = _load_graph(config_path, ini_section, stubs, url)
    if fmt == "mermaid":
        click.echo(render_mermaid(graph), nl=False)
    elif fmt == "dot":
        click.echo(render_dot(graph), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(graph_json(graph), indent=2))
    else:
        tty = sys.stdout.isatty()
        color = tty and not os.environ.get("NO_COLOR")
        width = shutil.get_terminal_size().columns if tty else 100
        click.echo(render_text(graph, width=width, color=color), nl=False)


@main.command("heads")
@common_options
@_graph_name_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format (json: stdout only).")
@_graph_stub_option
@handle_errors
def heads_command(config_path: Path, x_args: tuple[str, ...], env: str | None,
                  ini_section: str, fmt: str, stubs: tuple[str, ...]) -> None:
    """Explain multiple heads and print the `alembic merge` command that joins them.

    Exit 1 when there are heads that [tool.sluice.check] expected_heads does not declare."""
    import json

    from sluice.graph import explain_heads, heads_json, render_heads

    config, graph = _load_graph(config_path, ini_section, stubs)
    from sluice.policy.services import service_labels

    report = explain_heads(graph, config.check.expected_heads,
                           sorted(service_labels(config)))
    if fmt == "json":
        click.echo(json.dumps(heads_json(graph, report), indent=2))
    else:
        click.echo(render_heads(graph, report), nl=False)
    if not report.ok:
        sys.exit(1)


@main.command("trace")
@common_options
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
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]),
              default="text", show_default=True, help="Output format (machine formats: stdout only).")
@click.option("-v", "--verbose", is_flag=True,
              help="Text: also list locks on relations created by the revision.")
@handle_errors
def trace_command(config_path: Path, x_args: tuple[str, ...], env: str | None,
                  revisions: tuple[str, ...], url: str | None, seed_rows: int, fail_on: str,
                  no_crosscheck: bool, fmt: str, verbose: bool) -> None:
    """Run revisions on a scratch database and report the locks they really take.

    REV: revision ids, prefixes, head/heads, or ranges LOWER:UPPER (default: all).
    Exit 1 when a statement took a lock blocking writes (see --fail-on) on a table that
    existed before its revision, 2 when tracing could not run.
    """
    import contextlib

    from sluice.trace import fails, trace
    from sluice.trace.render import render

    if url is None:
        raise SluiceError("sluice trace needs a server to run on: pass --url "
                          "postgresql://user@host/postgres (or mysql+pymysql://...) "
                          "or set SLUICE_TRACE_URL")

    def log(message: str) -> None:
        if sys.stderr.isatty() or os.environ.get("SLUICE_VERBOSE"):
            click.echo(f"sluice: {message}", err=True)

    # migrations and env.py may print; keep stdout for the report alone
    with contextlib.redirect_stdout(sys.stderr):
        result = trace(config_path, url, revisions, x_args=x_args, env=env,
                       seed_rows=seed_rows, crosscheck=not no_crosscheck, log=log)
    render(fmt, result, result.findings, sys.stdout, verbose=verbose)
    if result.failure:
        raise SluiceError(result.failure)
    sys.exit(1 if fails(result, fail_on) else 0)
