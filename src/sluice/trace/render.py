"""``sluice trace`` reports: a statement table per revision for people, and findings in
the formats lint uses (JSON, SARIF, GitHub annotations) with the measurements attached."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sluice.core.findings import Finding
from sluice.output import render_findings
from sluice.output.registry import formats_for, get_format
from sluice.output.text import render_text
from sluice.trace.findings import CROSSCHECK_RULES, RULES, _compact, _ms, display_path
from sluice.trace.model import Lock, RevisionTrace, Statement, TraceResult
from sluice.trace.modes import mode_info

FORMATS: tuple[str, ...] = formats_for("trace")

def _backend_name(result: TraceResult) -> str:
    return {"postgresql": "PostgreSQL", "mariadb": "MariaDB", "mysql": "MySQL"}.get(
        result.backend, result.backend)


def _lock_text(lk: Lock) -> Text:
    t = Text()
    hot = lk.flagged and not lk.covered and not lk.brief
    style = "bold red" if hot and lk.blocks == "reads and writes" else ("red" if hot else "")
    t.append(lk.mode_label, style=style)
    t.append(f" {lk.relation}")
    if lk.covered:
        t.append("  (under a stronger lock already held)", style="dim")
    elif lk.flagged:
        t.append(f"  blocks {lk.blocks}", style=style)
        if lk.held_ms is not None:
            t.append(f", held {_ms(lk.held_ms)}")
        if lk.brief:
            t.append("  (a moment, in its own transaction under the lock timeout)",
                     style="dim")
    if lk.observed == "sampled":
        t.append(" (sampled)", style="dim")
    return t


def _longest_text(rt: RevisionTrace) -> Text:
    """The revision's longest write-blocking lock, the figure a safe recipe keeps short."""
    longest = rt.longest_write_blocking
    if longest is None:
        return Text("  longest write-blocking lock: none", style="dim")
    statement, lk = longest
    held = f", held {_ms(lk.held_ms)}" if lk.held_ms is not None else ""
    line = f", line {statement.line}" if statement.line else ""
    return Text(f"  longest write-blocking lock: {lk.mode_label} on {lk.relation}{held} "
                f"(statement {statement.index}{line})")


def _notable(lk: Lock, backend: str) -> bool:
    """Shown without -v: blocking locks on existing relations, and the modes just below
    (SHARE UPDATE EXCLUSIVE, SHARED_UPGRADABLE) that block only other DDL."""
    if lk.covered:
        return False
    return lk.existing and (lk.flagged or mode_info(backend, lk.mode).strength >= 4)


def _rows(statements: list[Statement]) -> list[list[Statement]]:
    """Statements as the text report shows them: one row each, except that the
    consecutive statements of one ``sluice.data`` step (reflection, BEGIN/COMMIT, batches,
    checkpoint updates: Sluice's bookkeeping) share one row."""
    rows: list[list[Statement]] = []
    for s in statements:
        if s.step is not None and rows and rows[-1][0].step == s.step:
            rows[-1].append(s)
        else:
            rows.append([s])
    return rows


def _index(group: list[Statement]) -> str:
    first, last = group[0].index, group[-1].index
    return str(first) if first == last else f"{first}-{last}"


def _row(group: list[Statement], rt: RevisionTrace, backend: str,
         verbose: bool) -> tuple[str, str, str, str, Text]:
    s = group[0]
    # a step's batches take the same locks again and again: each (relation, mode) once
    locks = list({(lk.relation, lk.mode): lk for st in reversed(group) for lk in st.locks}
                 .values())[::-1]
    cell = Text()
    shown = [lk for lk in locks if verbose or _notable(lk, backend)]
    for i, lk in enumerate(shown):
        if i:
            cell.append("\n")
        cell.append_text(_lock_text(lk))
    rest = len(locks) - len(shown)
    if rest:
        cell.append(("\n" if shown else "") + f"{rest} more (harmless or covered; -v lists them)",
                    style="dim")
    rewrites = [t for st in group for t in st.rewrites]
    if rewrites:
        cell.append(("\n" if len(cell) else "") + "rewrote " + ", ".join(rewrites),
                    style="magenta")
    for h in (h for st in group for h in st.rewrites_under):
        cell.append(f" under {h.lock.mode_label} from line {h.line}", style="red")
    if any(st.autocommit for st in group):
        cell.append(("\n" if len(cell) else "") + "autocommit (outside the transaction)",
                    style="dim")
    for st in group:
        if st.error:
            cell.append(("\n" if len(cell) else "") + f"failed: {st.error}", style="bold red")
    if not len(cell):
        cell.append("-", style="dim")
    if s.step is None:
        sql = _compact(s.sql, 100)
    else:
        batches = rt.data_steps.get(s.step)
        counted = f": {batches} batch{'' if batches == 1 else 'es'}" if batches is not None else ""
        sql = (f"sluice.data step '{s.step}'{counted} ({len(group)} statements, listed in "
               "JSON)")
    return (_index(group), str(s.line or ""), sql,
            _ms(sum(st.duration_ms for st in group)), cell)


def summary_lines(result: TraceResult, findings: Sequence[Finding]) -> list[str]:
    stmts = result.statements
    blocking = sum(1 for s in stmts if s.dangerous)
    lines = [
        f"{len(result.revisions)} revision(s), {len(stmts)} statement(s) traced on "
        f"{_backend_name(result)} {result.server_version}; {blocking} statement(s) took a "
        "lock blocking reads or writes of an existing table."
    ]
    if result.failure:
        lines.append(f"stopped: {result.failure}")
    return lines


def render_text_report(result: TraceResult, findings: Sequence[Finding], stream: IO[str],
                       *, verbose: bool = False) -> None:
    tty = hasattr(stream, "isatty") and stream.isatty()
    console = Console(file=stream, highlight=False, soft_wrap=False, emoji=False,
                      no_color=bool(os.environ.get("NO_COLOR")) or None,
                      width=None if tty else 140)
    version = result.server_version.split()[0] if result.server_version else ""
    console.print(Text(f"sluice trace: {_backend_name(result)} {version} on {result.server} "
                       "(scratch database, dropped afterwards)", style="bold"), soft_wrap=True)
    if result.seed_rows:
        console.print(Text(f"tables seeded with {result.seed_rows} rows before each revision"))
    if not result.lock_tracing:
        console.print(Text(result.lock_tracing_note or "lock tracing is not available",
                           style="yellow"), soft_wrap=True)
    # one width for the "#" column of every revision, so the tables line up
    width = max((len(_index(g)) for rt in result.revisions for g in _rows(rt.statements)),
                default=1)
    for rt in result.revisions:
        console.print()
        head = Text()
        head.append(rt.revision, style="bold")
        if rt.message:
            head.append(f"  {rt.message}")
        head.append(f"  {display_path(rt.path)}  {_ms(rt.duration_ms)}", style="dim")
        console.print(head)
        if rt.seeded:
            console.print(Text("  seeded: " + ", ".join(f"{t} ({n})" for t, n in rt.seeded.items()),
                               style="dim"))
        if not rt.statements:
            console.print(Text("  no statements" + (f": {rt.error}" if rt.error else ""),
                               style="dim"))
            continue
        table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 1))
        table.add_column("#", justify="right", min_width=width)
        table.add_column("line", justify="right")
        table.add_column("statement", overflow="fold", max_width=56)
        table.add_column("time", justify="right")
        table.add_column("locks")
        for group in _rows(rt.statements):
            table.add_row(*_row(group, rt, result.backend, verbose))
        console.print(table)
        if result.lock_tracing:
            console.print(_longest_text(rt))
    main = [f for f in findings if f.rule in RULES]
    if main:
        console.print()
    render_text(main, stream, summary=())
    cc = result.crosscheck
    if cc is not None:
        console.print(Text("cross-check with lint", style="bold"))
        if not cc.ran:
            console.print(Text(f"  not run: {cc.note}", style="dim"))
        else:
            missed = [i for i in cc.items if i.kind == "missed-danger"]
            false = [i for i in cc.items if i.kind == "false-alarm"]
            console.print(Text(f"  {cc.agreed} blocking statement(s) lint also flagged; "
                               f"{len(missed)} missed danger(s); {len(false)} false alarm(s)"))
            if cc.unobserved:
                console.print(Text(
                    f"  {cc.unobserved} locking finding(s) not judged: their statements ran "
                    "outside the transaction and the sampler saw no lock (one held for less "
                    "than a sample is missed)", style="dim"))
            for item in cc.items:
                where = f"{display_path(item.path)}:{item.line}"
                label = "missed danger" if item.kind == "missed-danger" else "false alarm"
                row = Text("  ")
                row.append(label, style="red" if item.kind == "missed-danger" else "yellow")
                row.append(f"  {where}  measured {item.measured}; lint: "
                           f"{', '.join(item.lint) if item.lint else 'nothing'}")
                console.print(row)
        console.print()
    for note in result.notes:
        console.print(Text(f"note: {note}", style="yellow"))
    for line in summary_lines(result, findings):
        console.print(Text(line))


def render(fmt: str, result: TraceResult, findings: Sequence[Finding],
           stream: IO[str] | None = None, *, verbose: bool = False) -> None:
    """Write the report in ``fmt`` (one of :data:`FORMATS`): text, or the findings with
    the measurements attached in a findings format of the registry."""
    get_format(fmt, "trace")
    out = stream if stream is not None else sys.stdout
    if fmt == "text":
        render_text_report(result, findings, out, verbose=verbose)
        return
    data = result.as_dict()
    data.pop("findings", None)
    rules = {**RULES, **CROSSCHECK_RULES}
    if fmt == "sarif":
        data = {k: data[k] for k in ("backend", "server_version", "server", "lock_tracing",
                                     "rewrite_tracing", "seed_rows", "failure", "notes")}
        data["crosscheck"] = result.crosscheck.as_dict() if result.crosscheck else None
    render_findings(fmt, findings, stream=out, tool="sluice", command="trace",
                    summary=summary_lines(result, findings), extra=data, rules=rules)
