"""SL608 ``sqlite-alter-outside-batch``. The check's docstring is the rule's documentation.

Fixtures: ``sl608_sqlite_alter_outside_batch.fixtures/`` (``SL608_bad*.py`` trigger it on
the lines marked ``# <-``; ``SL608_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.registry import RuleContext, rule

#: Operations Alembic's SQLite implementation refuses outside batch mode
#: (``SQLiteImpl.add_constraint`` / ``drop_constraint`` raise ``NotImplementedError``).
_CONSTRAINT_OPS = {
    "create_foreign_key": "foreign key", "create_unique_constraint": "unique constraint",
    "create_check_constraint": "check constraint", "create_primary_key": "primary key",
    "drop_constraint": "constraint",
}
#: ``alter_column`` arguments that need ``ALTER COLUMN``, which SQLite does not have.
_ALTERS = ("type_", "nullable", "server_default")


@rule("SL608", "sqlite-alter-outside-batch", family="script", severity="error",
      dialects=("sqlite",), kinds=(*_CONSTRAINT_OPS, "alter_column"))
def sqlite_alter_outside_batch(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A constraint added or dropped, or a column altered, outside ``batch_alter_table``
    on SQLite: the revision fails when it runs.

    Why it is dangerous: SQLite's ``ALTER TABLE`` cannot add or drop a constraint or
    change a column. Alembic refuses ``create_foreign_key``, ``create_unique_constraint``,
    ``create_check_constraint``, ``create_primary_key`` and ``drop_constraint`` on SQLite
    (``NotImplementedError: No support for ALTER of constraints in SQLite dialect``), and
    the ``ALTER COLUMN`` that ``alter_column`` writes for a new type, nullability or
    default is a syntax error there. The migration stops at that line; ``alembic upgrade
    --sql`` shows nothing wrong.

    Safe alternative:
    1. Do it in batch mode, which copies the table with the change:
       ``with op.batch_alter_table("table") as batch_op: batch_op.create_foreign_key(...)``.
    2. Or, when the project also runs elsewhere and SQLite may go without it, skip it there:
       ``if op.get_bind().dialect.name != "sqlite": ...``.

    Reported only when the project names SQLite as a dialect it runs on (``--dialect``,
    ``lint.dialects``, ``sqlalchemy.url``, a ``sqlite`` version location), not when all
    three dialects are linted because none is named; nor for a call inside an ``if`` on
    the dialect that no render resolved (a downgrade is rendered only with ``--sql``).
    """
    if op.in_batch:
        return
    if op.args.get("dialect_branch"):
        return  # under an ``if`` on the dialect that no render resolved
    if op.kind == "alter_column":
        changed = [k for k in _ALTERS if k in op.args]
        if not changed:
            return  # a rename (RENAME COLUMN) or a comment only
        what = f"changes column {op.target} ({', '.join(changed)})"
        why = "SQLite has no ALTER COLUMN, so the statement fails"
        call = f"batch_op.alter_column('{op.column}', ...)"
    elif op.kind in _CONSTRAINT_OPS:
        label = _CONSTRAINT_OPS[op.kind]
        verb = "drops" if op.kind == "drop_constraint" else "adds"
        name = f" {op.name}" if op.name else ""
        what = f"{verb} {label}{name} on {op.table}"
        why = "Alembic raises NotImplementedError (no ALTER of constraints on SQLite)"
        call = f"batch_op.{op.kind}(...)"
    else:
        return
    yield Hit(
        f"{what} outside batch_alter_table; on SQLite {why} and this {op.phase} stops there",
        steps(
            f"Do it in batch mode: with op.batch_alter_table('{op.table}') as batch_op: "
            f"{call}.",
            "Or, if SQLite can do without it, run it only elsewhere: if "
            "op.get_bind().dialect.name != 'sqlite': ...",
        ),
    )
