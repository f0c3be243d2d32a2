"""``sluice lint`` and ``sluice rules`` (the rule catalog)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sluice.integrations.cli.common import (
    common_options,
    few_collections,
    handle_errors,
    split_values,
)
from sluice.integrations.cli.formats import format_option

if TYPE_CHECKING:
    from rich.console import Console

    from sluice.config import SluiceConfig
    from sluice.errors import SluiceError
    from sluice.lint.model import Finding
    from sluice.lint.results import LintResult
    from sluice.rules.registry import Rule


@click.command()
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
@format_option("lint", "Output format (machine formats: stdout only; gitlab: code quality "
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
@click.option("--all-findings", is_flag=True,
              help="Text output: also list the findings of revisions unchanged since the "
                   "cached lint that showed them (by default one line counts them).")
@handle_errors
def lint(files: tuple[Path, ...], config_path: Path, x_args: tuple[str, ...], env: str | None,
         scope_all: bool, since: str | None, revisions: tuple[str, ...], changed: bool,
         base: str | None, fmt: str, fail_on: str | None, dialects: tuple[str, ...], trees: tuple[str, ...],
         stubs: tuple[str, ...], no_render: bool, no_cache: bool, all_findings: bool) -> None:
    """Lint revisions for operations that lose data, lock tables or break running code.

    Exit 0 when clean, 1 when a finding reaches --fail-on, 2 when the project cannot be
    linted. The last line is the coverage: how many revisions were read statically, how
    many rendered offline and why (static analysis could not decide them), the
    dialects linted and where they came from. FILES: lint only these revision
    files; other files are ignored (pre-commit passes every staged file).
    """
    with few_collections():
        _lint(files, config_path, x_args, env, scope_all, since, revisions, changed, base, fmt,
              fail_on, dialects, trees, stubs, no_render, no_cache, all_findings)


def _lint(files: tuple[Path, ...], config_path: Path, x_args: tuple[str, ...], env: str | None,
          scope_all: bool, since: str | None, revisions: tuple[str, ...], changed: bool,
          base: str | None, fmt: str, fail_on: str | None, dialects: tuple[str, ...],
          trees: tuple[str, ...], stubs: tuple[str, ...], no_render: bool, no_cache: bool,
          all_findings: bool) -> None:
    from sluice.config import load_config  # lazy: start-up: loads when the command runs
    from sluice.lint.engine import lint_project  # lazy: start-up: loads when the command runs
    from sluice.output import render_findings  # lazy: start-up: loads when the command runs

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
        from sluice.integrations.hooks import lint_files  # lazy: start-up: FILE arguments only

        lint_project = functools.partial(lint_files, files=files)
    result = lint_project(
        config_path, cfg,
        revisions=list(revisions) or None,
        since=since,
        changed_base=(base or True) if changed else None,
        dialects=split_values(dialects) or None,
        trees=split_values(trees) or None,
        stub_modules=split_values(stubs),
        x_args=x_args,
        use_cache=not no_cache,
        render=False if no_render else None,
        baseline=not scopes,
    )
    threshold = fail_on or cfg.lint.fail_on
    from sluice.output.text import severity_counts  # lazy: start-up: loads when the command runs

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
    shown, summary = result.findings, [result.coverage.line()]
    if fmt == "text":
        summary.insert(0, counts)
        if not scopes and not all_findings:
            shown, hidden = _unchanged_hidden(result)
            if hidden:
                summary.insert(1, hidden)
    fixes = None
    if fmt == "text":  # the diff sluice fix would make, under each finding it answers
        from sluice.integrations.cli.lint_fixes import fix_diffs  # lazy: text output only

        fixes, more = fix_diffs(shown, dialects=result.dialects, config=cfg, env=env,
                                root=config_path.parent)
        if more:
            summary.insert(1, more)
    render_findings(fmt, shown, summary=summary + _lint_notes(result.notes, config_path),
                    extra=extra, fixes=fixes)
    sys.exit(1 if result.failed(threshold) else 0)


def _unchanged_hidden(result: LintResult) -> tuple[list[Finding], str | None]:
    """The findings to list, and the line counting those left out: the findings of
    revisions whose cached analysis is still valid were listed by the lint that cached
    them (``--all-findings``, a scope or a machine format lists them again)."""
    unchanged = {r.path for r in result.revisions if r.cached}
    if not unchanged:
        return result.findings, None
    shown = [f for f in result.findings if f.path not in unchanged]
    hidden = len(result.findings) - len(shown)
    if not hidden:
        return shown, None
    files = len({f.path for f in result.findings if f.path in unchanged})
    return shown, (f"{hidden} finding{'s' if hidden != 1 else ''} in {files} unchanged "
                   f"revision{'s' if files != 1 else ''} not listed again "
                   "(--all-findings lists them)")


def _lint_notes(notes: list[str], config_path: Path) -> list[str]:
    """The engine's notes, with ``sluice lock`` spelled for this project's alembic.ini."""
    if config_path != Path("alembic.ini"):
        import shlex  # lazy: only for this note; start-up of every lint

        lock = f"`sluice lock -c {shlex.quote(str(config_path))}`"
        return [n.replace("`sluice lock`", lock) for n in notes]
    return list(notes)


@click.command("rules")
@click.argument("rule", required=False, metavar="[ID|NAME]")
@common_options
@format_option("rules", "Output format.")
@click.option("--kind", type=click.Choice(["lint", "trace", "check", "all"]), default=None,
              help="List these rules (default: lint): trace (what `sluice trace` measures), "
                   "check (the checks of `sluice check`) or all, with a Kind column.")
@handle_errors
def rules_command(rule: str | None, config_path: Path, x_args: tuple[str, ...],
                  env: str | None, fmt: str, kind: str | None) -> None:
    """List the rule catalog (lint rules unless --kind says otherwise), or print one rule's
    documentation (a lint, trace or check rule, by id or name)."""
    from rich.console import Console  # lazy: start-up (rich)

    from sluice.config import load_config  # lazy: start-up (Alembic's error class)
    from sluice.rules.registry import Kind, all_rules, find_rule  # lazy: start-up (upgrade)

    cfg = load_config(config_path if config_path.is_file() else Path.cwd())
    wanted: Kind | None = None if kind == "all" else kind or "lint"  # type: ignore[assignment]
    console = Console(highlight=False, soft_wrap=rule is not None)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=rule is not None, width=160)
    if rule is None:
        _print_catalog(list(all_rules(wanted).values()), cfg, fmt, console,
                       with_kind=kind is not None)
        return
    found = find_rule(rule, wanted) if kind is not None else (
        find_rule(rule) or find_rule(rule, None))
    if found is None:
        _unknown_rule(rule, list(all_rules(wanted if kind is not None else None).values()))
    else:
        _print_rule(found, cfg, fmt, console)


def _rule_state(r: Rule, cfg: SluiceConfig, enabled: set[str]) -> tuple[str, bool]:
    """A rule's severity under ``cfg`` and whether it is on."""
    from sluice.rules.registry import severity_for  # lazy: start-up (upgrade)

    if r.kind == "lint":
        return severity_for(r, cfg), r.id in enabled
    if r.kind == "check":
        return r.severity, cfg.check.checks is None or r.name in cfg.check.checks
    return r.severity, True


def _print_catalog(catalog: list[Rule], cfg: SluiceConfig, fmt: str, console: Console,
                   *, with_kind: bool) -> None:
    import json  # lazy: start-up

    from rich.table import Table  # lazy: start-up (rich)
    from rich.text import Text  # lazy: start-up (rich)

    from sluice.rules.registry import KINDS, active_rules  # lazy: start-up (upgrade)

    enabled = {r.id for r in active_rules(cfg)}
    # lint and trace rules by id, checks in the order they run
    ordered = sorted(catalog, key=lambda r: (KINDS.index(r.kind),
                                             r.id if r.kind != "check" else ""))
    if fmt == "json":
        rows = [_rule_json(r, *_rule_state(r, cfg, enabled)) for r in ordered]
        if with_kind:
            rows = [{"kind": r.kind, **row} for r, row in zip(ordered, rows, strict=True)]
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=None, show_lines=False, header_style="bold")
    columns = ("Kind",) * with_kind + ("ID", "Name", "Family", "Severity", "Dialects", "On")
    for col in columns:
        table.add_column(col, no_wrap=True)
    table.add_column("Summary", overflow="fold")
    for r in ordered:
        severity, on = _rule_state(r, cfg, enabled)
        dialects = "all" if len(r.dialects) >= 3 else ", ".join(r.dialects)
        table.add_row(*(r.kind,) * with_kind, r.id, r.name, r.family, severity, dialects,
                      "yes" if on else "no", r.summary)
    console.print(table)
    counts = ", ".join(f"{sum(r.kind == k for r in ordered)} {k}" for k in KINDS
                       if any(r.kind == k for r in ordered))
    what = f"{len(ordered)} rules ({counts})" if with_kind else f"{len(ordered)} rules"
    console.print(Text(f"{what}; `sluice rules ID` prints one rule's docs."))


def _unknown_rule(key: str, catalog: list[Rule]) -> None:
    """Exit 2 naming the closest ids and names of ``catalog``."""
    import difflib  # lazy: start-up
    import re  # lazy: start-up

    from sluice.errors import SluiceError  # lazy: start-up (Alembic's error class)

    keys = [r.id for r in catalog] + [r.name for r in catalog]
    close = difflib.get_close_matches(
        key.upper() if key[:2].lower() in ("sl", "tr") else key.lower(), keys, n=3, cutoff=0.5)
    m = re.fullmatch(r"(?i)(sl|tr|s|l|t)?0*(\d+)", key.strip())
    prefix = "TR" if m and (m.group(1) or "").lower() in ("tr", "t") else "SL"
    same = [r.id for r in catalog if m and r.id[:2] == prefix and r.id[2:].isdigit()
            and int(r.id[2:]) == int(m.group(2))]
    close = same + [c for c in close if c not in same][: 3 - len(same)]
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise SluiceError(f"unknown rule '{key}'", hint=f"{hint}List the catalog with `sluice rules`.")


def _print_rule(found: Rule, cfg: SluiceConfig, fmt: str, console: Console) -> None:
    import json  # lazy: start-up

    from rich.text import Text  # lazy: start-up (rich)

    from sluice.rules.registry import active_rules  # lazy: start-up (upgrade)

    severity, on = _rule_state(found, cfg, {r.id for r in active_rules(cfg)})
    if fmt == "json":
        data = _rule_json(found, severity, on)
        click.echo(json.dumps(data if found.kind == "lint" else {"kind": found.kind, **data},
                              indent=2))
        return
    console.print(Text(f"{found.id} {found.name}", style="bold"))
    if found.kind == "lint":
        state = "enabled" if on else "disabled (enable it in lint.enable)"
        facts = (f"family: {found.family} · severity: {severity} · dialects: "
                 f"{', '.join(found.dialects)} · {state}")
    elif found.kind == "trace":
        facts = (f"kind: trace · family: {found.family} · severity: {severity} · measured on: "
                 f"{', '.join(found.dialects)}")
    else:
        state = "runs by default" if on else "not in check.checks"
        facts = (f"kind: check · title: {found.title} · needs a database: "
                 f"{'yes' if found.needs_database else 'no'} · {state}")
    console.print(Text(facts))
    console.print()
    console.print(Text(found.doc))


def _rule_json(r: Rule, severity: str, enabled: bool) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "family": r.family, "severity": severity,
            "default_severity": r.severity, "dialects": list(r.dialects),
            "enabled": enabled, "summary": r.summary, "doc": r.doc}
