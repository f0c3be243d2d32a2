"""SL207 ``add-column-volatile-default``. The check's docstring is the rule's documentation.

Fixtures: ``sl207_add_column_volatile_default.fixtures/`` (``SL207_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL207_ok*.py`` must not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import pg_version, sql_statements, steps
from sluice.rules.lint._postgres import PG
from sluice.rules.registry import UPGRADE, RuleContext, rule

#: Functions whose value changes per row: a default using them rewrites the table.
_VOLATILE = re.compile(
    r"\b(random|gen_random_uuid|uuid_generate_v[14]\w*|uuid_generate_v1mc|clock_timestamp|"
    r"timeofday|nextval|txid_current|uuid7|gen_random_bytes)\s*\(",
    re.I,
)


_SERIAL = re.compile(r"^\s*(small|big)?serial\b", re.I)


@rule("SL207", "add-column-volatile-default", family="postgres-locking", severity="error",
      dialects=PG, kinds=("add_column", "execute"), phases=UPGRADE)
def add_column_volatile_default(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Adding a column whose default must be computed per row rewrites the whole table.

    Why it is dangerous: from PostgreSQL 11 a constant default (``0``, ``'x'``, even
    ``now()``) is stored once in the catalog and the ALTER is instant. A volatile default
    (``random()``, ``gen_random_uuid()``, ``clock_timestamp()``, a serial or identity
    column) has to be computed for every row, so PostgreSQL rewrites the table under an
    ACCESS EXCLUSIVE lock. Before PostgreSQL 11 (``lint.target_postgres_version``) every
    default does this.

    Safe alternative:
    1. Add the column without a default (or with a constant one).
    2. Set the default for new rows: ``ALTER TABLE t ALTER COLUMN c SET DEFAULT ...``
       (instant, existing rows untouched).
    3. Backfill existing rows in batches (``sluice.data.batched_update``).
    """
    if op.phase != "upgrade":
        return
    version = pg_version(ctx)
    if op.kind == "add_column" and not op.table_is_new:
        default = op.args.get("server_default")
        type_ = str(op.args.get("type_") or "")
        reason = _rewrite_reason(str(default) if default else None, type_, version,
                                 identity=bool(op.args.get("identity")))
        if reason:
            yield _volatile_hit(op.table or "TABLE", op.column or "COLUMN", reason,
                                str(default) if default else None)
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            if act.kind != "add_column":
                continue
            reason = _rewrite_reason(act.default, act.type_ or "", version,
                                     identity="GENERATED" in act.text.upper())
            if reason:
                yield _volatile_hit(stmt.table or "TABLE", act.column or "COLUMN", reason, act.default)


def _rewrite_reason(default: str | None, type_: str, version: int, *, identity: bool) -> str:
    if _SERIAL.match(type_):
        return f"a {type_.split('(')[0].upper()} column fills every row from a sequence"
    if identity:
        return "an identity column fills every row from a sequence"
    if not default or default.strip().upper() == "NULL":
        return ""
    if _VOLATILE.search(default):
        return f"the default {default} is volatile and computed for every row"
    if version < 11:
        return (f"before PostgreSQL 11 (target_postgres_version = {version}) any default, "
                f"even the constant {default}, is written into every row")
    return ""


def _volatile_hit(table: str, column: str, reason: str, default: str | None) -> Hit:
    return Hit(
        f"adds {table}.{column} with a default that rewrites the whole table under an ACCESS "
        f"EXCLUSIVE lock: {reason}",
        steps(
            f"Add {column} with no default: op.add_column('{table}', sa.Column('{column}', "
            "..., nullable=True)).",
            f"Set the default for new rows only: op.alter_column('{table}', '{column}', "
            f"server_default=sa.text({(default or '...')!r})).",
            f"Backfill existing rows of {table} in batches (sluice.data.batched_update).",
        ),
    )
