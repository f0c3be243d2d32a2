"""How a recipe's SQL spells the name of the constraint or index of the op it rewrites.

A name given with ``op.f()`` (an SQLAlchemy ``conv``, what autogenerate writes for a name
a naming convention made) is final: the SQL spells it out. Any other name, and an unnamed
constraint, is the one Alembic gives it when the revision runs, under env.py's naming
convention (:mod:`sluice.recipes.naming`): the recipe's steps start with a
:class:`~sluice.recipes.steps.NameStep` and its SQL steps are templates of that name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from alembic.operations import ops
from sqlalchemy.sql.elements import conv

from sluice.core.sql import string_literal
from sluice.recipes.steps import NameStep, SqlStep

#: The variable a revision keeps each kind's run-time name in.
VARIABLES = {"check": "ck_name", "unique": "uq_name", "primary": "pk_name",
             "foreignkey": "fk_name", "index": "ix_name"}


@dataclass(frozen=True)
class Spelled:
    """A name as a recipe's SQL fragments write it: ``quoted`` (the identifier),
    ``literal`` (a string literal of it), ``qualified`` (with its schema) and ``regclass``
    (a string literal of that); with ``variable``, placeholders of a run-time name
    (:meth:`sluice.recipes.naming.RuntimeName.sql`), and every other text of a fragment
    goes through :meth:`text`. ``setup``: the steps before the first use."""

    quoted: str
    literal: str
    qualified: str
    regclass: str
    variable: str | None = None
    setup: tuple[ops.MigrateOperation, ...] = ()

    def text(self, sql: str) -> str:
        """``sql`` as it goes into a fragment (braces doubled in a template)."""
        return sql.replace("{", "{{").replace("}", "}}") if self.variable else sql

    def step(self, *fragments: str) -> SqlStep:
        return SqlStep(*fragments, name=self.variable)


def is_final(name: Any) -> bool:
    """A name no naming convention changes (``op.f("...")``)."""
    return isinstance(name, conv)


def final(dialect: Any, name: str, schema: str | None = None) -> Spelled:
    """The spelling of a name no convention changes, quoted by ``dialect``."""
    preparer = dialect.identifier_preparer
    quoted = str(preparer.quote(str(name)))
    qualified = f"{preparer.quote_schema(schema)}.{quoted}" if schema else quoted
    return Spelled(quoted, string_literal(str(name)), qualified, string_literal(qualified))


def spell(dialect: Any, kind: str, name: str | None, table: str,
          columns: Sequence[str] = (), *, schema: str | None = None,
          referent: str | None = None, referent_columns: Sequence[str] = (),
          referent_schema: str | None = None, default: str | None = None) -> Spelled:
    """The spelling of the name of a ``kind`` (``check``, ``unique``, ``primary``,
    ``foreignkey``, ``index``) named ``name`` (None: unnamed, ``default`` without a
    convention), quoted by ``dialect`` when final."""
    if name is not None and is_final(name):
        return final(dialect, name, schema)
    variable = VARIABLES[kind]
    setup = NameStep(variable, kind, None if name is None else str(name), table, columns,
                     schema=schema, referent=referent, referent_columns=referent_columns,
                     referent_schema=referent_schema, default=default)
    return Spelled("{name}", "{literal}", "{qualified}", "{regclass}", variable, (setup,))
