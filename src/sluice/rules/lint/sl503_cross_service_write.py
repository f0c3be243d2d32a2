"""SL503 ``cross-service-write``. The check's docstring is the rule's documentation.

Fixtures: ``sl503_cross_service_write.fixtures/`` (``SL503_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL503_ok*.py`` must not). A fixture's ``# sluice-test: config`` names
its own folder as a service's ``version_location`` (relative to the working directory,
the config root of a fixture).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from sluice.config import SluiceConfig
from sluice.core.ops import Hit, Op
from sluice.core.patterns import matches_any
from sluice.owned import sluice_tables
from sluice.rules._util import may_name, run_memo, sql_statements, steps
from sluice.rules.registry import RuleContext, rule

#: SQL that changes a table's rows or definition (SELECT and the like only read).
_WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "MERGE", "REPLACE", "ALTER TABLE",
           "DROP TABLE", "CREATE TABLE", "RENAME TABLE", "CREATE INDEX", "DROP INDEX")


@rule("SL503", "cross-service-write", family="data", severity="error")
def cross_service_write(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A revision writes to a version table or Sluice's own tables with raw SQL (error), or
    a revision in one service's ``version_location`` changes a table outside that
    service's ``tables`` patterns (warning).

    Why it is dangerous: the version tables (``alembic_version``, each service's
    ``version_table``) are how Alembic knows what ran; ``DELETE FROM alembic_version`` in
    one service's revision silently resets every other service, whose next deploy then
    runs its revisions again on tables that already exist. Sluice's tables
    (``sluice_history``, ``sluice_lock_holder``, ``sluice_data_progress``) are the audit
    trail, the migration lock and the data-migration checkpoints. A service that alters a
    table another service owns changes it behind that service's back: its models, its
    drift check and its deploy schedule do not know about it.

    Safe alternative:
    1. Never touch version tables by hand: move between revisions with ``alembic stamp``
       or ``alembic upgrade``/``downgrade`` of the environment that owns the table.
    2. Leave Sluice's tables to Sluice (``sluice.data`` manages its checkpoints).
    3. Put a change to another service's table in a revision of that service (its
       ``version_location``, ``alembic -x service=NAME revision``), and add its head to
       this revision's ``depends_on`` when this one needs it.
    """
    services = ctx.config.services
    if op.kind != "execute" and not services:  # (most ops: nothing to read)
        return
    bookkeeping = _bookkeeping(ctx)
    for table, how in _written(op, ctx, named=bookkeeping):
        name = table.rsplit(".", 1)[-1].strip('"`[]').lower()
        if name in bookkeeping:
            yield _bookkeeping_hit(name, how, bookkeeping[name])
    if op.phase != "upgrade" or op.kind.startswith("lint.") or not op.path or not services:
        return
    service = _service_of(op.path, ctx)
    if service is None:
        return
    own = services[service].tables
    for table, how in _changed(op, ctx):
        name = table.rsplit(".", 1)[-1].strip('"`[]').lower()
        if name in bookkeeping or matches_any(name, own):
            continue
        owner = next((s for s, svc in sorted(services.items())
                      if s != service and matches_any(name, svc.tables)), None)
        yield _foreign_hit(service, name, how, owner)


def _written(op: Op, ctx: RuleContext, named: Iterable[str] | None = None
             ) -> Iterator[tuple[str, str]]:
    """(table, statement kind) of each raw SQL write of an ``execute``; with ``named``,
    only of the statements whose text holds one of those (lower-case) table names (the
    others are not summarised: reading a statement's table parses it)."""
    if op.kind != "execute":
        return
    construct = op.args.get("construct")
    if construct in ("insert", "update", "delete") and op.args.get("construct_table"):
        yield str(op.args["construct_table"]), str(construct).upper()
    names = None if named is None else set(named)
    for stmt, _ in sql_statements(op, ctx):
        if names is not None and not may_name(stmt.text, names):
            continue
        if stmt.kind.startswith(_WRITES):
            target = stmt.table or next(iter(stmt.tables), None)  # the others are read
            if target:
                yield target, stmt.kind


def _changed(op: Op, ctx: RuleContext) -> Iterator[tuple[str, str]]:
    if op.kind == "execute":
        yield from _written(op, ctx)
    elif op.table:
        yield op.table, op.kind


def _bookkeeping(ctx: RuleContext) -> dict[str, str]:
    """Lower-cased table name -> what it is."""
    memo = run_memo(ctx)
    key = ("cross-service-write", "bookkeeping")
    if key not in memo:
        memo[key] = _bookkeeping_of(ctx.config)
    found: dict[str, str] = memo[key]
    return found


def _bookkeeping_of(config: SluiceConfig) -> dict[str, str]:
    out = {t.lower(): "one of Sluice's own tables" for t in sluice_tables(config)}
    out["alembic_version"] = "Alembic's version table"
    for name, svc in config.services.items():
        if svc.version_table:
            out[svc.version_table.lower()] = f"the version table of service {name}"
    return out


def _service_of(path: str, ctx: RuleContext) -> str | None:
    """The service whose ``version_location`` holds the revision file ``path``."""
    memo = run_memo(ctx)
    key = ("cross-service-write", path)
    if key not in memo:
        file = Path(path).resolve()
        memo[key] = next((
            name for name, svc in sorted(ctx.config.services.items())
            if svc.version_location
            and (ctx.config.root / svc.version_location).resolve() in file.parents), None)
    found: str | None = memo[key]
    return found


def _bookkeeping_hit(table: str, how: str, what: str) -> Hit:
    return Hit(
        f"{how} on {table} ({what}) in a revision: Alembic and Sluice keep this table "
        "themselves; a revision that writes to it makes the database forget what ran "
        "(other services' next deploy runs their revisions again) or breaks the audit, the "
        "migration lock or the data checkpoints",
        steps(
            f"Remove the statement on {table} from the revision.",
            "To move a database between revisions, use `alembic stamp REV` (with -n SECTION "
            "for a service's own version table) or upgrade/downgrade, never SQL.",
            "If the database really must be repaired by hand, do it once, outside "
            "migrations, with a reviewed script and a backup.",
        ),
    )


def _foreign_hit(service: str, table: str, how: str, owner: str | None) -> Hit:
    whose = f"owned by service {owner}" if owner else "owned by no service"
    move = (f"Move the change into a revision of service {owner}: "
            f'alembic -x service={owner} revision -m "..." (or --autogenerate).'
            if owner else "Move the change into a revision on the trunk, or add the table to "
                          "this service's tables patterns if it really is its table.")
    return Hit(
        f"{how} changes table {table}, {whose}, from a revision of service {service}: the "
        f"table is outside {service}'s tables patterns, so the service that owns it (its "
        "models, drift check and deploys) does not know about the change",
        steps(
            move,
            f"If {service} needs the change first, add that revision's id to this "
            "revision's depends_on so Alembic orders them.",
        ),
        severity="warning",
    )
