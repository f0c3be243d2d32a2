"""Lock and statement timeouts, per environment and per revision.

A revision overrides its environment's values with a module-level literal dict::

    sluice_timeouts = {"lock_timeout": "2s", "statement_timeout": "30min"}

(``"0"`` turns a timeout off for that revision). The runner reads it from the loaded
module; ``sluice plan`` reads the same literal from the file without importing it.

How they are applied, before each revision, on the migration's own connection:

- PostgreSQL: ``SET LOCAL lock_timeout`` / ``SET LOCAL statement_timeout``, scoped to the
  migration transaction, so nothing leaks into the connection once it commits.
- MySQL: ``SET SESSION lock_wait_timeout`` (metadata locks, what an ALTER waits on) and
  ``innodb_lock_wait_timeout`` (row locks), in whole seconds; ``max_execution_time``
  (milliseconds, MySQL applies it to SELECT only). MariaDB: ``max_statement_time``
  (seconds, every statement). Both reset to the server default after the run.
- SQLite: ``PRAGMA busy_timeout`` for the lock timeout; SQLite has no statement timeout.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from sluice.core.durations import parse_duration
from sluice.errors import SluiceError

MARKER = "sluice_timeouts"
KEYS = ("lock_timeout", "statement_timeout")


@dataclass(frozen=True)
class Timeouts:
    """Milliseconds; None: leave the database's setting alone; 0: no timeout."""

    lock_timeout_ms: int | None = None
    statement_timeout_ms: int | None = None

    def over(self, base: Timeouts) -> Timeouts:
        """These values where set, ``base`` elsewhere."""
        return Timeouts(
            self.lock_timeout_ms if self.lock_timeout_ms is not None else base.lock_timeout_ms,
            self.statement_timeout_ms
            if self.statement_timeout_ms is not None
            else base.statement_timeout_ms,
        )

    @property
    def empty(self) -> bool:
        return self.lock_timeout_ms is None and self.statement_timeout_ms is None


def parse_marker(value: Any, where: str) -> Timeouts:
    if not isinstance(value, dict):
        raise SluiceError(f"{where}: {MARKER} must be a dict like "
                          '{"lock_timeout": "2s", "statement_timeout": "30min"}')
    unknown = sorted(set(value) - set(KEYS))
    if unknown:
        raise SluiceError(f"{where}: {MARKER}: unknown key {unknown[0]!r}; valid: "
                          + ", ".join(KEYS))
    return Timeouts(
        parse_duration(value.get("lock_timeout"), key=f"{where}: {MARKER}['lock_timeout']"),
        parse_duration(value.get("statement_timeout"),
                       key=f"{where}: {MARKER}['statement_timeout']"),
    )


def module_timeouts(module: Any, path: str) -> Timeouts:
    """The ``sluice_timeouts`` of a loaded revision module (empty when absent)."""
    value = getattr(module, MARKER, None)
    return Timeouts() if value is None else parse_marker(value, path)


def file_timeouts(path: str | Path) -> Timeouts:
    """The ``sluice_timeouts`` literal of a revision file, read without importing it."""
    try:
        tree = ast.parse(Path(path).read_bytes())  # its own declared encoding (PEP 263)
    except (OSError, SyntaxError):
        return Timeouts()
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == MARKER for t in targets):
            try:
                literal = ast.literal_eval(value)
            except ValueError:
                raise SluiceError(
                    f"{path}:{node.lineno}: {MARKER} must be a literal dict"
                ) from None
            return parse_marker(literal, f"{path}:{node.lineno}")
    return Timeouts()


class TimeoutApplier:
    """Applies the effective timeouts of each revision on the migration connection."""

    def __init__(self, conn: Connection, *, mariadb: bool = False) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.mariadb = mariadb
        self.applied: Timeouts = Timeouts()
        self.touched = False

    def apply(self, t: Timeouts) -> list[str]:
        """Set ``t`` (resetting values a previous revision set and ``t`` does not)."""
        stmts = self._statements(t)
        for s in stmts:
            self.conn.exec_driver_sql(s)
        if stmts:
            self.touched = True
        self.applied = t
        return stmts

    def reset(self) -> None:
        """Back to the server defaults (MySQL/SQLite session settings outlive a commit)."""
        if not self.touched or self.conn.closed:
            return
        try:
            if self.dialect in ("mysql", "mariadb"):
                for var in self._mysql_vars():
                    self.conn.exec_driver_sql(f"SET SESSION {var} = DEFAULT")
            elif self.dialect == "sqlite":
                self.conn.exec_driver_sql("PRAGMA busy_timeout = 5000")
        except Exception:
            pass
        self.touched = False

    def _mysql_vars(self) -> list[str]:
        return ["lock_wait_timeout", "innodb_lock_wait_timeout",
                "max_statement_time" if self.mariadb else "max_execution_time"]

    def _statements(self, t: Timeouts) -> list[str]:
        prev = self.applied
        out: list[str] = []
        if self.dialect == "postgresql":
            for name, new, old in (("lock_timeout", t.lock_timeout_ms, prev.lock_timeout_ms),
                                   ("statement_timeout", t.statement_timeout_ms,
                                    prev.statement_timeout_ms)):
                if new is not None:
                    out.append(f"SET LOCAL {name} = {int(new)}")
                elif old is not None:
                    out.append(f"SET LOCAL {name} TO DEFAULT")
        elif self.dialect in ("mysql", "mariadb"):
            if t.lock_timeout_ms is not None:
                secs = _mysql_seconds(t.lock_timeout_ms)
                out.append(f"SET SESSION lock_wait_timeout = {secs}")
                out.append(f"SET SESSION innodb_lock_wait_timeout = {secs}")
            elif prev.lock_timeout_ms is not None:
                out.append("SET SESSION lock_wait_timeout = DEFAULT")
                out.append("SET SESSION innodb_lock_wait_timeout = DEFAULT")
            stmt_var = "max_statement_time" if self.mariadb else "max_execution_time"
            if t.statement_timeout_ms is not None:
                value = (f"{t.statement_timeout_ms / 1000:.3f}" if self.mariadb
                         else str(int(t.statement_timeout_ms)))
                out.append(f"SET SESSION {stmt_var} = {value}")
            elif prev.statement_timeout_ms is not None:
                out.append(f"SET SESSION {stmt_var} = DEFAULT")
        elif self.dialect == "sqlite":
            if t.lock_timeout_ms is not None:
                out.append(f"PRAGMA busy_timeout = {int(t.lock_timeout_ms)}")
            elif prev.lock_timeout_ms is not None:
                out.append("PRAGMA busy_timeout = 5000")
        return out


def _mysql_seconds(ms: int) -> int:
    # 0 means "no timeout" to the user; MySQL's maximum is 31536000 (one year).
    return 31_536_000 if ms == 0 else max(1, math.ceil(ms / 1000))


def _codes(exc: BaseException) -> tuple[str | None, int | None, str]:
    orig = getattr(exc, "orig", exc)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    errno: int | None = None
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        errno = args[0]
    return sqlstate, errno, str(orig)


def is_lock_timeout(exc: BaseException) -> bool:
    """The statement gave up waiting for a lock (PostgreSQL lock_timeout, MySQL 1205,
    SQLite busy)."""
    sqlstate, errno, message = _codes(exc)
    if sqlstate == "55P03":
        return True
    if errno == 1205:
        return True
    return "database is locked" in message or "canceling statement due to lock timeout" in message


def is_statement_timeout(exc: BaseException) -> bool:
    sqlstate, errno, message = _codes(exc)
    return sqlstate == "57014" and "statement timeout" in message or errno in (3024, 1969)
