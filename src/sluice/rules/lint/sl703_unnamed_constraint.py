"""SL703 ``unnamed-constraint``. The check's docstring is the rule's documentation.

Fixtures: ``sl703_unnamed_constraint.fixtures/`` (``SL703_bad*.py`` trigger it on the lines
marked ``# <-``; ``SL703_ok*.py`` must not).
"""

from __future__ import annotations

from collections.abc import Iterator

from sluice.core.ops import Hit, Op
from sluice.rules._util import steps
from sluice.rules.lint._naming import _CONSTRAINT_KINDS, pg_default_name
from sluice.rules.registry import UPGRADE, RuleContext, rule


@rule("SL703", "unnamed-constraint", family="naming", severity="warning",
      kinds=tuple(_CONSTRAINT_KINDS), phases=UPGRADE)
def unnamed_constraint(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A constraint created with ``name=None``: the database invents the name.

    Why it is dangerous: the database picks the name (PostgreSQL ``users_email_key``,
    MySQL the column name, SQLite none at all), so the revisions do not know it: a later
    revision that drops or alters the constraint must look it up and spell it, and this
    revision's downgrade cannot pass ``None`` (SL607). On SQLite, ``batch_alter_table``
    cannot drop an unnamed constraint at all (Alembic raises). A project on several
    databases needs a per-dialect revision for it. With a ``naming_convention`` on the
    ``target_metadata`` env.py passes, Alembic names the constraint after it: then this
    finding does not apply (the lint does not run env.py to see it).

    Safe alternative:
    1. Give the constraint an explicit name (``uq_<table>_<columns>`` ...).
    2. Set ``naming_convention`` on your ``MetaData`` so autogenerate always names them.
    """
    kind = _CONSTRAINT_KINDS.get(op.kind)
    if kind is None or op.phase != "upgrade" or op.name:
        return
    if op.source == "static" and not op.args.get("unnamed"):
        return  # the name is computed at run time, not missing
    prefix = {"unique": "uq", "foreign_key": "fk", "check": "ck", "primary_key": "pk"}[kind]
    label = kind.replace("_", " ")
    yield Hit(
        f"creates an unnamed {label} constraint on {op.target}; {_named_by(op, ctx.dialect)}",
        steps(
            f"Name it: {op.kind}('{prefix}_{op.table}_<columns>', '{op.table}', ...).",
            "Set a naming_convention on your MetaData so autogenerate names every "
            "constraint (with one in env.py's target_metadata, Alembic names this one "
            "too, and this finding can be suppressed).",
        ),
    )


def _named_by(op: Op, dialect: str | None) -> str:
    """Who names the constraint on ``dialect``, and what that costs later."""
    later = "a later revision (or this one's downgrade) must spell that name to drop it"
    if dialect == "postgresql":
        name = pg_default_name(op, dialect)
        return (f"PostgreSQL names it {name or 'after the table and columns'} (another name "
                f"when that one is taken or too long), and {later}")
    if dialect == "mysql":
        return f"MySQL picks the name, and {later}"
    if dialect == "sqlite":
        return ("SQLite keeps no name for it, so batch mode cannot drop it without a "
                "naming_convention")
    return "each database invents a different name, so no later revision can drop it portably"
