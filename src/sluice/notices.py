"""What library code has to tell the operator while a tool runs it.

Library code never prints or prompts: it returns results that the CLI renders. Some code
runs inside a tool that Sluice does not drive, though: the autogenerate policies and the
enum comparator inside ``alembic revision --autogenerate``, the env.py guard inside plain
``alembic upgrade``, the environment decorators inside a revision. What those have to say
(a policy's warning, a step skipped in this environment, a wait for the migration lock)
goes to :func:`notice`, one line or block per call.

A notice goes to the receiver set with :func:`set_receiver` (the CLI or an embedding
application may route notices elsewhere); by default it is written to standard error,
which is where Alembic's operator looks. This module is the one place outside
``sluice.integrations`` and the output renderers that writes to a terminal stream
(``tests/test_library_output.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

Receiver = Callable[[str], None]


def to_stderr(message: str) -> None:
    """The default receiver: the message and a newline on standard error, flushed."""
    stream = sys.stderr
    stream.write(f"{message}\n")
    stream.flush()


_receiver: Receiver = to_stderr


def notice(message: str) -> None:
    """Tell the operator ``message`` (already prefixed ``sluice: ...``)."""
    _receiver(message)


def set_receiver(receiver: Receiver) -> Receiver:
    """Send notices to ``receiver`` from now on; returns the previous receiver."""
    global _receiver
    previous, _receiver = _receiver, receiver
    return previous
