"""What ``sluice upgrade``/``downgrade`` is asked to do (:class:`RunOptions`) and what it
did (:class:`RunResult`, or :class:`MigrationFailed` carrying it)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sluice.core.durations import format_duration
from sluice.errors import SluiceError
from sluice.notices import notice
from sluice.runner.audit import StepRecord
from sluice.runner.capture import PartialFailure

if TYPE_CHECKING:
    from sluice.runner.backup import BackupResult  # the backup module loads when one runs
    from sluice.runner.plan import Plan

Notify = Callable[[str], None]


def _stderr(message: str) -> None:
    notice(f"sluice: {message}")


class MigrationFailed(SluiceError):
    """A revision failed while running (exit 1); ``result`` has the details."""

    exit_code = 1

    def __init__(self, message: str, *, result: RunResult, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result


@dataclass
class RunOptions:
    direction: str = "upgrade"
    target: str = "head"
    dry_run: bool = False
    yes: bool = False
    allow_downgrade: bool = False
    #: Shows the plan and asks; None when there is no one to ask (no terminal).
    confirm: Callable[[Plan], bool] | None = None
    notify: Notify = _stderr
    #: The progress line of each revision that finished (None: ``notify``).
    notify_step: Notify | None = None
    via: str = "sluice"
    lock_slice_ms: int = 1000
    #: Entered around the imports only some runs need (the plan and the lint engine of a
    #: guard, the backup): the command line serves the dataclasses' compiled methods there.
    loading: Callable[[], AbstractContextManager[Any]] = nullcontext


@dataclass
class RunResult:
    status: str  # up-to-date | applied | dry-run | failed
    environment: str
    direction: str
    target: str
    url: str
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    attempts: int = 0
    backup: BackupResult | None = None
    lock_waited_ms: float = 0.0
    warnings: list[str] = field(default_factory=list)
    partial: PartialFailure | None = None
    error: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status, "environment": self.environment,
            "direction": self.direction, "target": self.target, "url": self.url,
            "before": self.before, "after": self.after, "attempts": self.attempts,
            "seconds": round(self.seconds, 3), "lock_waited_ms": int(self.lock_waited_ms),
            "backup": ({"description": self.backup.description, "path": self.backup.path,
                        "seconds": round(self.backup.seconds, 3)} if self.backup else None),
            "revisions": [
                {"revision": s.revision, "status": s.status, "from": s.from_revision,
                 "to": s.to_revision, "duration_ms": s.duration_ms, "error": s.error}
                for s in self.steps
            ],
            "warnings": self.warnings,
            "partial_failure": self.partial.as_dict() if self.partial else None,
            "error": self.error,
        }

    def render(self) -> str:
        at = ", ".join(self.after) or "base"
        if self.status == "up-to-date":
            return f"nothing to do: {self.environment} is at {at} (target {self.target})"
        ran = [s for s in self.steps if s.ran]
        lines = []
        if self.status == "dry-run":
            total = sum(s.duration_ms or 0 for s in ran)
            lines.append(f"dry run on {self.environment}: {len(ran)} revision"
                         f"{'s' if len(ran) != 1 else ''} ran in {format_duration(total)} and "
                         f"{'were' if len(ran) != 1 else 'was'} rolled back; the database is "
                         f"still at {at}")
        else:
            n = len([s for s in self.steps if s.status == "succeeded"])
            verb = "applied" if self.direction == "upgrade" else "reverted"
            lines.append(f"{verb} {n} revision{'s' if n != 1 else ''} on {self.environment} "
                         f"in {format_duration(self.seconds * 1000)}; now at {at}")
        for s in ran:
            lines.append(f"  {s.revision}  {format_duration(s.duration_ms)}")
        if self.backup:
            lines.append(f"backup: {self.backup.description} "
                         f"({format_duration(self.backup.seconds * 1000)})")
        return "\n".join(lines)
