"""Where static analysis cannot decide: why a revision is rendered offline.

The static layer (:mod:`sluice.lint.static`) reads every ``op.*`` call from the source.
Rendering a revision offline adds something only where the source does not say what will
run; :func:`render_needs` names those places, in the order the coverage line counts them:

- ``SQL built at run time``: ``op.execute`` (or a bind's ``execute``) of anything but
  literal SQL (an f-string, ``%``, ``.format``, a variable, a SQLAlchemy construct other
  than a ``select()``, which only reads);
- ``imported code``: the revision runs something it imports from outside Alembic,
  SQLAlchemy and the standard library (project helpers, plugins, constants): it calls an
  imported name, passes it as a name or an option, loops over it, decorates with it, uses
  it in module-level code, in ``op.execute``, a ``server_default`` or ``alter_column``'s
  ``type_=`` / ``existing_type=``. An import whose names are never used, or used only as
  the type, ``default=`` or ``onupdate=`` of an ``sa.Column(...)`` of ``add_column`` /
  ``create_table`` (a custom type, a Python-side default: the rules read the type's text
  from the source and never read those defaults, so rendering cannot change what they
  find), does not need rendering by itself (``script.import``'s ``uses``, see
  :mod:`sluice.lint.static.facts`);
- ``dialect branch``: the code reads the dialect or the engine (``op.get_bind().dialect
  .name``, ``context.get_context().dialect``) or branches on a dialect name;
- ``run-time settings``: ``context.get_x_argument()``, ``context.config``, the
  environment, ``context.is_offline_mode()``;
- ``custom operation``: an ``op.<name>`` that is not one of Alembic's own operations;
- ``names built at run time``: a table, column or constraint name the source passes
  without spelling it out (also the table of a ``batch_alter_table`` the static layer
  cannot follow). A name the call does not pass at all (``drop_index`` without its
  optional table) is not one: no render can supply it;
- ``reads the database``: results read through ``op.get_bind()``, listed when another of
  these makes the revision render (the render then says what happens offline). A read
  alone does not: offline it returns no rows, so rendering could only run fewer of the
  operations the static layer has already read, all of them spelled out (SL606 reports
  the read itself);
- ``no upgrade() found``: the source defines no ``upgrade()`` the static layer can walk.

Code that never runs offline adds no need: the body of a ``for`` over the rows of a read
(offline a read returns no rows). And a revision whose upgrade reaches, whatever happens,
a read that needs a row (``.one()``, ``.scalar_one()``, see :func:`offline_failure`) is
not rendered at all: offline that read raises, so the render could only fail. It is
analysed statically, and SL903 says why, as after a render that failed.

``SQL requested`` and ``render requested`` are not limits of static analysis: the caller
asked for every operation's SQL (``lint_project(sql=True)``) or for every revision to be
rendered (``render_all=True``, to cross-check the two layers).

A revision with none of these is read statically and not rendered: its operations are
exactly what the source says.
"""

from __future__ import annotations

import functools
import inspect
import re
from functools import cache

from sluice.lint.model import Op

__all__ = [
    "NEED_CUSTOM_OP",
    "NEED_DIALECT",
    "NEED_IMPORTS",
    "NEED_NAMES",
    "NEED_NO_UPGRADE",
    "NEED_READS",
    "NEED_RENDER_REQUESTED",
    "NEED_SETTINGS",
    "NEED_SQL",
    "NEED_SQL_REQUESTED",
    "alembic_operations",
    "is_alembic_operation",
    "offline_failure",
    "render_needs",
]

NEED_SQL = "SQL built at run time"
NEED_IMPORTS = "imported code"
NEED_DIALECT = "dialect branch"
NEED_SETTINGS = "run-time settings"
NEED_CUSTOM_OP = "custom operation"
NEED_NAMES = "names built at run time"
NEED_READS = "reads the database"
NEED_NO_UPGRADE = "no upgrade() found"
#: Not limits of static analysis: the caller asked for every operation's SQL, or for
#: every revision to be rendered.
NEED_SQL_REQUESTED = "SQL requested"
NEED_RENDER_REQUESTED = "render requested"

_ORDER = (NEED_SQL, NEED_IMPORTS, NEED_DIALECT, NEED_SETTINGS, NEED_CUSTOM_OP, NEED_NAMES,
          NEED_READS, NEED_NO_UPGRADE)

#: Code that reads the dialect or the engine at run time (text search: a match in a
#: comment only costs a render).
_DIALECT = (r"\.dialect\b|\.engine\b|\bdialect\s*(?:\.|==|!=|\bin\b)|"
            r"""\bname\s*(?:==|!=)\s*['"](?:postgresql|mysql|mariadb|sqlite)['"]""")


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled on first use (most files never reach these searches)."""
    return re.compile(pattern)


#: What must follow ``dialect`` (after ``\\b``) and ``name`` for ``_DIALECT`` to match there.
_AFTER_DIALECT = r"\s*(?:\.|==|!=|\bin\b)"
_AFTER_NAME = r"""\s*(?:==|!=)\s*['"](?:postgresql|mysql|mariadb|sqlite)['"]"""


def _word(char: str) -> bool:
    """``char`` is a ``\\w`` character (what ``\\b`` looks at)."""
    return char.isalnum() or char == "_"


def _reads_dialect(source: str) -> bool:
    """``_DIALECT`` is in ``source``: each of its alternatives starts with ``.dialect``,
    ``dialect``, ``.engine`` or ``name``, so each place one of those is spelled is checked
    alone instead of searching the whole text with the pattern (slow on every file,
    ``name`` is in most). tests/test_lint_static_shortcuts.py keeps both equal."""
    size = len(source)
    at = source.find("dialect")
    while at >= 0:
        before, end = source[at - 1] if at else "", at + 7
        if before == "." and (end == size or not _word(source[end])):
            return True
        if not (before and _word(before)) and _compiled(_AFTER_DIALECT).match(source, end):
            return True
        at = source.find("dialect", at + 1)
    at = source.find(".engine")
    while at >= 0:
        if at + 7 == size or not _word(source[at + 7]):
            return True
        at = source.find(".engine", at + 1)
    if "==" not in source and "!=" not in source:
        return False
    at = source.find("name")
    while at >= 0:
        if not (at and _word(source[at - 1])) and _compiled(_AFTER_NAME).match(source, at + 4):
            return True
        at = source.find("name", at + 1)
    return False


_SETTINGS = (r"\bget_x_argument\b|\benviron\b|\bgetenv\b|\bcontext\.config\b|"
             r"\bis_offline_mode\b|\bget_tag_argument\b")
_SETTINGS_HINTS = ("get_x_argument", "environ", "getenv", "config", "is_offline_mode",
                   "get_tag_argument")

#: Operations whose table, column or constraint name the rules need, by attribute.
_TABLE_KINDS = frozenset({
    "add_column", "alter_column", "drop_column", "create_table", "drop_table",
    "rename_table", "create_index", "drop_index", "create_foreign_key",
    "create_unique_constraint", "create_check_constraint", "create_primary_key",
    "create_exclude_constraint", "drop_constraint", "create_table_comment",
    "drop_table_comment", "bulk_insert",
})
_COLUMN_KINDS = frozenset({"add_column", "alter_column", "drop_column"})
_NAME_KINDS = frozenset({"create_index", "drop_index", "drop_constraint",
                         "create_foreign_key", "create_unique_constraint",
                         "create_check_constraint", "create_primary_key"})


#: Alembic's own operations, exactly those of every Alembic Sluice supports (1.13 and
#: later; a test checks them against the installed one), so that telling a custom
#: operation (``op.sync_enum_values`` of a plugin) from Alembic's own imports nothing.
#: An operation a later Alembic adds counts as custom until it is listed here: its
#: revision is rendered, never read wrongly (and the test fails on that Alembic).
_ALEMBIC_OPERATIONS = frozenset({
    "add_column", "alter_column", "bulk_insert", "create_check_constraint",
    "create_exclude_constraint", "create_foreign_key", "create_index", "create_primary_key",
    "create_table", "create_table_comment", "create_unique_constraint", "drop_column",
    "drop_constraint", "drop_index", "drop_table", "drop_table_comment", "execute",
    "rename_table",
})


def is_alembic_operation(kind: str) -> bool:
    """``kind`` is one of Alembic's own operations (not one a plugin registers)."""
    return kind in _ALEMBIC_OPERATIONS


@cache
def alembic_operations() -> frozenset[str]:
    """Alembic's own operation names (``add_column`` ...), read from the operation classes
    Alembic defines (so an operation a plugin registers is not among them)."""
    from alembic.ddl import postgresql  # lazy: Alembic only for op signatures
    from alembic.operations import (  # lazy: Alembic only for op signatures
        Operations,
        ops,
    )

    names: set[str] = set()
    for module in (ops, postgresql):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, ops.MigrateOperation) or cls.__module__ != module.__name__:
                continue
            names.update(n for n, v in vars(cls).items()
                         if isinstance(v, classmethod) and not n.startswith(("_", "batch_"))
                         and hasattr(Operations, n))
    return frozenset(names)


def render_needs(ops: list[Op], source: str) -> list[str]:
    """Why rendering ``source`` (whose static operations and facts are ``ops``) adds to
    what the static layer read, most telling first; empty: it adds nothing."""
    found: set[str] = set()
    has_upgrade = False
    for o in ops:
        kind = o.kind
        if o.phase == "upgrade":
            has_upgrade = has_upgrade or not kind.startswith("script.")
        if o.args.get("offline_dead"):
            continue  # never runs offline: a render adds nothing there
        if kind.startswith("script."):
            _script_need(o, found)
            continue
        if kind == "execute":
            if o.sql is None and o.args.get("construct") != "select":
                found.add(NEED_SQL)  # (a select is a read, see NEED_READS)
        elif not is_alembic_operation(kind):
            found.add(NEED_CUSTOM_OP)
        elif _unresolved_names(o):
            found.add(NEED_NAMES)
    if not has_upgrade and "def upgrade" not in source:
        found.add(NEED_NO_UPGRADE)
    if _reads_dialect(source):
        found.add(NEED_DIALECT)
    if any(h in source for h in _SETTINGS_HINTS) and _compiled(_SETTINGS).search(source):
        found.add(NEED_SETTINGS)
    if found == {NEED_READS}:
        return []  # a read alone: rendering adds nothing (see the module docstring)
    return [n for n in _ORDER if n in found]


def offline_failure(ops: list[Op]) -> Op | None:
    """The read that stops every offline run of the upgrade, if there is one: a
    ``.one()`` / ``.scalar_one()`` of a read through ``op.get_bind()`` reached whenever
    ``upgrade()`` runs (not in a branch, a loop or a ``try``). Offline a read returns no
    rows, so such a read raises and a render of the revision can only fail; the revision
    is analysed statically without trying."""
    for o in ops:
        if o.kind == "script.get_bind_read" and o.phase == "upgrade" \
                and o.args.get("raises_offline"):
            return o
    return None


def _script_need(o: Op, found: set[str]) -> None:
    if o.kind == "script.import":
        if o.args.get("uses", "code") == "code":
            found.add(NEED_IMPORTS)
    elif o.kind == "script.dynamic_sql":
        found.add(NEED_SQL)
    elif o.kind == "script.get_bind_read":
        found.add(NEED_READS)


def _unresolved_names(o: Op) -> bool:
    """The source passes a name the operation acts on without spelling it out (a name
    it does not pass at all, ``args["absent"]``, no render can supply)."""
    kind = o.kind
    absent = o.args.get("absent", ())
    if kind in _TABLE_KINDS and o.table is None and "table" not in absent:
        return True
    if kind in _COLUMN_KINDS and o.column is None and "column" not in absent:
        return True
    return (kind in _NAME_KINDS and o.name is None and not o.args.get("unnamed")
            and "name" not in absent)
