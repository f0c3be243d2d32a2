"""SIGINT and SIGTERM during a run: they stop a revision, never Sluice's own bookkeeping."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Signals:
    """SIGTERM (what a deploy tool sends on timeout) stops the run like Ctrl-C does: the
    migration transaction rolls back, the audit rows are written, the lock is released.

    Inside :meth:`hold` (audit writes, version table reads, the lock) a signal is held
    and raised when the block ends, so a connection is never left half way through a
    statement or a commit of Sluice's own.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.held: str | None = None

    def handler(self, signum: int, frame: Any) -> None:
        name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
        if self.depth:
            self.held = self.held or name
            return
        raise KeyboardInterrupt(name)

    @contextmanager
    def hold(self, *, drop: bool = False) -> Iterator[None]:
        """Hold signals in the block; ``drop``: forget them after (the run is over)."""
        self.depth += 1
        try:
            yield
        except BaseException:
            self.depth -= 1
            raise
        self.depth -= 1
        if self.held and not self.depth:
            name, self.held = self.held, None
            if not drop:
                raise KeyboardInterrupt(name)

    @contextmanager
    def installed(self) -> Iterator[Signals]:
        try:
            previous = {sig: signal.signal(sig, self.handler)
                        for sig in (signal.SIGTERM, signal.SIGINT)}
        except ValueError:  # not the main thread
            yield self
            return
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
