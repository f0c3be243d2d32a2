"""What a revision actually executed, and what a failed one left behind.

While a revision runs, SQLAlchemy's ``before_cursor_execute``/``after_cursor_execute``
events on the migration connection record each statement it starts and each one that
completes. When a revision fails where DDL is not transactional (MySQL/MariaDB commit
every DDL statement on its own), the statements that completed are in the database even
though Alembic's version table still names the previous revision. :func:`partial_failure`
turns the capture into a report: applied, failed, and not applied (the rest of the
revision, rendered offline and aligned with what ran), plus the recovery steps.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection

from sluice.core.suggest import Invocation
from sluice.owned import DATA_PROGRESS_TABLE

# the patterns are compiled (and kept in re's cache) the first time one is used: a run
# that reports no partial failure and splits no offline SQL compiles none of them
_READ = r"(?is)^\s*(select|show|pragma|describe|explain|with\b[^;]*\bselect)\b"
_SESSION = r"(?i)^\s*(set\s|savepoint|release\s+savepoint|begin|start\s+transaction|commit|rollback)"


@dataclass
class Executed:
    sql: str
    completed: bool = False
    many: bool = False


@dataclass
class StepCapture:
    revision: str
    statements: list[Executed] = field(default_factory=list)

    @property
    def writes(self) -> list[Executed]:
        """What the revision itself wrote: no reads, no transaction control, nothing of
        ``sluice.data``'s checkpoint table (a step commits it with its own batches)."""
        return [s for s in self.statements if not re.match(_READ, s.sql)
                and not re.match(_SESSION, s.sql) and DATA_PROGRESS_TABLE not in s.sql]

    @property
    def applied(self) -> list[Executed]:
        return [s for s in self.writes if s.completed]

    @property
    def failed(self) -> Executed | None:
        for s in reversed(self.writes):
            if not s.completed:
                return s
        return None


class StatementCapture:
    """Records statements on one connection between :meth:`begin` and :meth:`end`."""

    def __init__(self, conn: Connection, *, active: bool = True) -> None:
        """``active=False`` records nothing (where DDL is transactional a failed revision
        leaves nothing behind, so there is nothing to report, and no reason to pay for
        an event on every statement)."""
        self.conn = conn
        self.current: StepCapture | None = None
        self.paused = False
        self.active = active
        self._pending: list[Executed] = []
        if active:
            event.listen(conn, "before_cursor_execute", self._before)
            event.listen(conn, "after_cursor_execute", self._after)

    def detach(self) -> None:
        if not self.active:
            return
        for name, fn in (("before_cursor_execute", self._before),
                         ("after_cursor_execute", self._after)):
            try:
                event.remove(self.conn, name, fn)
            except Exception:
                pass

    def begin(self, revision: str) -> StepCapture:
        self.current = StepCapture(revision)
        self._pending = []
        return self.current

    def end(self) -> StepCapture | None:
        cap, self.current = self.current, None
        return cap

    def run_quietly(self, fn: Callable[[], Any]) -> Any:
        """Run Sluice's own statements (timeouts) without recording them."""
        self.paused = True
        try:
            return fn()
        finally:
            self.paused = False

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                context: Any, executemany: bool) -> None:
        if self.current is None or self.paused:
            return
        item = Executed(sql=statement.strip(), many=executemany)
        self.current.statements.append(item)
        self._pending.append(item)

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any,
               context: Any, executemany: bool) -> None:
        if self.current is None or self.paused or not self._pending:
            return
        self._pending.pop().completed = True


# --------------------------------------------------------------------------- offline SQL


_MARKER = r"(?m)^-- Running (upgrade|downgrade) (.*?) -> (.*?)(?:, .*)?$"
_TRANSACTION = ("begin", "commit", "start transaction", "begin transaction")
_BOOKKEEPING = r"^(update|insert|delete|create table|drop table)\b"


def split_offline_sql(text: str, version_table: str = "alembic_version",
                      dialect: str | None = None) -> list[tuple[str, str]]:
    """``(revision, statement)`` pairs from ``alembic upgrade --sql`` output, in order.

    Statements are split by :func:`sluice.core.sql.statement_spans` (quotes, dollar
    quotes and compound bodies respected); the revision comes from Alembic's ``-- Running
    upgrade A -> B`` markers between them. Transaction control and version-table
    bookkeeping are left out.
    """
    from sluice.core.sql import statement_spans  # lazy: start-up: only offline SQL is split

    markers = [(m.start(), m.group(3).strip() if m.group(1) == "upgrade" else m.group(2).strip())
               for m in re.finditer(_MARKER, text)]
    out: list[tuple[str, str]] = []
    current = ""
    k = 0
    for span in statement_spans(text, dialect):
        while k < len(markers) and markers[k][0] < span.code:
            if markers[k][0] >= span.start:  # between statements, not inside one
                current = markers[k][1]
            k += 1
        stmt = text[span.code:span.end].strip()
        low = stmt.lower()
        if low in _TRANSACTION:
            continue
        if version_table in low and re.match(_BOOKKEEPING, low):
            continue
        out.append((current, stmt))
    return out


def running_revision(text: str) -> str | None:
    """The revision Alembic was rendering when ``--sql`` output stopped (its last
    ``-- Running upgrade A -> B`` marker), None before the first one."""
    last = None
    for m in re.finditer(_MARKER, text):
        last = m
    if last is None:
        return None
    return (last.group(3) if last.group(1) == "upgrade" else last.group(2)).strip() or None


_LITERAL = (
    r"'(?:[^']|'')*'"                 # string literals
    r"|%\(\w+\)s|%s|\?|:\w+"          # bound parameter placeholders
    r"|\b\d+(?:\.\d+)?\b"             # numbers
)


def normalize(sql: str) -> str:
    s = re.sub(_LITERAL, "?", sql)
    s = re.sub(r"[`\"]", "", s)
    return re.sub(r"\s+", " ", s).strip().rstrip(";").strip().lower()


@dataclass
class PartialFailure:
    """A revision that failed after some of its statements were committed."""

    revision: str
    from_revision: str | None
    path: str | None
    error: str
    applied: list[str]
    failed: str | None
    #: None when the rest of the revision could not be determined.
    not_applied: list[str] | None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "from_revision": self.from_revision,
                "path": self.path, "error": self.error, "applied": self.applied,
                "failed": self.failed, "not_applied": self.not_applied, "note": self.note}

    def render(self, given: Invocation | None = None,
               rerun: tuple[str, ...] = ("upgrade",)) -> str:
        """The report and what to do now; the commands it suggests carry the options of
        ``given`` (the run's ``-c``, ``--url``, ``--env``, ``-x``), the run again is
        ``sluice RERUN`` (direction and target)."""
        given = given or Invocation()
        n = len(self.applied)
        at = self.from_revision or "base"
        lines = [
            f"revision {self.revision} failed after {n} of its statements had been applied; "
            "MySQL/MariaDB commit every DDL statement on its own, so "
            f"{'that one is' if n == 1 else 'those are'} in the database now while "
            f"alembic_version still says {at}.",
            f"  error: {self.error}",
        ]
        idx = 1
        if self.applied:
            lines.append("  applied:")
            for s in self.applied:
                lines.append(f"    {idx}. {_one_line(s)}")
                idx += 1
        if self.failed:
            lines.append("  failed (not applied):")
            lines.append(f"    {idx}. {_one_line(self.failed)}")
            idx += 1
        if self.not_applied is None:
            lines.append("  not applied: could not be determined"
                         + (f" ({self.note})" if self.note else "")
                         + f"; compare with upgrade() in {self.path}")
        elif self.not_applied:
            lines.append("  not applied:")
            for s in self.not_applied:
                lines.append(f"    {idx}. {_one_line(s)}")
                idx += 1
        lines += [
            "What to do now:",
            "  1. Do not re-run the upgrade as it is: it would execute the applied statements "
            "again and fail on them (or worse, apply data changes twice).",
            "  2. Either finish forward: fix what made the statement fail, run the failed and "
            "not-applied statements above by hand, then record the revision with "
            f"{given.alembic('stamp', self.revision)}.",
            "  3. Or go back: undo the applied statements by hand (the revision's downgrade() "
            f"shows how), check the schema matches {at}, fix the revision, and run "
            f"{given.sluice(*rerun)} again.",
            f"  The record is in sluice_history ({given.sluice('history', '--format', 'json')}).",
        ]
        return "\n".join(lines)


def _one_line(sql: str, limit: int = 240) -> str:
    s = re.sub(r"\s+", " ", sql).strip()
    return s if len(s) <= limit else s[: limit - 3] + "..."


_DDL = r"(?i)^\s*(create|alter|drop|rename|truncate)\b"


def is_ddl(sql: str) -> bool:
    """A statement MySQL/MariaDB commit on their own (DML is in a transaction)."""
    return re.match(_DDL, sql) is not None


def partial_failure(
    capture: StepCapture,
    *,
    error: str,
    from_revision: str | None,
    path: str | None,
    rendered: list[str] | None,
    render_error: str | None = None,
) -> PartialFailure:
    """Split what a failed revision ran into applied and not applied (MySQL semantics).

    A completed DDL statement is committed. A completed INSERT/UPDATE/DELETE is committed
    only when a DDL statement was started after it (MySQL commits implicitly before every
    DDL statement); otherwise it was rolled back with the revision's transaction. The rest
    of the revision comes from its offline SQL, aligned with what ran.
    """
    writes = capture.writes
    last_ddl = max((i for i, w in enumerate(writes) if re.match(_DDL, w.sql)), default=-1)
    applied: list[str] = []
    rolled_back: list[str] = []
    failed: str | None = None
    for i, w in enumerate(writes):
        if not w.completed:
            failed = w.sql
        elif re.match(_DDL, w.sql) or i < last_ddl:
            applied.append(w.sql)
        else:
            rolled_back.append(w.sql)
    if rendered is None:
        return PartialFailure(capture.revision, from_revision, path, error, applied, failed,
                              None, render_error or "offline rendering failed")
    norm = [normalize(s) for s in rendered]
    pos = 0
    for item in writes:
        key = normalize(item.sql)
        try:
            j = norm.index(key, pos)
        except ValueError:
            return PartialFailure(
                capture.revision, from_revision, path, error, applied, failed, None,
                "the statements that ran differ from the revision's offline SQL (it builds "
                "SQL at run time or reads the database)",
            )
        pos = j + 1
        if item.many and item.completed:
            # executemany ran what offline mode renders as one statement per row
            while pos < len(norm) and norm[pos] == key:
                pos += 1
    return PartialFailure(capture.revision, from_revision, path, error, applied, failed,
                          rolled_back + rendered[pos:])
