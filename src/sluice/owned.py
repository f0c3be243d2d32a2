"""The tables Sluice itself creates in a project's database, named in one place.

The audit table (``sluice history``), the lock-holder table of the migration lock, and the
checkpoint table of ``sluice.data`` (``[tool.sluice.data] progress_table``) are Sluice's
bookkeeping, not the project's schema: autogenerate never proposes to drop them, and
``sluice check`` (drift, round trip) never reports them as differences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from sluice.config import SluiceConfig

#: The audit table: one row per revision per run (``sluice history``).
HISTORY_TABLE = "sluice_history"
#: Who holds the migration lock right now.
LOCK_HOLDER_TABLE = "sluice_lock_holder"
#: Default name of the ``sluice.data`` checkpoint table.
DATA_PROGRESS_TABLE = "sluice_data_progress"


def sluice_tables(config: SluiceConfig | None = None) -> frozenset[str]:
    """Names of every table Sluice creates, with the checkpoint table as ``config`` names
    it (the default name too, so a renamed table's old copy is not schema either)."""
    names = {HISTORY_TABLE, LOCK_HOLDER_TABLE, DATA_PROGRESS_TABLE}
    if config is not None:
        names.add(config.data.progress_table)
    return frozenset(names)


# --------------------------------------------------------------------------- privileges

#: What Sluice does with the rows of its tables once they are there (CREATE is needed only
#: for a table that is missing).
ROW_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")

#: PostgreSQL's refusal ("permission denied for table|relation|sequence NAME") and
#: MySQL/MariaDB's ("INSERT command denied to user 'u'@'h' for table `db`.`NAME`", MySQL
#: 8 quoting 'NAME'; "... for column 'c' in table 'NAME'").
_REFUSED = re.compile(
    r"permission denied for (?:table|relation|sequence) \"?(?P<pg>[^\s\"]+)\"?"
    r"|command denied to user .*? (?:for|in) table (?:`[^`]*`\.)?[`'](?P<my>[^`']+)[`']",
    re.IGNORECASE)


def refused_table(exc: BaseException, tables: Iterable[str]) -> str | None:
    """The table of ``tables`` a database refused to ``exc`` for want of a privilege (on
    PostgreSQL also: the sequence of its serial column), as the driver's message names it;
    None for any other error."""
    orig = getattr(exc, "orig", None)
    found = _REFUSED.search(str(orig if orig is not None else exc))
    if found is None:
        return None
    name = (found.group("pg") or found.group("my") or "").rsplit(".", 1)[-1]
    for table in tables:
        if name == table or (found.group("pg") and name.startswith(f"{table}_")
                             and name.endswith("_seq")):
            return table
    return None


def grant_statements(conn: Connection, tables: Sequence[str],
                     privileges: Sequence[str] = ROW_PRIVILEGES
                     ) -> tuple[list[str], list[str], list[str]]:
    """The GRANTs an owner runs so that ``conn``'s role (PostgreSQL) or account
    (MySQL/MariaDB) gets ``privileges`` on those of ``tables`` that are there (on
    PostgreSQL with USAGE on their serial columns' sequences, which an INSERT takes a
    number from); those tables; those sequences. Each table as Sluice's own statements
    name it, qualified with the schema (database) the connection finds it in. SQL that
    fails raises; the caller's general advice stands then."""
    from sqlalchemy import text  # lazy: only on a refusal; the rules import this module

    if conn.in_transaction():  # a refused statement left it aborted (PostgreSQL)
        conn.rollback()
    what = ", ".join(privileges)
    if conn.dialect.name == "postgresql":
        role = _pg_quote(str(conn.execute(text("SELECT current_user")).scalar()))
        names, present, sequences = [], [], []
        for table in tables:
            row = conn.execute(text(_PG_TABLE), {"t": table}).first()
            if row is not None:
                present.append(table)
                names.append(f"{_pg_ident(row[0])}.{_pg_ident(row[1])}")
                sequences += [f"{_pg_ident(s[0])}.{_pg_ident(s[1])}" for s in conn.execute(
                    text(_PG_SEQUENCES), {"t": table})] if "INSERT" in privileges else []
        grants = [f"GRANT {what} ON {', '.join(names)} TO {role};"] if names else []
        if sequences:
            grants.append(f"GRANT USAGE ON SEQUENCE {', '.join(sequences)} TO {role};")
        return grants, present, sequences
    user, _, host = str(conn.execute(text("SELECT CURRENT_USER()")).scalar()).rpartition("@")
    database = str(conn.execute(text("SELECT DATABASE()")).scalar())
    account = f"'{user.replace(chr(39), chr(39) * 2)}'@'{host.replace(chr(39), chr(39) * 2)}'"
    db = database.replace("`", "``")
    return ([f"GRANT {what} ON `{db}`.`{t.replace('`', '``')}` TO {account};" for t in tables],
            list(tables), [])


#: A table as an unqualified name finds it (search_path): its schema and name.
_PG_TABLE = ("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
             "ON n.oid = c.relnamespace WHERE c.oid = to_regclass(quote_ident(:t))")
#: The sequences of a table's serial and identity columns.
_PG_SEQUENCES = (
    "SELECT n.nspname, s.relname FROM pg_depend d JOIN pg_class s ON s.oid = d.objid "
    "AND s.relkind = 'S' JOIN pg_namespace n ON n.oid = s.relnamespace "
    "WHERE d.classid = 'pg_class'::regclass AND d.refobjid = to_regclass(quote_ident(:t)) "
    "AND d.deptype IN ('a', 'i') ORDER BY s.relname")


def _pg_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pg_ident(name: str) -> str:
    """A PostgreSQL identifier as it must be written: bare when it is a plain lower-case
    name, quoted otherwise."""
    return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else _pg_quote(name)


def refusal_hint(conn: Connection, table: str, tables: Sequence[str], *,
                 read_only: bool = False) -> str | None:
    """What to do when ``conn``'s role was refused on ``table``, one of Sluice's
    ``tables`` that is there already: which privileges it needs, on which of them, and
    the exact GRANT for an owner to run. ``read_only``: a command that only reads
    ``table`` (``sluice history``), which needs SELECT on it alone. None when the GRANT
    cannot be worked out (the connection is gone, ``table`` is not there)."""
    hidden: list[str] = []
    try:
        if read_only:
            grants, present, _ = grant_statements(conn, [table], ("SELECT",))
        else:
            there, hidden = _visible(conn, tables, table)
            grants, present, sequences = grant_statements(conn, there)
    except Exception:  # noqa: BLE001 - the caller's general advice, then
        return None
    if table not in present or not grants:
        return None
    run = " ".join(grants)
    if read_only:
        return f"The role may not read {table}: have an owner run: {run}"
    listed = " and ".join(filter(None, (", ".join(tables[:-1]), tables[-1])))
    usage = f", and USAGE on the sequence {', '.join(sequences)}" if sequences else ""
    unseen = (f" ({' and '.join(hidden)} may be there too, hidden from a role without "
              "privileges on it: if it is, the same GRANT on it)") if hidden else ""
    return (f"Sluice's tables are there, but the deploy role may not read and write the "
            f"rows of {table}: it needs SELECT, INSERT, UPDATE and DELETE on {listed}"
            f"{usage} (CREATE only for a table that is missing). Have an owner run: {run}"
            f"{unseen}")


def _visible(conn: Connection, tables: Sequence[str],
             refused: str) -> tuple[list[str], list[str]]:
    """``tables`` that are there, and those whose presence the role cannot see:
    MySQL/MariaDB hide a table from a role without privileges on it (the refused table,
    named by the refusal, counts as there)."""
    from sqlalchemy import inspect  # lazy: only on a refusal; the rules import this module

    if conn.dialect.name == "postgresql":
        return list(tables), []  # grant_statements leaves out what is not there
    found = inspect(conn)
    there, hidden = [], []
    for t in tables:
        try:
            if t == refused or found.has_table(t):
                there.append(t)
        except Exception:  # noqa: BLE001 - refused even a look: hidden from the role
            hidden.append(t)
    return there, hidden
