"""Compare what lint predicted with what the database did, line by line.

Each measured statement knows the line of the revision file that sent it (the innermost
frame in that file when it executed). Lint findings carry the line of the operation.
Both are widened to the Python statement that contains them (a multi-line
``op.create_table(...)`` is one statement; ``batch_alter_table`` operations run when its
``with`` block ends, so a statement sent from the ``with`` line covers the whole block).

- **missed danger**: a statement took a lock that blocks reads or writes on an existing
  table, and lint reported nothing at warning or error on that statement.
- **false alarm**: a locking rule fired (family ``postgres-locking``; on MySQL/MariaDB the
  table copy and rebuild rules) on a statement that ran and took no blocking lock on an
  existing table; or a rule that predicts a rewrite fired and the table was not rewritten.
  A statement whose locks are sampled while it runs (in ``autocommit_block``, or on
  MySQL/MariaDB) and where the sampler saw no lock at all is not evidence: a lock held for
  less than a sample is missed. It is counted as unobserved, not as a false alarm.

Findings on lines that did not run (a skipped environment step, another dialect's branch)
are not compared.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Sequence
from pathlib import Path

from sluice.core.findings import SEVERITY_ORDER, Finding
from sluice.lint.engine import lint_project
from sluice.lint.registry import all_rules
from sluice.trace.model import CrossCheck, CrossCheckItem, Statement, TraceResult
from sluice.trace.modes import mode_info

_MYSQL_LOCKING = {"mysql-table-copy", "mysql-table-rebuild"}
_REWRITE_RULES = {"add-column-volatile-default", "type-change-rewrites-table",
                  "mysql-table-copy", "mysql-table-rebuild"}
_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try,
             ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class Spans:
    """Line spans of the Python statements of one file."""

    def __init__(self, path: str) -> None:
        self.simple: list[tuple[int, int]] = []
        self.batch_withs: list[tuple[int, int]] = []
        try:
            tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            return
        for node in ast.walk(tree):
            if not isinstance(node, ast.stmt):
                continue
            end = getattr(node, "end_lineno", None) or node.lineno
            if isinstance(node, (ast.With, ast.AsyncWith)):
                if any("batch_alter_table" in ast.unparse(item.context_expr)
                       for item in node.items):
                    self.batch_withs.append((node.lineno, end))
            elif not isinstance(node, _COMPOUND):
                self.simple.append((node.lineno, end))

    def span(self, line: int) -> tuple[int, int]:
        for start, end in self.batch_withs:
            if start == line:
                return start, end
        best: tuple[int, int] | None = None
        for start, end in self.simple:
            if start <= line <= end and (best is None or end - start < best[1] - best[0]):
                best = (start, end)
        return best or (line, line)


def _resolve(path: str, ini_dir: Path) -> str:
    p = Path(path)
    if not p.is_absolute():
        p = (Path.cwd() / p) if (Path.cwd() / p).exists() else ini_dir / p
    return os.path.realpath(p)


def _locking(f: Finding, families: dict[str, str], backend: str) -> bool:
    if backend == "postgresql":
        return families.get(f.rule, "").endswith("locking")
    return f.name in _MYSQL_LOCKING or families.get(f.rule, "").endswith("locking")


def _measured(stmts: Sequence[Statement], backend: str) -> str:
    flagged = [lk for s in stmts for lk in s.blocking]
    held = [h for s in stmts for h in s.rewrites_under]
    if not flagged and held:
        h = held[0]
        return (f"a rewrite of {h.table} under {h.lock.mode_label} from line {h.line} "
                f"(blocks {h.lock.blocks})")
    if not flagged:
        return "no lock blocking reads or writes of an existing table"
    best = max(flagged, key=lambda lk: mode_info(backend, lk.mode).strength)
    return f"{best.mode_label} on {best.relation} (blocks {best.blocks})"


def _blocked(stmt: Statement) -> bool:
    """Reads or writes of an existing table wait while ``stmt`` runs: it took a blocking
    lock, or ran while an earlier statement's blocking lock was still held (a lock it took
    that the earlier, stronger one covers blocks as much): a locking finding there is
    right, whichever statement took the lock first."""
    return bool(stmt.flagged_locks or stmt.held_earlier or stmt.rewrites_under)


def _complete(stmt: Statement, backend: str) -> bool:
    """Whether every lock ``stmt`` took was read (after it, in its transaction), rather
    than sampled while it ran (``autocommit_block``; MySQL/MariaDB's metadata locks)."""
    return backend == "postgresql" and not stmt.autocommit


def compare(result: TraceResult, findings: Sequence[Finding], ini_dir: Path,
            families: dict[str, str]) -> CrossCheck:
    """Missed dangers and false alarms between ``findings`` (lint) and ``result``."""
    cc = CrossCheck(ran=True)
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        if f.path and f.line:
            by_file.setdefault(_resolve(f.path, ini_dir), []).append(f)
    rewrites_visible = result.rewrite_tracing
    for rt in result.revisions:
        real = os.path.realpath(rt.path)
        spans = Spans(real)
        file_findings = by_file.get(real, [])
        ran: list[tuple[tuple[int, int], Statement]] = [
            (spans.span(s.line), s) for s in rt.statements if s.line and not s.error
        ]
        for span, stmt in ran:
            if not stmt.dangerous:
                continue
            near = [f for f in file_findings if span[0] <= (f.line or 0) <= span[1]
                    and SEVERITY_ORDER.get(f.severity, 0) >= SEVERITY_ORDER["warning"]]
            if near:
                cc.agreed += 1
                continue
            cc.items.append(CrossCheckItem(
                kind="missed-danger", revision=rt.revision, path=rt.path, line=stmt.line,
                measured=_measured([stmt], result.backend),
                lint=[f"{f.rule} {f.name} ({f.severity})" for f in file_findings
                      if span[0] <= (f.line or 0) <= span[1]],
                sql=" ".join(stmt.sql.split()),
            ))
        seen: set[tuple[str, int]] = set()
        for f in file_findings:
            if f.line is None or (f.rule, f.line) in seen:
                continue
            here = [s for span, s in ran if span[0] <= f.line <= span[1]]
            if not here:
                continue
            measured = _measured(here, result.backend)
            if _locking(f, families, result.backend) and not any(_blocked(s) for s in here):
                seen.add((f.rule, f.line))
                if not any(_complete(s, result.backend) or s.locks for s in here):
                    cc.unobserved += 1  # sampled, and nothing seen: no evidence either way
                    continue
                cc.items.append(CrossCheckItem(
                    kind="false-alarm", revision=rt.revision, path=rt.path, line=f.line,
                    measured=measured, lint=[f"{f.rule} {f.name} ({f.severity})"],
                    sql=" ".join(here[0].sql.split()),
                ))
            elif (f.name in _REWRITE_RULES and rewrites_visible
                  and not any(s.rewrites for s in here)):
                seen.add((f.rule, f.line))
                cc.items.append(CrossCheckItem(
                    kind="false-alarm", revision=rt.revision, path=rt.path, line=f.line,
                    measured=f"no rewrite ({measured})",
                    lint=[f"{f.rule} {f.name} ({f.severity})"],
                    sql=" ".join(here[0].sql.split()),
                ))
    cc.items.sort(key=lambda i: (i.path, i.line or 0, i.kind))
    return cc


def crosscheck(result: TraceResult, ini: str | Path, *, x_args: Sequence[str] = (),
               ini_section: str = "alembic") -> CrossCheck:
    """Lint the traced revisions for the traced dialect and :func:`compare`."""
    if not result.revisions:
        return CrossCheck(ran=False, note="no revision was traced")
    dialect = "postgresql" if result.backend == "postgresql" else "mysql"
    try:
        lint = lint_project(ini, revisions=[rt.revision for rt in result.revisions],
                            dialects=[dialect], x_args=x_args, ini_section=ini_section)
    except Exception as exc:
        text = str(exc).strip().splitlines()
        return CrossCheck(ran=False, note=f"lint could not run: {text[0] if text else exc!r}")
    families = {r.id: r.family for r in all_rules().values()}
    # a suppressed finding is one lint reported and a person accepted: it counts as seen
    findings = [f for f in [*lint.findings, *lint.suppressed]
                if f.dialect in (None, dialect)]
    return compare(result, findings, Path(ini).resolve().parent, families)
