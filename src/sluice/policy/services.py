"""Several services sharing one database: table ownership, scoped autogenerate, branches.

Each ``[tool.sluice.services.NAME]`` owns the tables its ``tables`` patterns match, and
its revisions live on an Alembic branch labelled ``branch_label`` (default: the service
name), in its own ``version_location`` folder when one is configured.

- ``alembic -x service=billing revision --autogenerate``: autogenerate sees only billing's
  tables (filtered by ``include_name`` before reflection) and the revision lands on
  ``billing@head``, or starts the ``billing`` branch from base when it has no revision yet.
- Without ``-x service`` the result is split per owning service (:mod:`sluice.policy.split`).
- A service with its own ``version_table`` is a separate Alembic environment (its own
  ``alembic.ini`` section listing only its ``version_locations``, selected with
  ``alembic -n NAME`` or ``-x service=NAME``); its tables are invisible to every other run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory

from sluice.config import SluiceConfig
from sluice.core.suggest import AlembicOptions
from sluice.errors import ConfigError
from sluice.policy.branches import (
    active_service,
    add_depends_on,
    all_heads,
    ancestors,
    branch_head,
    branch_heads,
    check_version_location,
    place_on_branch,
    script_directory,
    service_labels,
    trunk_dependencies,
    trunk_heads,
    unowned_trunk_head,
    version_locations,
)
from sluice.policy.ownership import (
    SERVICE_OPTION,
    TRUNK,
    Service,
    created_tables,
    get_service,
    iter_leaves,
    metadata_tables,
    op_owner,
    op_tables,
    owner_of,
    ownership,
    referenced_tables,
    resolve_service,
    services,
    table_visible,
    touches_existing_tables,
    unknown_service,
    version_tables,
    warn_unowned,
)
from sluice.policy.split import service_branches

__all__ = [
    "SERVICE_OPTION", "TRUNK", "Service", "active_service", "add_depends_on", "all_heads",
    "ancestors", "branch_head", "branch_heads", "check_own_environment",
    "check_version_location", "created_tables", "get_service", "iter_leaves",
    "metadata_tables", "op_owner", "op_tables", "owner_of", "ownership", "place_on_branch",
    "referenced_tables", "resolve_service", "scoped_include_name", "scoped_include_object",
    "script_directory", "service_branches", "service_labels", "services", "table_visible",
    "touches_existing_tables", "trunk_dependencies", "trunk_heads", "unknown_service",
    "unowned_trunk_head", "version_locations", "version_tables", "warn_unowned",
]


# --------------------------------------------------------------------------- env.py wiring

IncludeName = Any
IncludeObject = Any


def scoped_include_name(config: SluiceConfig, service: str | None, inner: IncludeName
                        ) -> IncludeName:
    """``include_name`` that hides tables outside the active service before reflection."""

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "table" and not table_visible(
            config, service, name, parent_names.get("schema_name")
        ):
            return False
        return bool(inner(name, type_, parent_names))

    return include_name


def scoped_include_object(config: SluiceConfig, service: str | None, inner: IncludeObject
                          ) -> IncludeObject:
    """``include_object`` that hides objects of tables outside the active service."""

    def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                       compare_to: Any) -> bool:
        if type_ == "table":
            table, schema = name, getattr(obj, "schema", None)
        else:
            parent = getattr(obj, "table", None)
            table, schema = getattr(parent, "name", None), getattr(parent, "schema", None)
        if table is not None and not table_visible(config, service, table, schema):
            return False
        return bool(inner(obj, name, type_, reflected, compare_to))

    return include_object


def check_own_environment(config: SluiceConfig, service: str, alembic_config: Any) -> None:
    """A service with its own version table must run in an environment of its own; the
    commands the error names repeat the run's ``-c`` and ``-x`` (``-x service`` gives way
    to ``-n``)."""
    svc = get_service(config, service)
    loc = svc.location
    if loc is None or alembic_config is None:
        return
    try:
        script_dir = ScriptDirectory.from_config(alembic_config)
    except Exception:
        return
    others = [Path(p).resolve() for p in version_locations(script_dir)
              if Path(p).resolve() != loc]
    if others:
        section = getattr(alembic_config, "config_ini_section", "alembic")
        given = AlembicOptions.of(alembic_config).but(name=service, without=["service"])
        run = (f"run it with -n {service}, not -x service={service}: "
               f"`{given.alembic_line('...')}`, {given.sluice('check')}, "
               f"{given.sluice('upgrade')}")
        if section == service:
            todo = f"list only {svc.config.version_location} in its version_locations"
        elif _has_section(alembic_config, service):
            todo = f"that environment is section [{service}]: {run}"
        else:
            todo = (f"add a [{service}] section with version_locations = "
                    f"{svc.config.version_location} and {run}")
        raise ConfigError(
            f"service '{service}' keeps its own version_table '{svc.config.version_table}', "
            f"so its revisions need an Alembic environment of their own, but section "
            f"[{section}] of {alembic_config.config_file_name} also reads "
            f"{', '.join(str(o) for o in others)}; {todo}"
        )


def _has_section(alembic_config: Any, name: str) -> bool:
    try:
        return bool(alembic_config.file_config.has_section(name))
    except Exception:  # noqa: BLE001 - a file Alembic could not read has no such section
        return False
