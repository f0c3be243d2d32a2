"""The name Alembic gives a constraint or an index when a revision runs, for recipe steps
written as SQL.

Alembic builds the constraint of ``op.create_check_constraint("price_positive", "items",
"price >= 0")`` on a ``MetaData`` that carries the naming convention of env.py's
``target_metadata``: under ``{"ck": "ck_%(table_name)s_%(constraint_name)s"}`` the
constraint is ``ck_items_price_positive``, and ``op.drop_constraint("price_positive",
"items", type_="check")`` drops that name. A recipe that writes a step as SQL (a
catalog-guarded ``DO`` block, ``VALIDATE CONSTRAINT``) cannot know the name when ``sluice
fix`` runs: the convention is known only when env.py runs. So the rewritten revision asks
at run time::

    from sluice.recipes.naming import conventional_name

    ck_name = conventional_name(op, "check", "price_positive", "items")
    op.execute(ck_name.sql("ALTER TABLE items VALIDATE CONSTRAINT {name}"))

:func:`conventional_name` builds the same constraint (or index) Alembic builds for the op,
through Alembic's own operation objects and the migration context (``target_metadata``'s
``naming_convention``, as ``alembic.operations.schemaobj`` reads it), and reads the name
SQLAlchemy's convention gives it, as the dialect renders it (a convention's name longer
than the dialect allows is truncated the same way). A name given with ``op.f()`` is final
(no convention applies); an explicit name changes only where the convention's template
for its kind contains ``%(constraint_name)s``; an unnamed constraint without a convention
gets ``default`` (the name the database would give it). It runs offline too
(``alembic upgrade --sql``): it reads no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alembic.operations import ops
from alembic.runtime.migration import MigrationContext

from sluice.core.sql import fill_name, string_literal

__all__ = ["RuntimeName", "conventional_name"]

#: The constraint kinds (as ``op.drop_constraint``'s ``type_`` spells them) and ``index``.
KINDS = ("check", "unique", "primary", "foreignkey", "index")


class RuntimeName(str):
    """A constraint's or an index's name as the database gets it (the string itself), with
    its SQL spellings for :meth:`sql`."""

    quoted: str
    literal: str
    qualified: str

    def __new__(cls, name: str, quoted: str, schema: str | None = None) -> RuntimeName:
        self = super().__new__(cls, name)
        self.quoted = quoted
        self.literal = string_literal(name)
        self.qualified = f"{schema}.{quoted}" if schema else quoted
        return self

    def sql(self, template: str) -> str:
        """``template`` (``str.format`` syntax) with ``{name}`` the quoted identifier,
        ``{literal}`` the name as a string literal, ``{qualified}`` the identifier with its
        schema, ``{regclass}`` that as a string literal (for ``to_regclass``)."""
        return fill_name(template, str(self), self.quoted, self.qualified)


def _context(op: Any) -> MigrationContext:
    get = getattr(op, "get_context", None)
    context = get() if callable(get) else op
    if not isinstance(context, MigrationContext):
        raise TypeError("conventional_name() needs Alembic's op (or a MigrationContext)")
    return context


def _build(kind: str, name: str | None, table: str, columns: list[str], schema: str | None,
           referent: str | None, referent_columns: list[str], referent_schema: str | None,
           context: MigrationContext) -> Any:
    """The constraint or index Alembic's op of ``kind`` builds in ``context``."""
    if kind == "check":
        return ops.CreateCheckConstraintOp(name, table, "1 = 1", schema=schema) \
            .to_constraint(context)
    if kind == "unique":
        return ops.CreateUniqueConstraintOp(name, table, columns, schema=schema) \
            .to_constraint(context)
    if kind == "primary":
        return ops.CreatePrimaryKeyOp(name, table, columns, schema=schema) \
            .to_constraint(context)
    if kind == "foreignkey":
        return ops.CreateForeignKeyOp(name, table, referent or "", columns,
                                      referent_columns, source_schema=schema,
                                      referent_schema=referent_schema) \
            .to_constraint(context)
    if kind == "index":
        return ops.CreateIndexOp(name, table, columns, schema=schema).to_index(context)
    raise ValueError(f"conventional_name(): kind {kind!r} is not one of {', '.join(KINDS)}")


def conventional_name(op: Any, kind: str, name: str | None, table: str,
                      columns: Sequence[str] = (), *, schema: str | None = None,
                      referent: str | None = None, referent_columns: Sequence[str] = (),
                      referent_schema: str | None = None,
                      default: str | None = None) -> RuntimeName:
    """The name Alembic's op creating this constraint or index gives it in the running
    migration (see the module docstring).

    ``op``: Alembic's ``op`` (or a ``MigrationContext``); ``kind``: ``check``, ``unique``,
    ``primary``, ``foreignkey`` or ``index``; ``name``: as the op was given it (None:
    unnamed); ``columns``: the constraint's (the local ones of a foreign key), which a
    convention may name; ``referent``, ``referent_columns``, ``referent_schema``: a
    foreign key's other side; ``default``: the name when no convention names an unnamed
    constraint. Raises :class:`ValueError` when there is no name at all.
    """
    context = _context(op)
    built = _build(kind, name, table, list(columns), schema, referent,
                   list(referent_columns), referent_schema, context)
    preparer = context.dialect.identifier_preparer
    final = None if built.name is None else preparer.format_constraint(built)
    if final is None:
        if default is None:
            raise ValueError(f"conventional_name(): the {kind} on {table} has no name and "
                             "no naming convention names it")
        return RuntimeName(default, preparer.quote(default), _schema(preparer, schema))
    text = str(final)
    if text.startswith(preparer.initial_quote) and text.endswith(preparer.final_quote) \
            and len(text) >= 2:
        text = text[len(preparer.initial_quote):-len(preparer.final_quote)]
        text = text.replace(preparer.escape_to_quote, preparer.escape_quote)
    return RuntimeName(text, str(final), _schema(preparer, schema))


def _schema(preparer: Any, schema: str | None) -> str | None:
    return str(preparer.quote_schema(schema)) if schema else None
