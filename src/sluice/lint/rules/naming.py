"""Naming conventions for indexes and constraints."""

from __future__ import annotations

import re
from collections.abc import Iterator

from sluice.lint.model import Hit, Op
from sluice.lint.registry import UPGRADE, RuleContext, rule
from sluice.lint.rules._util import steps

_CONSTRAINT_KINDS = {
    "create_unique_constraint": "unique",
    "create_foreign_key": "foreign_key",
    "create_check_constraint": "check",
    "create_primary_key": "primary_key",
}


def _matches(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return True  # an invalid pattern is a config problem, not this revision's


@rule("SL701", "index-name-convention", family="naming", severity="info",
      default_enabled=False, kinds=("create_index",), phases=UPGRADE)
def index_name_convention(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A new index whose name does not follow ``lint.index_name_pattern``.

    Why it is dangerous: names that follow one convention can be predicted, so a later
    revision (or a person at 3 a.m.) can drop or rebuild the index by name on every
    environment; ad-hoc or database-generated names differ between environments and
    make the next migration fail on one of them.

    Safe alternative:
    1. Name the index after the convention (default ``ix_<table>_<columns>``).
    2. Better, set ``naming_convention`` on your ``MetaData`` so autogenerate names
       everything the same way, and write ``op.f("ix_...")``.
    3. Enable this rule with ``enable = ["SL701"]`` in ``[tool.sluice.lint]``.
    """
    if op.kind != "create_index" or op.phase != "upgrade" or not op.name:
        return
    pattern = ctx.config.lint.index_name_pattern
    if _matches(pattern, op.name):
        return
    cols = op.args.get("columns")
    suggestion = f"ix_{op.table}_" + "_".join(str(c) for c in cols) \
        if isinstance(cols, (list, tuple)) and op.table else "ix_<table>_<columns>"
    yield Hit(
        f"index {op.name} on {op.target} does not match index_name_pattern {pattern!r}",
        steps(
            f"Rename it in this revision, e.g. {suggestion.lower()}.",
            "Set a naming_convention on your MetaData so autogenerate names indexes the same "
            "way.",
        ),
    )


@rule("SL702", "constraint-name-convention", family="naming", severity="info",
      default_enabled=False, kinds=tuple(_CONSTRAINT_KINDS), phases=UPGRADE)
def constraint_name_convention(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A new constraint whose name does not follow ``lint.constraint_name_patterns``.

    Why it is dangerous: a constraint you cannot predict the name of is one you cannot
    drop portably: later revisions need its exact name, and database-generated names
    differ between PostgreSQL, MySQL and SQLite (SQLite keeps none at all).

    Safe alternative:
    1. Name the constraint after the convention for its kind (``uq_``, ``fk_``, ``ck_``,
       ``pk_`` by default).
    2. Set ``naming_convention`` on your ``MetaData`` and write ``op.f(...)`` names.
    3. Enable this rule with ``enable = ["SL702"]`` in ``[tool.sluice.lint]``.
    """
    kind = _CONSTRAINT_KINDS.get(op.kind)
    if kind is None or op.phase != "upgrade" or not op.name:
        return
    pattern = ctx.config.lint.constraint_name_patterns.get(kind)
    if not pattern or _matches(pattern, op.name):
        return
    prefix = {"unique": "uq", "foreign_key": "fk", "check": "ck", "primary_key": "pk"}[kind]
    yield Hit(
        f"{kind.replace('_', ' ')} constraint {op.name} on {op.target} does not match "
        f"{pattern!r}",
        steps(
            f"Rename it, e.g. {prefix}_{op.table}_<columns>.",
            "Set a naming_convention on your MetaData so autogenerate names constraints the "
            "same way.",
        ),
    )


@rule("SL703", "unnamed-constraint", family="naming", severity="warning",
      kinds=tuple(_CONSTRAINT_KINDS), phases=UPGRADE)
def unnamed_constraint(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A constraint created with ``name=None``: the database invents the name.

    Why it is dangerous: every database picks a different name (PostgreSQL
    ``users_email_key``, MySQL the column name, SQLite none at all), so a later revision
    cannot drop or alter it portably; on SQLite, ``batch_alter_table`` cannot drop an
    unnamed constraint at all (Alembic raises). The fix later is a hand-written,
    per-dialect revision.

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
    yield Hit(
        f"creates an unnamed {kind.replace('_', ' ')} constraint on {op.target}; each "
        "database invents a different name, so no later revision can drop it portably",
        steps(
            f"Name it: {op.kind}('{prefix}_{op.table}_<columns>', '{op.table}', ...).",
            "Set a naming_convention on your MetaData so autogenerate names every "
            "constraint.",
        ),
    )
