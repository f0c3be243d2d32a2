"""Sluice's additions to autogenerate comparison, as an Alembic plugin (Alembic 1.18+).

Alembic 1.18 added plugins: modules published under the ``alembic.plugins`` entry point
group, loaded when Alembic is imported, whose ``setup(plugin)`` registers comparison
functions. Installing Sluice publishes this module as the plugin named ``sluice``. A plugin
only takes part in an autogenerate run when it is named in ``autogenerate_plugins``::

    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_server_default=True,
        autogenerate_plugins=["alembic.autogenerate.*", "sluice"],
    )

:func:`sluice.configure_options` does exactly this on Alembic 1.18 and later; on older
Alembic (1.13 to 1.17) it passes the same comparisons through ``context.configure``
callbacks instead (``compare_server_default=`` and a global comparator). Either way each
comparison runs once per autogenerate run: the plugin's server-default comparator stands
aside whenever ``compare_server_default`` is a callable (Sluice's own from the older path,
or yours), and the enum comparator marks the run it has compared.

Registered comparisons:

* ``column`` / ``server_default`` (priority ``FIRST``): server defaults that mean the same
  for the column's type compare equal, whatever the database's spelling
  (:mod:`sluice.policy.defaults`). Only with ``compare_server_default=True``: Alembic does
  not compare server defaults otherwise.
* ``schema``: PostgreSQL enum values added to a model become ``ALTER TYPE ... ADD VALUE``
  (:mod:`sluice.policy.enums`).

This module is imported while Alembic itself is still being imported, so it imports
nothing from Alembic's autogenerate package, nor Sluice's policies, until a comparison
runs.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from sluice.core.alembic_compat import registered_plugins, user_compare_server_default

#: The plugin's name, as listed in ``autogenerate_plugins``.
PLUGIN_NAME = "sluice"
#: What Alembic runs when ``autogenerate_plugins`` is not given.
DEFAULT_PLUGINS = ("alembic.autogenerate.*",)

__all__ = [
    "DEFAULT_PLUGINS",
    "PLUGIN_NAME",
    "ensure_registered",
    "plugin_api_available",
    "setup",
    "with_sluice",
]


def plugin_api_available() -> bool:
    """Whether the installed Alembic has the plugin system (1.18 and later)."""
    return importlib.util.find_spec("alembic.runtime.plugins") is not None


def ensure_registered() -> bool:
    """Make sure the ``sluice`` plugin is registered with Alembic; False before 1.18.

    Alembic registers it from the entry point of an installed Sluice; this covers a
    Sluice that is importable without its package metadata (a source checkout on
    ``sys.path``), so that naming the plugin never fails with "Did not locate plugins".
    """
    if not plugin_api_available():
        return False

    from alembic.runtime import plugins  # lazy: Alembic 1.18+ only (the plugin API)

    registry = registered_plugins()
    if registry is not None and PLUGIN_NAME in registry:
        return True
    try:
        plugins.Plugin.setup_plugin_from_module(sys.modules[__name__], PLUGIN_NAME)
    except ValueError:  # registered meanwhile (the message says "already registered")
        pass
    return True


def with_sluice(names: Any = None) -> list[str]:
    """``autogenerate_plugins`` with Sluice added: ``names`` (default Alembic's own
    ``alembic.autogenerate.*``) plus ``sluice``, unless ``names`` already matches it or
    excludes it (``~sluice``)."""
    out = [str(n) for n in (DEFAULT_PLUGINS if names is None else
                            [names] if isinstance(names, str) else names)]
    if any(n in (PLUGIN_NAME, f"~{PLUGIN_NAME}") for n in out):
        return out
    return [*out, PLUGIN_NAME]


# --------------------------------------------------------------------------- comparators


def _dispatch_result(stop: bool) -> Any:
    from alembic.util import PriorityDispatchResult  # lazy: Alembic 1.18+ only (the plugin API)

    return PriorityDispatchResult.STOP if stop else PriorityDispatchResult.CONTINUE


def _rendered_metadata_default(default: Any, autogen_context: Any) -> str | None:
    """The model's server default as SQL text, the way Alembic renders it to compare."""
    from sqlalchemy.sql.schema import DefaultClause  # lazy: loaded for every alembic command

    if isinstance(default, DefaultClause):
        if isinstance(default.arg, str):
            return default.arg
        return str(default.arg.compile(dialect=autogen_context.dialect,
                                       compile_kwargs={"literal_binds": True}))
    return default if isinstance(default, str) else None


def compare_server_default(autogen_context: Any, alter_column_op: Any, schema: str | None,
                           tname: str, cname: str, conn_col: Any, metadata_col: Any) -> Any:
    """Column comparator: STOP (no change) when both defaults mean the same value.

    Stands aside (CONTINUE) when ``compare_server_default`` is False (Alembic does not
    compare defaults) or a callable (that callable decides: Sluice's own on the env.py
    path, or yours), and for computed and identity columns, which Alembic handles.
    """
    from sqlalchemy.sql.schema import DefaultClause  # lazy: loaded for every alembic command

    from sluice.policy.defaults import (
        compare_server_default as same_default,  # lazy: loaded for every alembic command
    )

    migration_context = autogen_context.migration_context
    user = user_compare_server_default(migration_context)
    if user is False or callable(user):
        return _dispatch_result(False)
    metadata_default = metadata_col.server_default
    conn_default = conn_col.server_default
    if metadata_default is None and conn_default is None:
        return _dispatch_result(False)
    if not isinstance(metadata_default, (DefaultClause, type(None))) \
            or not isinstance(conn_default, (DefaultClause, type(None))):
        return _dispatch_result(False)
    arg: Any = conn_default.arg if conn_default is not None else None
    rendered_conn = arg.text if arg is not None and hasattr(arg, "text") else (
        arg if isinstance(arg, str) else None)
    verdict = same_default(
        migration_context, conn_col, metadata_col, rendered_conn, metadata_default,
        _rendered_metadata_default(metadata_default, autogen_context),
    )
    if verdict is False:
        alter_column_op.existing_server_default = conn_default
        return _dispatch_result(True)
    return _dispatch_result(False)


def compare_enums(autogen_context: Any, upgrade_ops: Any, schemas: Any) -> Any:
    """Schema comparator: PostgreSQL enum values (see :mod:`sluice.policy.enums`).

    Naming the plugin is consent enough: an environment not wired with
    ``configure_options`` gets the project's Sluice configuration here, read from the
    alembic.ini being run, so the comparator acts there too.
    """
    from sluice.policy import enums  # lazy: loaded for every alembic command

    migration_context = autogen_context.migration_context
    if migration_context is not None and "sluice_config" not in migration_context.opts:
        migration_context.opts["sluice_config"] = _project_config(migration_context)
    enums.compare_enums(autogen_context, upgrade_ops, schemas)
    return _dispatch_result(False)


def _project_config(migration_context: Any) -> Any:
    from alembic.util import CommandError  # lazy: loaded for every alembic command

    from sluice.config import load_config  # lazy: loaded for every alembic command
    from sluice.errors import SluiceError  # lazy: loaded for every alembic command

    env = getattr(migration_context, "environment_context", None)
    ini = getattr(getattr(env, "config", None), "config_file_name", None)
    try:
        return load_config(Path(ini) if ini else None)
    except SluiceError as exc:  # Alembic prints CommandError as one line
        raise CommandError(str(exc)) from None


def setup(plugin: Any) -> None:
    """Called by Alembic with the :class:`alembic.runtime.plugins.Plugin` named ``sluice``."""
    from alembic.util import DispatchPriority  # lazy: Alembic 1.18+ only (the plugin API)

    plugin.add_autogenerate_comparator(compare_server_default, "column", "server_default",
                                       priority=DispatchPriority.FIRST)
    plugin.add_autogenerate_comparator(compare_enums, "schema", "sluice_enums")
