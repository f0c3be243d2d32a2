"""SL205 ``unique-constraint-without-index``. The check's docstring is the rule's documentation.

Fixtures: ``sl205_unique_constraint_without_index.fixtures/`` (``SL205_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL205_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import sql_statements, steps
from sluice.rules.lint._postgres import AUTOCOMMIT, PG, pg_ident
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL205", "unique-constraint-without-index", family="postgres-locking",
      severity="error", dialects=PG,
      kinds=("create_unique_constraint", "create_primary_key", "add_column", "execute"),
      phases=UPGRADE)
def unique_without_index(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """Adding a unique constraint or primary key directly builds its index under a lock.

    Why it is dangerous: ``ADD CONSTRAINT ... UNIQUE`` (and ``PRIMARY KEY``) builds a new
    index while holding an ACCESS EXCLUSIVE lock: every read and write on the table waits
    for the whole build.

    Safe alternative:
    1. Build a unique index concurrently first: ``op.create_index(name, table, cols,
       unique=True, postgresql_concurrently=True)`` inside ``autocommit_block()``.
    2. Attach it: ``ALTER TABLE t ADD CONSTRAINT name UNIQUE USING INDEX name`` (or
       ``PRIMARY KEY USING INDEX``), which is instant.

    ``op.add_column(table, sa.Column(..., unique=True))`` on an existing table is reported
    too: Alembic adds the column, then its unique constraint with ``ADD CONSTRAINT``. Drop
    ``unique=True`` and add the constraint as above.
    """
    if op.phase != "upgrade":
        return
    if op.kind == "add_column":
        yield from _column_unique(op)
        return
    if op.kind in ("create_unique_constraint", "create_primary_key") and not op.table_is_new:
        what = "unique constraint" if op.kind == "create_unique_constraint" else "primary key"
        kw = "UNIQUE" if op.kind == "create_unique_constraint" else "PRIMARY KEY"
        name = op.name or "<name>"
        cols = op.args.get("columns")
        cols_txt = f"{list(cols)!r}" if isinstance(cols, (list, tuple)) else "[...]"
        yield Hit(
            f"adds {what} {op.name or '(unnamed)'} on {op.target} directly; its index is "
            "built under an ACCESS EXCLUSIVE lock that blocks every read and write",
            steps(
                f"Build the index first: op.create_index('{name}', '{op.table}', {cols_txt}, "
                f"unique=True, postgresql_concurrently=True) inside `{AUTOCOMMIT}`.",
                f"Attach it: op.execute('ALTER TABLE {pg_ident(op.table or '')} ADD "
                f"CONSTRAINT {pg_ident(name)} {kw} USING INDEX {pg_ident(name)}').",
            ),
        )
        return
    for stmt, is_new in sql_statements(op, ctx):
        if stmt.kind != "ALTER TABLE" or is_new:
            continue
        for act in stmt.actions:
            if act.kind == "add_constraint" and act.constraint in ("unique", "primary_key") \
                    and not act.using_index:
                name = act.name or "<name>"
                yield Hit(
                    f"ALTER TABLE {stmt.table} ADD {act.constraint.replace('_', ' ')} builds "
                    "its index under an ACCESS EXCLUSIVE lock",
                    steps(
                        f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON {stmt.table} (...) "
                        f"inside `{AUTOCOMMIT}`.",
                        f"ALTER TABLE {stmt.table} ADD CONSTRAINT {name} UNIQUE USING INDEX "
                        f"{name}.",
                    ),
                )


def _column_unique(op: Op) -> Iterator[Hit]:
    """``add_column`` of a column with ``unique=True`` (and no ``index=True``, which makes
    it a unique index: SL201): Alembic then runs ``ADD CONSTRAINT ... UNIQUE``
    (``alembic.operations.toimpl.add_column``)."""
    if op.args.get("unique") is not True or op.args.get("index") is True \
            or op.table_is_new or op.in_batch:
        return
    col = op.column or "<column>"
    name = f"uq_{op.table}_{col}"
    yield Hit(
        f"adds column {op.target} with unique=True: Alembic then adds its unique "
        "constraint with ALTER TABLE ... ADD CONSTRAINT, whose index is built under an "
        "ACCESS EXCLUSIVE lock that blocks every read and write",
        steps(
            "Remove unique=True from the column; the add_column stays.",
            f"In a revision of its own, build the index: op.create_index('{name}', "
            f"'{op.table}', ['{col}'], unique=True, postgresql_concurrently=True) inside "
            f"`{AUTOCOMMIT}`.",
            f"Attach it: op.execute('ALTER TABLE {pg_ident(op.table or '')} ADD CONSTRAINT "
            f"{pg_ident(name)} UNIQUE USING INDEX {pg_ident(name)}').",
        ),
    )
