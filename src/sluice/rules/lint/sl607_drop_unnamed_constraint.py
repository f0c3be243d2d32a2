"""SL607 ``drop-unnamed-constraint``. The check's docstring is the rule's documentation.

Fixtures: ``sl607_drop_unnamed_constraint.fixtures/`` (``SL607_bad*.py`` trigger it on the
lines marked ``# <-``; ``SL607_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.registry import RuleContext, rule

_KINDS = {"foreignkey": "foreign key", "unique": "unique", "check": "check",
          "primary": "primary key"}


@rule("SL607", "drop-unnamed-constraint", family="script", severity="error",
      kinds=("drop_constraint",))
def drop_unnamed_constraint(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """``op.drop_constraint(None, ...)``: the revision fails when it runs.

    Why it is dangerous: a constraint is dropped by its name, and ``None`` is none.
    SQLAlchemy refuses to write the statement (``Can't emit DROP CONSTRAINT for
    constraint ...; it has no name``), so the revision stops there, usually in a downgrade
    written to pair an unnamed ``create_*_constraint(None, ...)`` and never run until a
    rollback needs it.

    Safe alternative:
    1. Find the name the database gave the constraint: on PostgreSQL ``SELECT conname
       FROM pg_constraint WHERE conrelid = 'table'::regclass`` (an unnamed unique
       constraint is ``<table>_<columns>_key``, a foreign key ``<table>_<columns>_fkey``,
       a primary key ``<table>_pkey``), on MySQL ``SHOW CREATE TABLE table``.
    2. Drop it by that name: ``op.drop_constraint("that_name", "table", type_=...)``. On
       SQLite, which keeps no name, give ``batch_alter_table("table",
       naming_convention={...})`` a convention and drop the name it gives.
    3. Name constraints when you create them (SL703), or set a ``naming_convention`` on
       your ``MetaData`` so autogenerate names them.
    """
    if op.kind != "drop_constraint" or op.name \
            or (op.source == "static" and not op.args.get("unnamed")):
        return  # named, or a name computed at run time
    type_ = str(op.args.get("type_") or "")
    kind = _KINDS.get(type_, "")
    what = f"{kind} constraint" if kind else "constraint"
    look = {"postgresql": f"SELECT conname FROM pg_constraint WHERE conrelid = "
                          f"'{op.table}'::regclass",
            "mysql": f"SHOW CREATE TABLE {op.table}"}.get(ctx.dialect or "")
    yield Hit(
        f"drops a {what} on {op.table} without a name: SQLAlchemy cannot write DROP "
        f"CONSTRAINT without one, so this {op.phase} fails when it runs",
        steps(
            f"Find the name the database gave it: {look}." if look else
            "SQLite keeps no name for it: pass batch_alter_table(..., "
            "naming_convention={...}) a convention and use the name it gives.",
            f"Drop it by that name: op.drop_constraint('<name>', '{op.table}'"
            f"{f', type_={type_!r}' if type_ else ''}).",
            "Name constraints when you create them (SL703).",
        ),
    )
