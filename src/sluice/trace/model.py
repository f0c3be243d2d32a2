"""What ``sluice trace`` measured: revisions, their statements, the locks each one took.

Everything here is plain data, filled by :mod:`sluice.trace.runner` and read by the
renderers (:mod:`sluice.trace.render`) and the lint cross-check
(:mod:`sluice.trace.crosscheck`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sluice.core.findings import Finding

#: What a lock stops other sessions from doing on the locked relation.
Blocks = Literal["reads and writes", "writes"]
#: How a lock was seen: read from the backend's own lock table right after the statement
#: (complete for a transaction), or sampled from a second connection while it ran.
Observed = Literal["after statement", "sampled"]


@dataclass
class Lock:
    """One lock mode one statement took on one relation, first seen at that statement."""

    relation: str
    #: ``table``, ``index``, ``sequence``, ``view``, ``materialized view``, ``partitioned table``.
    kind: str
    #: The server's own name: ``AccessExclusiveLock`` (PostgreSQL), ``EXCLUSIVE`` (MariaDB).
    mode: str
    #: Human name of the mode: ``ACCESS EXCLUSIVE``, ``SHARED_NO_WRITE`` ...
    mode_label: str
    granted: bool
    #: The relation existed before the revision started (locks on new ones are harmless).
    existing: bool
    #: What the mode blocks for everyone else; None when reads and writes both go on.
    blocks: Blocks | None
    #: What exactly it blocks, in words (``INSERT, UPDATE, DELETE; reads go on``).
    blocks_detail: str
    #: For an index: the table it belongs to.
    table: str | None = None
    observed: Observed = "after statement"
    #: Milliseconds from the start of the statement that took it to the commit or
    #: rollback that released it (None while the transaction is still open).
    held_ms: float | None = None
    #: A blocking lock that adds nothing: a lock at least as strong was already held on
    #: the relation (or, for an index, on its table) in the same transaction.
    covered: bool = False
    #: Taken by a statement that committed on its own (``autocommit_block``, MySQL DDL),
    #: under a lock timeout the revision set, rewriting nothing, and held at most
    #: ``BRIEF_MS``: the safe form of a catalog change (a recipe's ``ADD COLUMN``). Its
    #: wait is bounded by the timeout and its hold is a moment: shown, not a finding.
    brief: bool = False
    #: perf_counter() at the start of the statement that took it (internal bookkeeping).
    taken_at: float = field(default=0.0, repr=False, compare=False)

    @property
    def flagged(self) -> bool:
        """A granted lock on a relation that existed before, blocking reads or writes."""
        return self.existing and self.granted and self.blocks is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "relation": self.relation,
            "kind": self.kind,
            "table": self.table,
            "mode": self.mode,
            "mode_label": self.mode_label,
            "granted": self.granted,
            "existing": self.existing,
            "blocks": self.blocks,
            "blocks_detail": self.blocks_detail,
            "flagged": self.flagged,
            "covered": self.covered,
            "brief": self.brief,
            "observed": self.observed,
            "held_ms": _ms(self.held_ms),
        }


@dataclass
class HeldRewrite:
    """A table a statement rewrote under a blocking lock taken earlier in the transaction."""

    table: str
    lock: Lock
    #: Line of the statement that took the lock.
    line: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "mode": self.lock.mode, "mode_label": self.lock.mode_label,
                "blocks": self.lock.blocks, "taken_at_line": self.line}


@dataclass
class Statement:
    """One SQL statement a revision ran, as the database saw it."""

    index: int
    sql: str
    path: str | None
    #: Line in the revision file of the call that emitted it (innermost frame in the file).
    line: int | None
    duration_ms: float
    #: Ran outside a transaction (``autocommit_block()``), so it committed on its own.
    autocommit: bool = False
    #: MySQL/MariaDB DDL: commits the open transaction before and after itself.
    implicit_commit: bool = False
    #: Locks first taken by this statement.
    locks: list[Lock] = field(default_factory=list)
    #: Existing relations whose storage was rewritten (PostgreSQL ``relfilenode`` changed,
    #: InnoDB table id changed): the whole table was copied.
    rewrites: list[str] = field(default_factory=list)
    #: Rewrites done while a blocking lock taken by an earlier statement was held.
    rewrites_under: list[HeldRewrite] = field(default_factory=list)
    #: Locks blocking reads or writes of an existing relation that earlier statements of
    #: the same transaction took and still held while this one ran.
    held_earlier: list[Lock] = field(default_factory=list)
    error: str | None = None
    #: Sent by a ``sluice.data`` step (its reflection, batches, checkpoints), named as in
    #: its checkpoint table; the text report shows a step's statements as one row.
    step: str | None = None

    @property
    def flagged_locks(self) -> list[Lock]:
        return [lk for lk in self.locks if lk.flagged]

    @property
    def blocking(self) -> list[Lock]:
        """The blocking locks this statement added: flagged, not covered, not brief."""
        return [lk for lk in self.locks if lk.flagged and not lk.covered and not lk.brief]

    @property
    def dangerous(self) -> bool:
        """It blocked reads or writes of an existing table, or kept them blocked while
        rewriting it."""
        return bool(self.blocking or self.rewrites_under)

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "sql": self.sql,
            "path": self.path,
            "line": self.line,
            "duration_ms": _ms(self.duration_ms),
            "autocommit": self.autocommit,
            "implicit_commit": self.implicit_commit,
            "locks": [lk.as_dict() for lk in self.locks],
            "rewrites": list(self.rewrites),
            "rewrites_under": [h.as_dict() for h in self.rewrites_under],
            "held_earlier": [{"relation": lk.relation, "mode": lk.mode,
                              "mode_label": lk.mode_label, "blocks": lk.blocks}
                             for lk in self.held_earlier],
            "error": self.error,
            "step": self.step,
        }


@dataclass
class RevisionTrace:
    revision: str
    path: str
    message: str | None
    down_revisions: tuple[str, ...]
    statements: list[Statement] = field(default_factory=list)
    duration_ms: float = 0.0
    #: Rows inserted per table before the revision ran (``--seed-rows``).
    seeded: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    #: Batches each ``sluice.data`` step of the revision committed (step name -> count).
    data_steps: dict[str, int] = field(default_factory=dict)

    @property
    def longest_write_blocking(self) -> tuple[Statement, Lock] | None:
        """The lock blocking writes (or reads and writes) of a relation that existed
        before the revision that was held longest, with the statement that took it; None
        when the revision took no such lock. Covered locks count: a lock taken early and
        held to the end of the transaction is the one that makes writers wait."""
        found = [(s, lk) for s in self.statements for lk in s.locks if lk.flagged]
        if not found:
            return None
        return max(found, key=lambda pair: pair[1].held_ms or 0.0)

    def as_dict(self) -> dict[str, Any]:
        longest = self.longest_write_blocking
        return {
            "revision": self.revision,
            "path": self.path,
            "message": self.message,
            "down_revisions": list(self.down_revisions),
            "duration_ms": _ms(self.duration_ms),
            "seeded": dict(self.seeded),
            "error": self.error,
            "data_steps": dict(self.data_steps),
            "longest_write_blocking": None if longest is None else {
                "statement": longest[0].index, "line": longest[0].line,
                "relation": longest[1].relation, "mode": longest[1].mode,
                "mode_label": longest[1].mode_label, "blocks": longest[1].blocks,
                "observed": longest[1].observed, "held_ms": _ms(longest[1].held_ms)},
            "statements": [s.as_dict() for s in self.statements],
        }


@dataclass
class CrossCheckItem:
    """A disagreement between what lint predicted and what the database did."""

    #: ``missed-danger`` or ``false-alarm``.
    kind: str
    revision: str
    path: str
    line: int | None
    #: What was measured there (``ACCESS EXCLUSIVE on users``, or ``no blocking lock``).
    measured: str
    #: Lint findings on that line (``SL201 add-index-not-concurrently (warning)``).
    lint: list[str] = field(default_factory=list)
    sql: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "revision": self.revision,
            "path": self.path,
            "line": self.line,
            "measured": self.measured,
            "lint": list(self.lint),
            "sql": self.sql,
        }


@dataclass
class CrossCheck:
    #: False when the lint engine could not run (the reason is in ``note``).
    ran: bool
    note: str | None = None
    items: list[CrossCheckItem] = field(default_factory=list)
    #: Statements with a measured blocking lock that lint also flagged.
    agreed: int = 0
    #: Locking findings on statements whose locks are only sampled while they run
    #: (``autocommit_block``, MySQL/MariaDB) where the sampler saw no lock at all: a lock
    #: held for less than a sample is missed, so nothing seen proves nothing.
    unobserved: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "note": self.note,
            "agreed": self.agreed,
            "unobserved": self.unobserved,
            "items": [i.as_dict() for i in self.items],
        }


@dataclass
class TraceResult:
    #: ``postgresql``, ``mariadb`` or ``mysql``.
    backend: str
    server_version: str
    #: Masked URL of the server the scratch database was created on.
    server: str
    lock_tracing: bool
    #: Why locks could not be traced, and how to enable it (None when they were).
    lock_tracing_note: str | None = None
    #: Whether table rewrites can be seen (PostgreSQL always; MySQL/MariaDB when the
    #: user may read InnoDB's table ids).
    rewrite_tracing: bool = True
    seed_rows: int = 0
    revisions: list[RevisionTrace] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    crosscheck: CrossCheck | None = None
    notes: list[str] = field(default_factory=list)
    #: One line naming the revision file, line and database error when a revision failed.
    failure: str | None = None

    @property
    def statements(self) -> list[Statement]:
        return [s for r in self.revisions for s in r.statements]

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "server_version": self.server_version,
            "server": self.server,
            "lock_tracing": {"available": self.lock_tracing, "note": self.lock_tracing_note},
            "rewrite_tracing": self.rewrite_tracing,
            "seed_rows": self.seed_rows,
            "failure": self.failure,
            "notes": list(self.notes),
            "revisions": [r.as_dict() for r in self.revisions],
            "findings": [f.as_dict() for f in self.findings],
            "crosscheck": self.crosscheck.as_dict() if self.crosscheck else None,
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
