"""What data-step tests share: a ``Progress`` that keeps what the step says, and a table of
ten keyed rows to walk."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa


class Said:
    """A ``Progress`` that keeps what the step says."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def start(self, label: str, total: int | None, done: int) -> None:
        pass

    def say(self, message: str) -> None:
        self.lines.append(message)

    def update(self, done: int, changed: int, batch_size: int) -> None:
        pass

    def close(self) -> None:
        pass


def items_engine(db_url: str) -> Iterator[sa.Engine]:
    """An engine on ``db_url`` with ``items (id PRIMARY KEY, n)`` holding ids 1 to 10, n 0;
    disposed when the generator closes (``yield from`` it in a fixture)."""
    eng = sa.create_engine(db_url)
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE items (id INTEGER NOT NULL PRIMARY KEY, "
                             "n INTEGER NOT NULL)")
        conn.execute(sa.text("INSERT INTO items (id, n) VALUES (:i, 0)"),
                     [{"i": i} for i in range(1, 11)])
    yield eng
    eng.dispose()
