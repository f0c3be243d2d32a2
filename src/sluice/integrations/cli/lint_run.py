"""The body of ``sluice lint``, without click: the click command (:mod:`.lint`) and the
plain command line's fast path (:mod:`.fast`) both call :func:`lint_output`, then
:func:`write_output`, so both print the same bytes and exit with the same code."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from sluice.integrations.cli.base import split_values

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sluice.lint.results import LintResult
    from sluice.output.registry import FixKey

__all__ = ["LintOutput", "lint_output", "write_output"]


@dataclass
class LintOutput:
    """What ``sluice lint`` prints and its exit code."""

    fmt: str
    shown: list[Any]
    summary: list[str]
    extra: dict[str, Any] | None
    fixes: dict[FixKey, str] | None
    exit_code: int


def lint_output(files: tuple[Path, ...], config_path: Path, x_args: tuple[str, ...],
                env: str | None, scope_all: bool, since: str | None,
                revisions: tuple[str, ...], changed: bool, base: str | None, fmt: str,
                fail_on: str | None, dialects: tuple[str, ...], trees: tuple[str, ...],
                stubs: tuple[str, ...], no_render: bool, no_cache: bool,
                all_findings: bool, *, ini_section: str = "alembic",
                show_fixes: bool | None = None) -> LintOutput:
    """Lint as the options say (``ini_section``: the alembic.ini section, ``-n``); what to
    print. Raises what the command reports as an error (nothing is printed before this
    returns)."""
    from sluice.config import load_config  # lazy: start-up: loads when the command runs
    from sluice.core.suggest import invocation  # lazy: start-up: loads when the command runs
    from sluice.environments import (  # lazy: start-up: loads when the command runs
        environment_of,
    )
    from sluice.errors import SluiceError  # lazy: start-up: loads when the command runs
    from sluice.lint.engine import lint_project  # lazy: start-up: loads when the command runs

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
    env = environment_of(cfg, env, x_args)
    if env is not None:
        cfg = cfg.for_environment(env)
    # the options every command a note or a fix hint names repeats
    given = invocation(config_path, environment=env, x_args=x_args, ini_section=ini_section)
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
        ini_section=ini_section,
        use_cache=not no_cache,
        render=False if no_render else None,
        baseline=not scopes,
        given=given,
        # (FILE arguments: the findings are filtered after the lint, the kept text is not)
        **(_json_parts() if fmt == "json" and not files else {}),
    )
    threshold = fail_on or cfg.lint.fail_on
    extra: dict[str, Any] | None = None
    if fmt in ("json", "sarif"):  # the formats that carry it; text never builds it
        extra = {"summary": {**result.counts(), "suppressed": len(result.suppressed),
                             "fail_on": threshold, "failed": result.failed(threshold)},
                 # reviewed, not harmless: each with its reason ("suppressed")
                 "suppressed": [f.as_dict() for f in result.suppressed],
                 "coverage": result.coverage.as_dict(),
                 "dialects": result.dialects,
                 "notes": result.notes,
                 "revisions": None}
        if fmt == "json" and result.json_findings is not None \
                and result.json_revisions is not None:  # as encoded (cached) by the lint
            from sluice.output.jsonout import Encoded  # lazy: the json format only

            extra["findings"] = Encoded(result.json_findings)
            extra["revisions"] = Encoded(result.json_revisions)
        else:
            extra["revisions"] = [r.as_dict(statements=False) for r in result.revisions]
    shown, summary = result.findings, [result.coverage.line()]
    if fmt == "text":
        from sluice.output.text import severity_counts  # lazy: the text format only

        counts = severity_counts(result.findings)
        if result.suppressed:
            counts += f" ({len(result.suppressed)} suppressed)"
        summary.insert(0, counts)
        if not scopes and not all_findings:
            shown, hidden = _unchanged_hidden(result)
            if hidden:
                summary.insert(1, hidden)
    fixes = None
    if fmt == "text":  # what sluice fix would do for the findings it answers
        from sluice.integrations.cli.lint_fixes import fix_diffs  # lazy: text output only

        fixes, more = fix_diffs(shown, dialects=result.dialects, config=cfg, env=env,
                                root=config_path.parent, use_cache=not no_cache,
                                explicit_dialect=bool(dialects), section=ini_section,
                                draw=cfg.lint.show_fixes if show_fixes is None else show_fixes,
                                given=given)
        summary[1:1] = more
    return LintOutput(fmt, list(shown), summary + result.notes,
                      extra, fixes, 1 if result.failed(threshold) else 0)


def write_output(out: LintOutput) -> None:
    """Print ``out`` on stdout."""
    from sluice.output import render_findings  # lazy: start-up: loads when the command runs

    render_findings(out.fmt, out.shown, summary=out.summary, extra=out.extra, fixes=out.fixes)


def _json_parts() -> dict[str, Any]:
    """How the findings and revision records of a JSON document are encoded, item by
    item, and the encoder's version: the lint keeps their text in its cache
    (:mod:`sluice.lint.jsonparts`)."""
    from sluice.output import jsonout  # lazy: the json format only

    return {"json_parts": functools.partial(jsonout.list_items, depth=1),
            "json_key": jsonout.source_stamp()}


def _unchanged_hidden(result: LintResult) -> tuple[list[Any], str | None]:
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
