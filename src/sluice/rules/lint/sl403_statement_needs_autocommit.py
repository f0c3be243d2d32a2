"""SL403 ``statement-needs-autocommit``. The check's docstring is the rule's documentation.

Fixtures: ``sl403_statement_needs_autocommit.fixtures/`` (``SL403_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL403_ok*.py`` must not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import pg_version, sql_statements, steps
from sluice.rules.lint._transactions import _AUTOCOMMIT, PG
from sluice.rules.registry import RuleContext, rule

#: Statements PostgreSQL refuses in a transaction block (the label is the matched text).
_NEEDS_AUTOCOMMIT = re.compile(r"(?:VACUUM|CREATE DATABASE|DROP DATABASE|CREATE TABLESPACE|"
                               r"DROP TABLESPACE|ALTER SYSTEM)\b")


@rule("SL403", "statement-needs-autocommit", family="transactions", severity="error",
      dialects=PG, kinds=("execute",))
def statement_needs_autocommit(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A statement PostgreSQL refuses inside a transaction block.

    Why it is dangerous: ``VACUUM``, ``CREATE/DROP DATABASE``, ``CREATE/DROP TABLESPACE``,
    ``ALTER SYSTEM`` (and, before PostgreSQL 12, ``ALTER TYPE ... ADD VALUE``) cannot run
    in a transaction, and Alembic runs the migration in one: the deploy fails at this
    statement, after the earlier statements of the revision took their locks.

    Safe alternative:
    1. Wrap it in ``with op.get_context().autocommit_block():``.
    2. Better, keep maintenance (VACUUM, ALTER SYSTEM) out of migrations altogether.
    """
    if op.in_autocommit:
        return
    for stmt, _ in sql_statements(op, ctx):
        found = _NEEDS_AUTOCOMMIT.match(stmt.norm)
        label = found.group() if found else None
        if label is None and stmt.kind == "ALTER TYPE" and " ADD VALUE" in stmt.norm \
                and pg_version(ctx) < 12:
            label = f"ALTER TYPE ... ADD VALUE (before PostgreSQL 12, target {pg_version(ctx)})"
        if label is None:
            continue
        yield Hit(
            f"{label} cannot run inside a transaction block; the migration fails here",
            steps(
                f"Wrap it: `{_AUTOCOMMIT}`.",
                "Keep maintenance statements out of migrations where you can.",
            ),
        )
