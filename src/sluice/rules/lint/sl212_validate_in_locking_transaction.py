"""SL212 ``validate-in-locking-transaction``. The check's docstring is the rule's
documentation.

Fixtures: ``sl212_validate_in_locking_transaction.fixtures/`` (``SL212_bad*.py`` trigger
it on the lines marked ``# <-``; ``SL212_ok*.py`` must not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import TableRef, op_table, sql_statements, statement_table, steps
from sluice.rules.lint._postgres import PG
from sluice.rules.registry import UPGRADE, RuleContext, rule

#: Alembic operations that take a lock blocking writes on their table until the
#: transaction ends (a concurrent index build excepted).
_LOCKING_OPS = frozenset({
    "add_column", "drop_column", "alter_column", "create_foreign_key",
    "create_check_constraint", "create_unique_constraint", "create_primary_key",
    "create_exclude_constraint", "drop_constraint", "create_index", "drop_index",
    "rename_table", "create_table_comment", "drop_table_comment",
})
_VALIDATE = re.compile(r'VALIDATE\s+CONSTRAINT\s+(?:"([^"]+)"|([\w$]+))', re.I)


@rule("SL212", "validate-in-locking-transaction", family="postgres-locking",
      severity="error", dialects=PG, kinds=("execute",), phases=UPGRADE)
def validate_in_locking_transaction(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """``VALIDATE CONSTRAINT`` in the transaction that added the constraint (or altered
    its table otherwise) scans the table under that earlier lock.

    Why it is dangerous: ``VALIDATE CONSTRAINT`` alone takes a SHARE UPDATE EXCLUSIVE lock
    that lets reads and writes go on while it scans. But a lock is held until its
    transaction ends: when the same transaction already added the constraint ``NOT
    VALID`` (SHARE ROW EXCLUSIVE on both tables of a foreign key, ACCESS EXCLUSIVE for a
    check) or altered the table in another way, that lock is still held for the whole
    scan, and every write waits as if ``NOT VALID`` had never been written. A table is its
    schema and its name: a lock on the table of that name in another schema does not count;
    a name written without a schema is the search path's table, which may be the schema'd
    one, and counts.

    Safe alternative:
    1. Commit the ``NOT VALID`` step first: put the ``VALIDATE`` in
       ``with op.get_context().autocommit_block():`` (it commits what ran before it), or
       in a later revision applied with ``transaction_per_migration=True`` in env.py's
       ``context.configure(...)``, or in a later deploy. With one transaction for every
       revision (Alembic's default), a later revision of the same ``alembic upgrade`` is
       still the same transaction.
    2. Keep the other changes to the table out of the ``VALIDATE``'s transaction.
    """
    if op.phase != "upgrade" or op.in_autocommit:
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new or not stmt.table:
            continue
        names = _VALIDATE.finditer(stmt.text)  # (as written: the actions' text is upper-cased)
        for act in stmt.actions:
            m = next(names, None) if act.kind == "validate_constraint" else None
            if m is None:
                continue
            earlier = _earlier_lock(op, ctx, statement_table(stmt))
            if earlier is None:
                continue
            name = m.group(1) or m.group(2)
            what, line = earlier
            at = f" on line {line}" if line else ""
            yield Hit(
                f"validates constraint {name} on {stmt.table} in the transaction that "
                f"{what}{at}: that step's lock is held until the commit, so the scan "
                f"blocks writes to {stmt.table} for its whole length",
                steps(
                    "Move the VALIDATE into `with op.get_context().autocommit_block():` "
                    "(it commits the earlier step first), or into a later deploy.",
                    "A later revision is enough only with transaction_per_migration=True "
                    "in env.py: by default one transaction covers the whole upgrade.",
                ),
            )


def _may_be(ref: TableRef | None, table: TableRef) -> bool:
    """``ref`` may be ``table``: the same name, in the same schema, or without a schema on
    one side (the search path's, which may be the other's); never the table of that name
    in another schema."""
    return ref is not None and ref[1] == table[1] and (
        ref[0] == table[0] or not ref[0] or not table[0])


def _earlier_lock(op: Op, ctx: RuleContext, table: TableRef | None
                  ) -> tuple[str, int | None] | None:
    """What, earlier in ``op``'s transaction (no autocommit block since), took a lock on
    ``table`` that blocks writes: its description and line; None when nothing did."""
    if table is None:
        return None
    found: tuple[str, int | None] | None = None
    for other in ctx.ops:
        if other is op:
            return found
        if other.in_autocommit:  # the block committed everything before it
            found = None
            continue
        what = _locks(other, ctx, table)
        if what is not None and found is None:
            found = (what, other.line)
    return None


def _locks(op: Op, ctx: RuleContext, table: TableRef) -> str | None:
    """How ``op`` locked ``table`` against writes, as a phrase; None when it did not."""
    if op.kind in _LOCKING_OPS and not op.table_is_new:
        if op.kind in ("create_index", "drop_index") and op.args.get("postgresql_concurrently"):
            return None
        if _may_be(op_table(op), table):
            if op.kind in ("create_foreign_key", "create_check_constraint") \
                    and op.args.get("postgresql_not_valid"):
                return f"added {op.name or 'a constraint'} NOT VALID"
            return f"ran {op.kind}"
        return None
    for stmt, is_new in sql_statements(op, ctx):
        if is_new or stmt.kind not in ("ALTER TABLE", "CREATE INDEX", "DROP INDEX", "LOCK"):
            continue
        if stmt.concurrently or not _may_be(statement_table(stmt), table):
            continue
        if stmt.kind == "ALTER TABLE" and stmt.actions \
                and all(a.kind == "validate_constraint" for a in stmt.actions):
            continue  # SHARE UPDATE EXCLUSIVE: writes go on
        adds = [a for a in stmt.actions if a.kind == "add_constraint" and a.not_valid]
        if stmt.kind == "ALTER TABLE" and adds:
            return f"added {adds[0].name or 'a constraint'} NOT VALID"
        return f"ran {stmt.kind}"
    return None
