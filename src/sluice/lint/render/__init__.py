"""The render layer: run a revision offline inside a real Alembic context and record it.

Each revision is imported (never through ``ScriptDirectory``) and its ``upgrade()`` /
``downgrade()`` are called inside a real :class:`~alembic.runtime.environment.EnvironmentContext`
and :class:`~alembic.runtime.migration.MigrationContext` configured ``as_sql=True`` for a
dialect, exactly as ``alembic upgrade --sql`` would. What it records:

- every Alembic operation invoked (``Operations.invoke``), as an :class:`~sluice.lint.model.Op`
  with ``source="render"``, including operations issued by helpers in imported code;
- every SQL statement emitted, with the line of the revision file that caused it (the
  innermost frame of the revision file on the stack at emission time). With ``sql=False``
  (what ``sluice lint`` uses) Alembic's own DDL operations are recorded but not compiled,
  and downgrades are not run: the rules need the operation, not its DDL text. Raw SQL,
  SQLAlchemy constructs given to ``op.execute``, bind executes and custom (plugin)
  operations are always compiled.

What it tolerates, so that real histories render:

- ``op.get_bind()`` is a stand-in connection: ``execute()`` renders the statement like the
  offline mock connection does and returns an empty result (``fetchall()`` is ``[]``,
  ``scalar()`` is ``None``, ``rowcount`` is 0, iteration stops at once); ``commit``,
  ``close``, ``begin``, ``url``, ``dialect`` exist and ``sqlalchemy.inspect(bind)`` gives an
  inspector of an empty database.
- ``batch_alter_table`` without ``copy_from`` (SQLite would need to reflect the table) is
  rendered as plain ``ALTER`` statements; a statement that cannot be compiled (dropping an
  unnamed constraint, constraint DDL SQLite has no syntax for) is noted and skipped while
  the operation itself is still recorded.
- ``context.is_offline_mode()`` is true, ``context.config`` / ``get_x_argument()`` work.
- Non-standard signatures (``upgrade(op, tables, tester)``, fed by ``run_migrations(**kw)``)
  get the operations object for ``op``, the bind for ``conn``/``bind``/``connection`` and a
  permissive stand-in for anything else.
- ``stub_modules`` packages are replaced by stand-in modules whose every attribute is a
  permissive stub (usable as a column type, a callable, a decorator, a context manager).
- Installed packages env.py imports are imported first (Alembic plugins register their
  operations on import); env.py itself is never run. ``create_engine`` returns the
  stand-in bind (linting never connects anywhere), ``input()`` fails at once, and a
  revision that runs longer than :data:`RENDER_TIMEOUT_S` is interrupted.

When a revision still fails, :class:`RenderOutcome` says why in one short ``reason`` (the
key counted in the coverage line, e.g. ``ImportError myapp``), a ``detail`` and a ``hint``.
Nothing here raises for a broken revision.

The layer is split by concern: :mod:`~sluice.lint.render.sandbox` (isolation, timeouts,
module cleanup), :mod:`~sluice.lint.render.standins` and :mod:`~sluice.lint.render.stubs`
(the stand-in bind and stub modules), :mod:`~sluice.lint.render.instrument` (recording
operations and SQL as they are emitted), :mod:`~sluice.lint.render.failures` (why a
revision did not render), :mod:`~sluice.lint.render.outcome` (the records) and
:mod:`~sluice.lint.render.driver` (:class:`Renderer`).
"""

from __future__ import annotations

import sys
from importlib import import_module

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sluice.lint.render.driver import Renderer
    from sluice.lint.render.outcome import (
        REASON_BIND_READS,
        REASON_DISABLED,
        REASON_NO_UPGRADE,
        REASON_OFFLINE_RAISE,
        REASON_SIGNATURE,
        REASON_TIMEOUT,
        RenderedStatement,
        RenderOutcome,
    )
    from sluice.lint.render.sandbox import RENDER_TIMEOUT_S
    from sluice.lint.render.standins import StandInBind, StandInResult
    from sluice.lint.render.stubs import Stub, StubFinder, StubModule

#: Where each name lives. The package imports a module when one of its names is first
#: used (PEP 562): the renderer imports Alembic and SQLAlchemy, which a lint that reads
#: every revision statically never needs; the outcome records do not.
_HOME = {
    "Renderer": "driver",
    "REASON_BIND_READS": "outcome",
    "REASON_DISABLED": "outcome",
    "REASON_NO_UPGRADE": "outcome",
    "REASON_OFFLINE_RAISE": "outcome",
    "REASON_SIGNATURE": "outcome",
    "REASON_TIMEOUT": "outcome",
    "RenderedStatement": "outcome",
    "RenderOutcome": "outcome",
    "RENDER_TIMEOUT_S": "sandbox",
    "StandInBind": "standins",
    "StandInResult": "standins",
    "Stub": "stubs",
    "StubFinder": "stubs",
    "StubModule": "stubs",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if home != "outcome":
        _mako_without_pygments()
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value

__all__ = [
    "REASON_BIND_READS",
    "REASON_DISABLED",
    "REASON_NO_UPGRADE",
    "REASON_OFFLINE_RAISE",
    "REASON_SIGNATURE",
    "REASON_TIMEOUT",
    "RENDER_TIMEOUT_S",
    "RenderOutcome",
    "RenderedStatement",
    "Renderer",
    "StandInBind",
    "StandInResult",
    "Stub",
    "StubFinder",
    "StubModule",
]

#: The module through which ``mako.exceptions`` imports Pygments.
_PYGMENTS_PLUGIN = "mako.ext.pygmentplugin"


def _mako_without_pygments() -> None:
    """Import ``mako.exceptions`` (Alembic imports Mako for its templates) with Mako's own
    fallback for highlighting, plain HTML escaping, instead of Pygments: importing
    Pygments costs a tenth of importing Alembic and highlights only Mako's HTML error
    pages, which neither Alembic nor a lint ever shows (Alembic reports a template error
    with ``text_error_template()``). Nothing else changes: Pygments can still be imported,
    and a process that imported Mako before keeps it as it was."""
    if "mako.exceptions" in sys.modules or _PYGMENTS_PLUGIN in sys.modules:
        return
    sys.modules[_PYGMENTS_PLUGIN] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import mako.exceptions  # noqa: F401  # lazy: only rendering imports Alembic (and Mako)
    except ImportError:
        pass
    finally:
        if _PYGMENTS_PLUGIN in sys.modules and sys.modules[_PYGMENTS_PLUGIN] is None:
            del sys.modules[_PYGMENTS_PLUGIN]

