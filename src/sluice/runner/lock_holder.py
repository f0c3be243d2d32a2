"""Who holds the migration lock: the ``sluice_lock_holder`` table, :class:`Holder`, the
lock's name (one per database) and what a waiting process says about the holder.

The holder writes its row right after acquiring the lock (see :mod:`sluice.runner.lock`),
including the server session of its audit connection, so a waiting process can say who it
is waiting for and tell a run that lost its lock but is still connected from a dead one.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, inspect
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Connection

from sluice.core.durations import format_duration
from sluice.errors import mask_url
from sluice.owned import LOCK_HOLDER_TABLE
from sluice.runner.database import create_owned_table

HOLDER_TABLE = LOCK_HOLDER_TABLE

_metadata = MetaData()
holder_table = Table(
    HOLDER_TABLE,
    _metadata,
    Column("lock_name", String(190), primary_key=True),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("username", String(255)),
    Column("environment", String(100)),
    Column("command", String(255)),
    Column("since", DateTime),
    # the server session of the holder's audit connection: "pg:<pid>:<start>" or "my:<id>"
    Column("session", String(100)),
)



def utcnow() -> dt.datetime:
    """Naive UTC, as stored in Sluice's tables."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


@dataclass
class Holder:
    """Who holds (or wants) the lock."""

    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    username: str = field(default_factory=current_user)
    environment: str = ""
    command: str = ""
    since: dt.datetime | None = None
    session: str | None = None
    #: It lost the lock, but its session is still open: it may still be migrating.
    lost: bool = False
    #: With ``lost``: its session may be open; this role cannot see it (taken as open).
    hidden: str = ""

    def describe(self, now: dt.datetime | None = None) -> str:
        who = f"{self.username}@{self.host} pid {self.pid}"
        extra = ", ".join(x for x in (f"env {self.environment}" if self.environment else "",
                                      self.command) if x)
        if extra:
            who += f" ({extra})"
        if self.since is not None:
            ago = ((now or utcnow()) - self.since).total_seconds() * 1000
            who += f" since {self.since:%Y-%m-%d %H:%M:%S} UTC ({format_duration(max(ago, 0))} ago)"
        if self.lost and self.hidden:
            who += (f", which lost its lock connection; whether its session {self.session} "
                    "is still open (it may still be migrating) is hidden from this role "
                    f"({self.hidden}), so it is waited for")
        elif self.lost:
            who += (f", which lost its lock connection but still has session {self.session} "
                    "open and may still be migrating")
        return who


WaitCallback = Callable[[Holder | None, float], None]

_PG_SESSION = ("SELECT (extract(epoch FROM backend_start) * 1000000)::bigint "
               "FROM pg_stat_activity WHERE pid = :p")
_MY_SESSION = "SELECT COMMAND FROM information_schema.PROCESSLIST WHERE ID = :i"
#: Whether this account may see every session in PROCESSLIST (else only its own).
_MY_PROCESS = (
    "SELECT count(*) FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = "
    "'PROCESS' AND GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), "
    "'''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')")
#: What a role needs to see other roles' sessions, by backend.
SESSIONS_HIDDEN = {
    "postgresql": "seeing other roles' sessions takes pg_read_all_stats",
    "mysql": "seeing other accounts' sessions takes the PROCESS privilege",
}


def session_alive(conn: Connection, backend: str, session: str) -> bool | None:
    """Whether the server session ``pg:<pid>:<start>`` / ``my:<id>`` a holder row names
    still exists: None when this role cannot see it (another role's session, without
    ``pg_read_all_stats`` / ``PROCESS``); False for a session of another backend. Raises
    what the server raises."""
    kind, _, rest = session.partition(":")
    if kind == "pg" and backend == "postgresql":
        pid, _, started = rest.partition(":")
        rows = conn.execute(sql_text(_PG_SESSION), {"p": int(pid)}).all()
        if not rows:
            return False  # every backend's pid is visible to every role
        if rows[0][0] is None:
            return None  # another role's session: its start is hidden
        return int(rows[0][0]) == int(started)
    if kind == "my" and backend == "mysql":
        rows = conn.execute(sql_text(_MY_SESSION), {"i": int(rest)}).all()
        if rows:
            return str(rows[0][0] or "") != "Killed"
        sees_all = bool(conn.execute(sql_text(_MY_PROCESS)).scalar())
        return False if sees_all else None
    return False


def lock_name(database: str) -> str:
    """One lock per database: services with version tables of their own take turns too."""
    name = f"sluice:{database}"
    if len(name) > 64:  # MySQL's limit for GET_LOCK names
        name = "sluice:" + hashlib.sha256(name.encode()).hexdigest()[:40]
    return name


#: ``pg_locks`` rows of the granted advisory lock whose 64-bit key follows (``:k``, ``$1``).
PG_ADVISORY_KEY = ("locktype = 'advisory' AND granted AND objsubid = 1 "
                   "AND ((classid::bigint << 32) | objid::bigint) = ")


def sqlite_lock_file(path: str) -> str:
    """The file whose exclusive transaction is the lock of the SQLite database ``path``."""
    return f"{path}.sluice-lock"


def advisory_key(name: str) -> int:
    """A signed 64-bit key for ``pg_advisory_lock`` derived from the lock name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def ensure_holder_table(conn: Connection) -> None:
    if not inspect(conn).has_table(HOLDER_TABLE):
        create_owned_table(conn, holder_table, checkfirst=False)
        return  # made just now, with every column
    columns = {c["name"] for c in inspect(conn).get_columns(HOLDER_TABLE)}
    if "session" not in columns:  # created by an older Sluice
        conn.execute(sql_text(f"ALTER TABLE {HOLDER_TABLE} ADD COLUMN session VARCHAR(100)"))


def waiter(notify: Callable[[str], None], url: str, timeout_ms: int) -> WaitCallback:
    """Say who holds the lock when waiting starts, when the holder becomes known (or is
    found to have lost the lock while still connected), and every 15 seconds after that."""
    last = [-1.0]
    known: list[tuple[bool, bool]] = [(False, False)]

    def on_wait(holder: Holder | None, waited_ms: float) -> None:
        state = (holder is not None, holder is not None and holder.lost)
        changed = state != known[0] and state[0]
        if last[0] >= 0 and waited_ms - last[0] < 15_000 and not changed:
            return
        last[0] = waited_ms
        known[0] = state
        who = holder.describe() if holder else "another process (not recorded yet)"
        left = max(0.0, timeout_ms - waited_ms)
        notify(f"waiting for the migration lock on {mask_url(url)}: held by {who}; "
               f"giving up in {format_duration(left)}")

    return on_wait
