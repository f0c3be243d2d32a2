"""Recipes: the mechanical safe alternative to a dangerous operation, as data.

A :class:`Recipe` has an id, the lint rule ids whose finding it answers, a dialect, the
oldest server version it works on, a title, a doc (the naive op and the safe sequence)
and one function that rewrites an Alembic op object (``alembic.operations.ops``) into the
list of ops of its safe sequence: Alembic's own ops, plus the few in
:mod:`sluice.recipes.steps` (``autocommit_block``, a ``sluice.data`` backfill, the lock
timeout), each rendered by Alembic's autogenerate renderer as ordinary revision code.
Where no mechanical recipe exists none is registered, and the rule keeps refusing.

The API, for the CLI, an autogenerate hook and the docs::

    from sluice.recipes import (RecipeContext, all_recipes, apply_recipes, fix_file,
                                context_for)

    all_recipes()                       # every Recipe (id, rules, dialect, since, title, doc)
    recipes_for("postgresql", "SL201")  # those of one dialect answering one rule
    ctx = RecipeContext("postgresql", target_postgres_version=14, lock_timeout="5s")
    ctx = context_for(config, "postgresql", env="prod")   # from [tool.sluice]
    ctx = RecipeContext("postgresql", phase="downgrade")  # ops of a downgrade (see below)

    # a list of ops (autogenerate: directives[0].upgrade_ops.ops, containers kept):
    result = apply_recipes(ops_list, ctx)  # RecipeResult(ops=[...], applied=[Applied])
    for a in result.applied:
        a.recipe.id, a.op, a.ops           # what was rewritten, and into what

    # one revision file (ops evaluated from the source, lines replaced in place):
    fix = fix_file(path, ctx, write=False)  # FileFix(before, after, fixed); fix.diff()

Rendering the rewritten ops: :func:`sluice.recipes.steps.render_lines` (or Alembic's
``render_op_text``) with an ``AutogenContext``; :data:`sluice.recipes.steps.BACKFILL_IMPORT`
is added to ``autogen_context.imports`` when a backfill is rendered.

Phases: lint checks an upgrade, and for most rules not a downgrade. In an upgrade a recipe
declines what a rule it does not answer reports (a type change SL101 says loses data is not
written as SL208's expand and contract: that would hide SL101), and a step's ``# sluice:
ignore[...]`` is written only where lint reads it (in an upgrade, for a rule in force).
``RecipeContext.phase`` says which phase the ops are in (``fix_file`` sets it per function);
left None, an op that undoes one rewritten earlier with the same context is taken for a
downgrade's (autogenerate's downgrade, rewritten after its upgrade).

Names: a recipe that writes a constraint or an index as SQL names it as Alembic would when
the revision runs, under env.py's naming convention (:mod:`sluice.recipes.naming`,
``conventional_name``); only an ``op.f()`` name is written out.

Lock timeout and retries: every rewritten DDL on an existing table runs under the
``lock_timeout`` of the context: on PostgreSQL every recipe runs in ``autocommit_block``
(each statement its own transaction, so no brief ACCESS EXCLUSIVE lock outlives its
statement), with ``SET lock_timeout`` at the top of the block and ``RESET`` at its bottom
(the block's commit ends any ``SET LOCAL`` of the revision's transaction); ``SET SESSION
lock_wait_timeout`` on MySQL. :func:`context_for` takes the value from the environment's
``lock_timeout`` (``--env``), else the shortest one any production environment sets, else
:data:`~sluice.recipes.model.DEFAULT_LOCK_TIMEOUT`. Retrying is left to the runner:
``sluice upgrade`` retries a revision whose lock timeout tripped (``lock_retries``), and
every recipe step is safe to run again (``IF [NOT] EXISTS``, catalog-guarded DO blocks,
an INVALID index dropped before it is rebuilt, a valid one kept only when it is the index
being built, backfills resumed from their checkpoint).

Written code: the rewrite calls ``op`` and SQLAlchemy by the names the revision binds
(``alembic_module_prefix``/``sqlalchemy_module_prefix`` of the ``AutogenContext``), adds
``import sqlalchemy as sa`` where it binds none, and compiles SQL with the ``named``
paramstyle, so that a ``%`` is written once.
"""

from __future__ import annotations

from sluice.recipes.apply import Applied, RecipeResult, apply_recipes, rewrite_op
from sluice.recipes.context import context_for
from sluice.recipes.model import (
    DEFAULT_LOCK_TIMEOUT,
    Recipe,
    RecipeContext,
    all_recipes,
    find_recipe,
    recipes_for,
)
from sluice.recipes.source import FileFix, fix_file, fix_source

__all__ = ["DEFAULT_LOCK_TIMEOUT", "Applied", "FileFix", "Recipe", "RecipeContext",
           "RecipeResult", "all_recipes", "apply_recipes", "context_for", "find_recipe",
           "fix_file", "fix_source", "recipes_for", "rewrite_op"]
