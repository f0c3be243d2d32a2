"""What each lock mode blocks for other sessions, on PostgreSQL and MySQL/MariaDB.

PostgreSQL's table-level modes (``pg_locks.mode``) follow its conflict matrix: plain
``SELECT`` takes ACCESS SHARE, ``INSERT``/``UPDATE``/``DELETE`` take ROW EXCLUSIVE and
``SELECT ... FOR UPDATE/SHARE`` takes ROW SHARE, so a mode blocks reads when it conflicts
with ACCESS SHARE and blocks writes when it conflicts with ROW EXCLUSIVE.

MySQL/MariaDB metadata locks (``performance_schema.metadata_locks.LOCK_TYPE``): ``SELECT``
takes SHARED_READ, DML takes SHARED_WRITE; an online ``ALTER`` holds SHARED_UPGRADABLE and
a copying one SHARED_NO_WRITE, both upgraded to EXCLUSIVE to swap the table in.
"""

from __future__ import annotations

from dataclasses import dataclass

from sluice.trace.model import Blocks


@dataclass(frozen=True)
class Mode:
    name: str
    label: str
    #: Position in the strength order (higher blocks more).
    strength: int
    blocks: Blocks | None
    detail: str


_PG = [
    Mode("AccessShareLock", "ACCESS SHARE", 1, None,
         "conflicts only with ACCESS EXCLUSIVE; reads and writes go on"),
    Mode("RowShareLock", "ROW SHARE", 2, None,
         "conflicts with EXCLUSIVE and ACCESS EXCLUSIVE; reads and writes go on"),
    Mode("RowExclusiveLock", "ROW EXCLUSIVE", 3, None,
         "conflicts with SHARE and stronger (index builds, DDL); reads and writes go on"),
    Mode("ShareUpdateExclusiveLock", "SHARE UPDATE EXCLUSIVE", 4, None,
         "blocks other DDL, VACUUM and ANALYZE on the table; reads and writes go on"),
    Mode("ShareLock", "SHARE", 5, "writes",
         "blocks INSERT, UPDATE and DELETE; reads go on"),
    Mode("ShareRowExclusiveLock", "SHARE ROW EXCLUSIVE", 6, "writes",
         "blocks INSERT, UPDATE and DELETE; reads go on"),
    Mode("ExclusiveLock", "EXCLUSIVE", 7, "writes",
         "blocks INSERT, UPDATE, DELETE and SELECT ... FOR UPDATE/SHARE; plain reads go on"),
    Mode("AccessExclusiveLock", "ACCESS EXCLUSIVE", 8, "reads and writes",
         "blocks every read and write, plain SELECT included"),
]

_MYSQL = [
    Mode("INTENTION_EXCLUSIVE", "INTENTION_EXCLUSIVE", 0, None,
         "scope lock; reads and writes go on"),
    Mode("SHARED", "SHARED", 1, None, "reads and writes go on"),
    Mode("SHARED_HIGH_PRIO", "SHARED_HIGH_PRIO", 1, None, "reads and writes go on"),
    Mode("SHARED_READ", "SHARED_READ", 2, None, "reads and writes go on"),
    Mode("SHARED_WRITE", "SHARED_WRITE", 3, None, "reads and writes go on"),
    Mode("SHARED_WRITE_LOW_PRIO", "SHARED_WRITE_LOW_PRIO", 3, None, "reads and writes go on"),
    Mode("SHARED_UPGRADABLE", "SHARED_UPGRADABLE", 4, None,
         "blocks other DDL on the table; reads and writes go on"),
    Mode("SHARED_READ_ONLY", "SHARED_READ_ONLY", 5, "writes",
         "blocks INSERT, UPDATE and DELETE; reads go on"),
    Mode("SHARED_NO_WRITE", "SHARED_NO_WRITE", 6, "writes",
         "blocks INSERT, UPDATE and DELETE; reads go on"),
    Mode("SHARED_NO_READ_WRITE", "SHARED_NO_READ_WRITE", 7, "reads and writes",
         "blocks every read and write"),
    Mode("EXCLUSIVE", "EXCLUSIVE", 8, "reads and writes",
         "blocks every read and write"),
    # Not a metadata lock: the thread was seen in state "copy to tmp table" (ALGORITHM=COPY),
    # during which the server blocks writes with a table lock.
    Mode("COPY", "table copy (ALGORITHM=COPY)", 6, "writes",
         "copies the table row by row: INSERT, UPDATE and DELETE wait until the copy "
         "ends; reads go on"),
]

PG_MODES: dict[str, Mode] = {m.name: m for m in _PG}
MYSQL_MODES: dict[str, Mode] = {m.name: m for m in _MYSQL}


def mode_info(backend: str, name: str) -> Mode:
    """The :class:`Mode` for a server's mode name; unknown names are assumed harmless
    but keep their name so the report shows them."""
    table = PG_MODES if backend == "postgresql" else MYSQL_MODES
    found = table.get(name) or table.get(name.upper().replace(" ", "_"))
    if found is not None:
        return found
    return Mode(name, name, 0, None, "not a mode Sluice knows; check the server's documentation")


#: What a mode blocks on a PostgreSQL materialized view. Nobody writes one (only REFRESH
#: changes its rows, and ``SELECT ... FOR UPDATE/SHARE`` on it is an error), so a mode that
#: blocks writes only (EXCLUSIVE, taken by ``REFRESH MATERIALIZED VIEW CONCURRENTLY``;
#: SHARE, taken by ``CREATE INDEX``) blocks nothing anyone runs; ACCESS EXCLUSIVE (a plain
#: ``REFRESH``) blocks every read of it.
_MATVIEW_DETAIL = {
    "writes": (None, "blocks other REFRESH and DDL on the materialized view; reads go on "
                     "(nobody writes a materialized view)"),
    "reads and writes": ("reads and writes",
                         "blocks every read of the materialized view, plain SELECT included"),
}


def mode_on(backend: str, name: str, kind: str) -> Mode:
    """:func:`mode_info` for a lock on a relation of ``kind``: on a PostgreSQL materialized
    view, a mode that blocks only writes blocks nothing that runs against it."""
    info = mode_info(backend, name)
    if backend != "postgresql" or kind != "materialized view" or info.blocks is None:
        return info
    blocks, detail = _MATVIEW_DETAIL[info.blocks]
    return Mode(info.name, info.label, info.strength, blocks, detail)  # type: ignore[arg-type]
