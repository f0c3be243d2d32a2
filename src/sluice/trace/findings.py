"""Turn measurements into findings: what blocked whom, for how long, and what to do.

The rules of ``sluice trace`` (``TR...``) are in the one rule registry
(:mod:`sluice.rules.trace`, one file per rule with its documentation): TR001
``blocks-reads-and-writes`` (a lock that stops even plain reads of a relation that existed
before the revision), TR002 ``blocks-writes`` (a lock that stops INSERT, UPDATE and DELETE)
and TR003 ``table-rewrite`` (an existing table rewritten without a blocking lock being
seen). This module decides which one a measurement is.

One finding per statement and relation (the strongest mode); a lock on an index is not
reported again when the statement's lock on its table is at least as strong.
"""

from __future__ import annotations

import re
from pathlib import Path

from sluice.core.findings import Finding, RuleDoc
from sluice.core.project import display_path as shown_path
from sluice.rules.registry import all_rules
from sluice.trace.model import (
    CrossCheck,
    HeldRewrite,
    Lock,
    RevisionTrace,
    Statement,
    TraceResult,
)
from sluice.trace.modes import mode_info

AUTOCOMMIT = "with op.get_context().autocommit_block():"


def rule_docs(family: str) -> dict[str, RuleDoc]:
    """The trace rules of ``family`` (``locks``, ``crosscheck``) from the rule registry, as
    reports describe them."""
    return {r.id: RuleDoc(r.id, r.name, r.severity, r.summary, r.doc, "trace")
            for r in all_rules("trace").values() if r.family == family}


#: The rules of the measured locks (TR001-TR003, :mod:`sluice.rules.trace`).
RULES: dict[str, RuleDoc] = rule_docs("locks")


def _compact(sql: str, limit: int = 120) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _ms(value: float | None) -> str:
    if value is None:
        return "?"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _steps(*lines: str) -> str:
    return "\n".join(f"{i}. {line}" for i, line in enumerate((x for x in lines if x), 1))


#: ``SET [SESSION|LOCAL] lock_timeout = '5s'`` (PostgreSQL), ``SET [SESSION]
#: lock_wait_timeout = 5`` (MySQL/MariaDB); group 1: the value.
_SET_TIMEOUT = re.compile(
    r"^\s*SET\s+(?:SESSION\s+|LOCAL\s+)?(?:lock_timeout|lock_wait_timeout)\s*(?:=|TO)\s*"
    r"'?([^';\s]+)", re.I)
_RESET_TIMEOUT = re.compile(r"^\s*RESET\s+(?:lock_timeout|ALL)\b", re.I)


def timeout_in_force(statements: list[Statement]) -> set[int]:
    """Indexes of the statements that ran with a lock timeout the revision set before them
    (a recipe's ``SET lock_timeout`` at the top of its block): advising to set one there
    is noise."""
    out: set[int] = set()
    active = False
    for stmt in statements:
        found = _SET_TIMEOUT.match(stmt.sql)
        if found:
            active = found.group(1).strip().lower() not in ("0", "default")
        elif _RESET_TIMEOUT.match(stmt.sql):
            active = False
        elif active:
            out.add(stmt.index)
    return out


def _lock_timeout_step(backend: str) -> str:
    if backend == "postgresql":
        return ("Set a lock timeout for the migration (SET lock_timeout = '3s' in env.py or "
                "the revision) and retry on timeout, so a long-running query makes the "
                "migration fail fast instead of queueing every other query behind it.")
    return ("Set lock_wait_timeout for the migration session (SET SESSION "
            "lock_wait_timeout = 5) and retry on timeout, so a long transaction makes the "
            "ALTER fail fast instead of queueing every query behind it.")


def advice(stmt: Statement, lock: Lock, backend: str, *, timeout_set: bool = False) -> str:
    """The safe alternative for this statement, step by step (``timeout_set``: it ran
    under a lock timeout the revision set, so that step is left out)."""
    sql = " ".join(stmt.sql.split()).upper()
    table = lock.table or lock.relation
    timeout = "" if timeout_set else _lock_timeout_step(backend)
    rewrote = bool(stmt.rewrites)
    if backend != "postgresql":
        if "FOREIGN KEY" in sql:
            return _steps(
                "With foreign_key_checks on, adding a foreign key copies the table: check "
                "the existing rows yourself first (SELECT the child rows without a parent).",
                "Then add it with SET foreign_key_checks = 0 for the session: the server adds "
                "it in place, without the copy (ALGORITHM=INPLACE, LOCK=NONE).",
                timeout,
            )
        copied = any(lk.mode == "COPY" for lk in [lock, *stmt.locks])
        if rewrote and not copied:
            return _steps(
                "No table copy was seen: the table was rebuilt in place (ALGORITHM=INPLACE) "
                "and writes went on during the rebuild; only the EXCLUSIVE moments at its "
                "start and end block, and they queue behind long transactions.",
                "Keep it online on production: append ALGORITHM=INPLACE, LOCK=NONE, so a "
                "server version that would copy the table refuses instead.",
                "The rebuild still takes as long as the table is large: run it when no long "
                "transaction holds the table (check information_schema.innodb_trx).",
                timeout,
            )
        if copied:
            return _steps(
                "Ask for an online change: append ALGORITHM=INPLACE, LOCK=NONE (or "
                "ALGORITHM=INSTANT where the server supports it) so the server refuses "
                "instead of silently copying the table.",
                "If the server refuses, the change needs a copy: run it with an online "
                "schema change tool (gh-ost, pt-online-schema-change) instead of a "
                "migration on the live table.",
                timeout,
            )
        return _steps(
            "Every ALTER needs an exclusive metadata lock at its start and end; make it "
            "brief: ALGORITHM=INSTANT or INPLACE, LOCK=NONE.",
            "Run it when no long transaction holds the table (check "
            "information_schema.innodb_trx).",
            timeout,
        )
    if re.match(r"CREATE (UNIQUE )?INDEX", sql) and "CONCURRENTLY" not in sql:
        return _steps(
            "Build the index with postgresql_concurrently=True (CREATE INDEX CONCURRENTLY): "
            "writes continue during the build.",
            f"Run it inside `{AUTOCOMMIT}`: CONCURRENTLY cannot run in a transaction.",
            "Keep it in a revision of its own; if the build fails, drop the INVALID index "
            "with DROP INDEX CONCURRENTLY and retry.",
        )
    if sql.startswith("REFRESH MATERIALIZED VIEW") and "CONCURRENTLY" not in sql:
        return _steps(
            "Refresh with REFRESH MATERIALIZED VIEW CONCURRENTLY: it takes EXCLUSIVE, which "
            f"lets every SELECT on {table} go on while the view is recomputed (it may run "
            "inside the migration's transaction).",
            "CONCURRENTLY needs a unique index on the materialized view (on plain columns, "
            "no WHERE clause): create it first with CREATE UNIQUE INDEX CONCURRENTLY inside "
            f"`{AUTOCOMMIT}`.",
            "Better still, refresh from a scheduled job rather than a migration: a refresh "
            "runs the view's whole query.",
            timeout,
        )
    if re.match(r"DROP INDEX", sql) and "CONCURRENTLY" not in sql:
        return _steps(
            "Drop it with postgresql_concurrently=True (DROP INDEX CONCURRENTLY).",
            f"Run it inside `{AUTOCOMMIT}`.",
        )
    if "FOREIGN KEY" in sql or re.search(r"\bREFERENCES\b", sql):
        if sql.startswith("CREATE TABLE"):
            return _steps(
                f"Creating a table with a foreign key locks the referenced table {table} "
                "against writes until commit: create the table without the foreign key.",
                "In a later revision add the foreign key with postgresql_not_valid=True "
                "(brief lock, no scan), then VALIDATE CONSTRAINT in its own revision "
                "(SHARE UPDATE EXCLUSIVE: reads and writes go on).",
                "Or keep this revision short so the lock is released at once.",
            )
        if "NOT VALID" in sql:
            return _steps(
                "NOT VALID already skips the scan; the lock is brief but still blocks "
                f"writes on {table} until commit: commit right after this statement "
                "(its own revision, nothing slow after it).",
                "VALIDATE CONSTRAINT in a later revision (SHARE UPDATE EXCLUSIVE: reads and "
                "writes go on).",
                timeout,
            )
        return _steps(
            "Add the foreign key with postgresql_not_valid=True (ALTER TABLE ... ADD "
            "CONSTRAINT ... NOT VALID): no scan, brief lock.",
            "In a later revision run ALTER TABLE ... VALIDATE CONSTRAINT ...; it takes "
            "SHARE UPDATE EXCLUSIVE, so reads and writes go on while it scans.",
            timeout,
        )
    if "SET NOT NULL" in sql:
        return _steps(
            "Add CHECK (column IS NOT NULL) NOT VALID (op.create_check_constraint(..., "
            "postgresql_not_valid=True)).",
            "In a later revision VALIDATE CONSTRAINT (reads and writes go on).",
            "Then SET NOT NULL: PostgreSQL 12+ sees the valid check and skips the scan, so "
            "the ACCESS EXCLUSIVE lock lasts a moment; drop the check afterwards.",
            timeout,
        )
    if re.search(r"ADD CONSTRAINT .* CHECK", sql) and "NOT VALID" not in sql:
        return _steps(
            "Add the check with postgresql_not_valid=True (no scan under the lock).",
            "VALIDATE CONSTRAINT in a later revision (reads and writes go on).",
            timeout,
        )
    if re.search(r"ADD CONSTRAINT .* (UNIQUE|PRIMARY KEY)", sql) and "USING INDEX" not in sql:
        return _steps(
            "Build the unique index first: CREATE UNIQUE INDEX CONCURRENTLY inside "
            f"`{AUTOCOMMIT}`.",
            "Then ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX (or PRIMARY KEY "
            "USING INDEX): a moment under the lock, no scan.",
            timeout,
        )
    if re.search(r"ALTER COLUMN .* TYPE", sql) and not rewrote:
        return _steps(
            "No rewrite was measured: this type change only updates the catalog, so the "
            "lock lasts a moment on any table size.",
            timeout,
            "Commit right after it, so the lock is released at once.",
        )
    if re.search(r"ALTER COLUMN .* TYPE", sql) or (rewrote and "ALTER COLUMN" in sql):
        return _steps(
            "Add a new column with the new type (nullable, no default).",
            "Backfill it in batches with sluice.data.backfill, outside the migration's "
            "transaction; keep both columns in sync from the application (or a trigger).",
            "Switch reads to the new column, then drop the old one and rename in a later "
            "revision.",
        )
    if "ADD COLUMN" in sql and rewrote:
        return _steps(
            "Add the column nullable and without a default (no rewrite, a moment under "
            "the lock).",
            "Set the default with ALTER COLUMN ... SET DEFAULT (applies to new rows only).",
            "Backfill existing rows in batches with sluice.data.backfill.",
            timeout,
        )
    if sql.startswith("DROP TABLE") or "DROP COLUMN" in sql or "RENAME" in sql:
        return _steps(
            "Stop using it in the application and deploy that first.",
            "Run this statement in a revision of its own so the lock is held for a moment.",
            timeout,
        )
    if rewrote:
        return _steps(
            "The statement copies the whole table under the lock: find an online variant "
            "(new column + batched backfill, NOT VALID constraints, CONCURRENTLY indexes).",
            timeout,
        )
    return _steps(
        "The statement itself is quick, but the lock waits behind every running query on "
        f"{table} and every later query waits behind it.",
        timeout,
        "Commit right after it: nothing slow (data changes, index builds) in the same "
        "transaction, so the lock is released at once.",
    )


def _message(stmt: Statement, lock: Lock, backend: str) -> str:
    what = f"{lock.kind} {lock.relation}"
    if lock.kind == "index" and lock.table:
        what = f"index {lock.relation} of table {lock.table}"
    held = lock.held_ms
    how = {"after statement": "", "sampled": " (seen while it ran)"}.get(lock.observed, "")
    parts = [
        f"`{_compact(stmt.sql)}` took {lock.mode_label}{how} on {what}, which existed "
        f"before this revision: it {lock.blocks_detail}.",
    ]
    if lock.observed == "sampled" and held is not None:
        parts.append(f"Held {_ms(held)} here: the longest stretch a second connection saw "
                     f"it granted while the statement ran ({_ms(stmt.duration_ms)}, committing "
                     "on its own).")
    elif stmt.autocommit or stmt.implicit_commit:
        parts.append(f"Held at most the statement's {_ms(stmt.duration_ms)} here (it commits "
                     "on its own).")
    else:
        parts.append(f"Held {_ms(held)} here, from this statement until the revision's "
                     f"transaction ended (the statement itself ran {_ms(stmt.duration_ms)}).")
    if stmt.rewrites and backend != "postgresql" and not any(
            lk.mode == "COPY" for lk in stmt.locks):
        parts.append(f"It also rebuilt {', '.join(stmt.rewrites)} in place (a new InnoDB "
                     "table id, no table copy seen): writes went on during the rebuild, "
                     "which takes as long as the table is large.")
    elif stmt.rewrites:
        parts.append(f"It also rewrote {', '.join(stmt.rewrites)}: the whole table is copied "
                     "under the lock, so on production data it lasts as long as the copy.")
    return " ".join(parts)


def _strength(lk: Lock, backend: str) -> int:
    return mode_info(backend, lk.mode).strength


def _strongest(locks: list[Lock], backend: str, in_force: dict[str, Lock]) -> list[Lock]:
    """The strongest new lock per relation, minus those that add nothing to a lock at
    least as strong already held on the relation (or, for an index, on its table)."""
    def rank(lk: Lock) -> tuple[int, bool]:
        # a table copy says more than the metadata lock of the same strength
        return _strength(lk, backend), lk.mode == "COPY"

    best: dict[str, Lock] = {}
    for lk in locks:
        cur = best.get(lk.relation)
        if cur is None or rank(lk) > rank(cur):
            best[lk.relation] = lk
    out = []
    for lk in best.values():
        covering = [c for c in (in_force.get(lk.relation),
                                best.get(lk.table or "") if lk.kind == "index" else None,
                                in_force.get(lk.table or "") if lk.kind == "index" else None)
                    if c is not None and c is not lk]
        if any(_strength(c, backend) >= _strength(lk, backend) for c in covering):
            continue
        out.append(lk)
    return sorted(out, key=lambda x: x.relation)


#: The longest hold of a write-blocking lock that counts as a moment (the bar every
#: recipe meets at 1,000,000 rows, docs/recipes.md).
BRIEF_MS = 50.0


def annotate(rt: RevisionTrace, backend: str) -> None:
    """Mark covered and brief locks (see :attr:`Lock.brief`) and rewrites done under an
    earlier statement's lock.

    Locks are held until the transaction ends; a statement inside ``autocommit_block()``
    (or MySQL DDL) ends the transaction before it.
    """
    in_force: dict[str, tuple[Lock, int | None]] = {}
    timed = timeout_in_force(rt.statements)
    for stmt in rt.statements:
        if stmt.autocommit or stmt.implicit_commit:
            in_force = {}
            if stmt.index in timed and not stmt.rewrites:
                for lk in stmt.flagged_locks:
                    lk.brief = lk.held_ms is not None and lk.held_ms <= BRIEF_MS
        held = {rel: lk for rel, (lk, _) in in_force.items()}
        effective = _strongest(stmt.flagged_locks, backend, held)
        for lk in stmt.flagged_locks:
            lk.covered = not any(lk is e for e in effective)
        covered_tables = {lk.relation for lk in effective}
        stmt.rewrites_under = [
            HeldRewrite(table, in_force[table][0], in_force[table][1])
            for table in stmt.rewrites if table not in covered_tables and table in in_force
        ]
        if not (stmt.autocommit or stmt.implicit_commit):
            for lk in stmt.flagged_locks:
                cur = in_force.get(lk.relation)
                if cur is None or _strength(lk, backend) > _strength(cur[0], backend):
                    in_force[lk.relation] = (lk, stmt.line)


def _finding(rule: str, message: str, fix: str, path: str, stmt: Statement, rt: RevisionTrace,
             dialect: str) -> Finding:
    doc = RULES[rule]
    return Finding(rule=rule, name=doc.name, severity=doc.severity,  # type: ignore[arg-type]
                   message=message, fix=fix, path=path, line=stmt.line,
                   revision=rt.revision, dialect=dialect)


def trace_findings(result: TraceResult, display: dict[str, str] | None = None) -> list[Finding]:
    """One finding per statement and existing relation it blocked (locks it added, see
    :func:`annotate`), per rewrite under a blocking lock taken earlier in the transaction,
    and per rewrite seen without any; ``display`` maps revision paths to shown paths."""
    display = display or {}
    backend = result.backend
    dialect = "postgresql" if backend == "postgresql" else "mysql"
    out: list[Finding] = []
    for rt in result.revisions:
        path = display.get(rt.path, rt.path)
        timed = timeout_in_force(rt.statements)
        for stmt in rt.statements:
            for lk in stmt.blocking:
                rule = "TR001" if lk.blocks == "reads and writes" else "TR002"
                out.append(_finding(rule, _message(stmt, lk, backend),
                                    advice(stmt, lk, backend, timeout_set=stmt.index in timed),
                                    path, stmt, rt, dialect))
            for h in stmt.rewrites_under:
                rule = "TR001" if h.lock.blocks == "reads and writes" else "TR002"
                msg = (f"`{_compact(stmt.sql)}` rewrote {h.table} ({_ms(stmt.duration_ms)} "
                       f"here) while holding {h.lock.mode_label} on it (taken at line "
                       f"{h.line}), so that lock lasts through the whole copy: it "
                       f"{h.lock.blocks_detail}. On production data the copy takes as long "
                       "as the table is large.")
                out.append(_finding(rule, msg, advice(stmt, h.lock, backend,
                                                      timeout_set=stmt.index in timed),
                                    path, stmt, rt, dialect))
            if stmt.rewrites and not stmt.flagged_locks and not stmt.rewrites_under:
                out.append(_finding(
                    "TR003",
                    f"`{_compact(stmt.sql)}` rewrote {', '.join(stmt.rewrites)} "
                    f"({_ms(stmt.duration_ms)} here): the whole table is copied, so on "
                    "production data it takes as long as the copy"
                    + ("" if result.lock_tracing else
                       "; its locks could not be traced on this server") + ".",
                    _steps(
                        "Check the statement runs online on your server version (MySQL/"
                        "MariaDB: ALGORITHM=INPLACE, LOCK=NONE is accepted).",
                        "For a column type change: add a new column, backfill it in "
                        "batches (sluice.data.backfill), switch, drop the old one.",
                    ),
                    path, stmt, rt, dialect))
    return out


def fails(result: TraceResult, fail_on: str) -> bool:
    """Whether the measured locks make ``sluice trace`` exit 1 under ``--fail-on``."""
    if fail_on == "never":
        return False
    wanted = {"reads and writes"} if fail_on == "reads" else {"reads and writes", "writes"}
    return any(lk.blocks in wanted for s in result.statements for lk in s.flagged_locks)


def untraced(result: TraceResult) -> str | None:
    """One line when the server did not expose its locks (MariaDB/MySQL without
    ``performance_schema``), so no lock-based finding could be made; None when it did.
    The report still stands (statements, copies, rebuilds), but a gate on locks
    (``--fail-on writes|reads``) cannot judge it and must not pass it."""
    if result.lock_tracing:
        return None
    note = result.lock_tracing_note or "lock tracing is not available on this server"
    return note.replace("on this server", f"on {result.server}", 1)


#: The cross-check rules (TR101, TR102, :mod:`sluice.rules.trace`).
CROSSCHECK_RULES: dict[str, RuleDoc] = rule_docs("crosscheck")


def display_path(path: str) -> str:
    """``path`` relative to the working directory when it is inside it (as
    :func:`sluice.core.project.display_path` shows every path)."""
    return shown_path(path, Path.cwd())


def crosscheck_findings(cc: CrossCheck | None) -> list[Finding]:
    if cc is None or not cc.ran:
        return []
    out = []
    for item in cc.items:
        rid = "TR101" if item.kind == "missed-danger" else "TR102"
        doc = CROSSCHECK_RULES[rid]
        lint = ", ".join(item.lint) if item.lint else "no lint finding"
        if item.kind == "missed-danger":
            msg = (f"measured {item.measured} at `{_compact(item.sql)}`, but lint reported "
                   f"nothing at warning or error here ({lint}).")
        else:
            msg = f"{lint} fired here, but the database measured {item.measured}."
        out.append(Finding(rule=rid, name=doc.name, severity="info", message=msg, fix="",
                           path=display_path(item.path), line=item.line,
                           revision=item.revision))
    return out
