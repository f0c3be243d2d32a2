"""The static layer: a revision file's operations from its ``ast``, never importing it.

:func:`analyze_file` parses a revision script and returns every Alembic operation its
``upgrade()`` and ``downgrade()`` would call, with exact source lines, as :class:`Op`
objects following the conventions in :mod:`sluice.lint.model`. It works for every
syntactically valid file, whatever the file imports: nothing in it is executed.

What it understands:

- ``op.<name>(...)`` anywhere in ``upgrade()``/``downgrade()`` (also ``upgrade_<x>()``
  entry points of multi-database templates), and in module-level helper functions they
  call; an op in a helper is attributed to the phase of each caller. ``op`` may be the
  imported module, an alias of it, or a parameter (``def upgrade(op, tables, tester)``).
- ``with op.batch_alter_table("t") as batch_op:`` (``in_batch=True``, ``table`` set) and
  ``with op.get_context().autocommit_block():`` (``in_autocommit=True``).
- Tables created earlier in the same revision and phase (``table_is_new=True``): the
  same name in the same schema (a ``TEMPORARY`` table never stands for a permanent one).
- Literal SQL in ``op.execute("...")``, ``op.execute(sa.text("..."))`` and on a bind
  from ``op.get_bind()``; SQL built at run time is reported as ``script.dynamic_sql``.
- Script facts: ``script.import``, ``script.create_engine``, ``script.swallow_exception``,
  ``script.get_bind_read``, ``script.data_step`` (a ``sluice.data`` step that fills
  columns) and one ``script.downgrade`` per revision.

The layer is split by concern: :mod:`~sluice.lint.static.analyzer` (the entry points and
:class:`StaticResult`), :mod:`~sluice.lint.static.walker` (statements, expressions and
helper calls), :mod:`~sluice.lint.static.emit` (an operation from a call),
:mod:`~sluice.lint.static.facts` (imports, engines, the downgrade),
:mod:`~sluice.lint.static.scope` and :mod:`~sluice.lint.static.values` (literals, types,
table names).
"""

from __future__ import annotations

from sluice.lint.static.analyzer import StaticResult, analyze_file, analyze_source
from sluice.lint.static.values import sql_target_table, type_text

__all__ = ["StaticResult", "analyze_file", "analyze_source", "sql_target_table", "type_text"]
