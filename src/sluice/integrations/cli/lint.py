"""``sluice lint`` and ``sluice rules`` (the rule catalog)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sluice.integrations.cli.common import (
    common_options,
    few_collections,
    handle_errors,
    section_option,
)
from sluice.integrations.cli.formats import format_option
from sluice.integrations.cli.lint_run import lint_output, write_output

if TYPE_CHECKING:
    from rich.console import Console

    from sluice.config import SluiceConfig
    from sluice.rules.registry import Kind, Rule


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@common_options
@section_option
@click.option("--all", "scope_all", is_flag=True,
              help="Lint every revision, the reviewed history recorded in sluice.sum too.")
@click.option("--since", default=None, metavar="REV",
              help="Lint the revisions after REV (its descendants).")
@click.option("--revision", "revisions", multiple=True, metavar="REV",
              help="Lint this revision (id, unique prefix, head, branch label); repeatable.")
@click.option("--changed", is_flag=True,
              help="Lint revision files git sees as changed against --base, untracked included.")
@click.option("--base", default=None, metavar="REF",
              help="Base for --changed (default: the first of origin/main, main, "
                   "origin/master, master that exists).")
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
@click.option("--show-fixes/--no-show-fixes", default=None,
              help="Text output: under each finding a recipe answers, the diff `sluice fix` "
                   "would make (default: lint.show_fixes, off: one line counts them).")
@handle_errors
def lint(files: tuple[Path, ...], config_path: Path, x_args: tuple[str, ...], env: str | None,
         ini_section: str, scope_all: bool, since: str | None, revisions: tuple[str, ...], changed: bool,
         base: str | None, fmt: str, fail_on: str | None, dialects: tuple[str, ...], trees: tuple[str, ...],
         stubs: tuple[str, ...], no_render: bool, no_cache: bool, all_findings: bool,
         show_fixes: bool | None) -> None:
    """Lint revisions for operations that lose data, lock tables or break running code.

    Exit 0 when clean, 1 when a finding reaches --fail-on, 2 when the project cannot be
    linted. The last line is the coverage: how many revisions were read statically, how
    many rendered offline and why (static analysis could not decide them), the
    dialects linted and where they came from. FILES: lint only these revision
    files; other files are ignored (pre-commit passes every staged file).
    """
    with few_collections():
        out = lint_output(files, config_path, x_args, env, scope_all, since, revisions, changed,
                          base, fmt, fail_on, dialects, trees, stubs, no_render, no_cache,
                          all_findings, ini_section=ini_section, show_fixes=show_fixes)
        write_output(out)
    sys.exit(out.exit_code)


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
    from sluice.rules.registry import all_rules, find_rule  # lazy: start-up (upgrade)

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
