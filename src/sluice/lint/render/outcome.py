"""What rendering one revision produced: the records and the countable reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

from sluice.lint.model import Op

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Keys of the coverage reasons (see :attr:`RenderOutcome.reason`).
REASON_OFFLINE_RAISE = "raises in offline mode"
REASON_BIND_READS = "get_bind reads"
REASON_SIGNATURE = "non-standard signature"
REASON_NO_UPGRADE = "no upgrade()"
REASON_DISABLED = "rendering disabled"
REASON_TIMEOUT = "timed out"


@dataclass
class RenderedStatement:
    """One SQL statement the revision emitted offline."""

    dialect: str
    phase: str
    sql: str
    #: Line in the revision file that caused it (None: not traceable to the file).
    line: int | None = None
    #: Kind of the operation that emitted it (``execute`` for raw SQL and bind executes,
    #: ``batch`` for the statements a batch block emits when it closes, ``transaction``
    #: for BEGIN/COMMIT around ``autocommit_block``).
    op_kind: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"dialect": self.dialect, "phase": self.phase, "sql": self.sql,
                "line": self.line, "op_kind": self.op_kind}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RenderedStatement:
        return cls(**data)


@dataclass
class RenderOutcome:
    """What rendering one revision produced."""

    #: The upgrade rendered in the primary dialect.
    ok: bool
    #: Short, countable reason when not ``ok`` (``ImportError myapp``, ``get_bind reads``).
    reason: str | None = None
    #: One line with the specifics (exception message).
    detail: str | None = None
    #: What the user can do about it.
    hint: str | None = None
    #: Line of the revision file where it failed.
    line: int | None = None
    #: Operations per dialect that rendered (both phases when the downgrade rendered).
    ops: dict[str, list[Op]] = field(default_factory=dict)
    #: Dialects whose upgrade was rendered.
    dialects: list[str] = field(default_factory=list)
    #: Phases rendered in every dialect of ``dialects`` (``upgrade``, maybe ``downgrade``).
    phases: dict[str, list[str]] = field(default_factory=dict)
    statements: list[RenderedStatement] = field(default_factory=list)
    #: Dialects whose upgrade failed while the primary one rendered: dialect -> reason.
    failed: dict[str, str] = field(default_factory=dict)
    #: Things that did not stop the render (a statement that could not be compiled, a
    #: downgrade that failed, a dialect that failed while another worked).
    notes: list[str] = field(default_factory=list)

