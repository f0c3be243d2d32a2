"""SQLAlchemy's and Alembic's warnings while a check reads the database, kept for the
report instead of going to stderr.

Reflection warns about what it cannot read (``Skipped unsupported reflection of
expression-based index ...``, ``Did not recognize type 'vector' of column ...``), and
Alembic's comparison about what it then skips. Printed by Python's warning machinery
they land on stderr between the report's lines, as file paths and source lines of
SQLAlchemy. :func:`routed` collects them while the checks read the database: the ones
the check already handles are dropped, the others become one-line notes of the check.
Warnings of any other origin (the project's own code, run inside env.py) are shown as
Python would have shown them.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.exc import SAWarning

#: Alembic warns with a plain UserWarning; these are the ones about what it compares.
_ALEMBIC = re.compile(r"^autogenerate skipping |^Skipping unsupported ALTER |^Computed default on ")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class Routed:
    """What :func:`routed` collected: one line per distinct warning."""

    lines: list[str] = field(default_factory=list)
    #: When they were raised, for the notes.
    during: str = "while reading the database"

    def notes(self) -> list[str]:
        return [f"SQLAlchemy warned {self.during}: {line}" for line in self.lines]


@contextmanager
def routed(into: Routed, *, handled: tuple[re.Pattern[str], ...] = ()) -> Iterator[None]:
    """Collect SQLAlchemy's and Alembic's warnings raised in the block into ``into``
    (those matching ``handled`` dropped); show any other warning as usual."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SAWarning)
        warnings.filterwarnings("always", message=_ALEMBIC.pattern, category=UserWarning)
        yield
    for w in caught:
        text = _one_line(str(w.message))
        ours = issubclass(w.category, SAWarning) or (
            issubclass(w.category, UserWarning) and _ALEMBIC.search(text) is not None)
        if not ours:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)
            continue
        if any(p.search(text) for p in handled) or text in into.lines:
            continue
        into.lines.append(text)
