"""Service branches: where a service's revision goes in the graph.

A revision of service NAME lands on ``NAME@head`` (or starts the branch from base), in the
service's ``version_location``, and depends on the heads that the tables its foreign keys
point at come from. See :mod:`sluice.policy.services`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from alembic.operations import ops as alembic_ops

from sluice.config import SluiceConfig
from sluice.core.alembic_compat import script_version_locations
from sluice.errors import ConfigError, PolicyViolation, SluiceError
from sluice.filters import table_excluded
from sluice.policy.base import PolicyContext
from sluice.policy.ownership import (
    SERVICE_OPTION,
    TRUNK,
    Service,
    get_service,
    owner_of,
    referenced_tables,
    services,
    touches_existing_tables,
)


def script_directory(ctx: PolicyContext) -> Any:
    mc = ctx.migration_context
    script = getattr(mc, "script", None) if mc is not None else None
    if script is None:
        raise SluiceError("sluice: services need the Alembic script directory (run through alembic)")
    return script


def branch_heads(script_dir: Any, label: str) -> list[str]:
    """Heads of the branch labelled ``label`` (empty: the branch does not exist yet)."""
    return sorted(rev.revision for rev in all_heads(script_dir) if label in rev.branch_labels)


def all_heads(script_dir: Any) -> list[Any]:
    """Every head, including a branch head another branch only depends on (Alembic's
    ``"heads"`` symbol leaves those out)."""
    return [script_dir.get_revision(rev) for rev in script_dir.get_heads()]


def branch_head(ctx: PolicyContext, script_dir: Any, label: str) -> str | None:
    """The single head of branch ``label``; several heads are refused with the merge
    command (with the run's ``-c``, ``-n`` and ``-x``: the same project and section)."""
    heads = branch_heads(script_dir, label)
    if len(heads) > 1:
        merge = ctx.given.alembic_line("merge", "-m", f"merge {label} heads", *heads)
        raise PolicyViolation(
            f"branch '{label}' has {len(heads)} heads ({', '.join(heads)}); no revision written\n"
            f"   Merge them first: `{merge}`\n"
            f"   ({ctx.given.sluice('heads')} explains where they split.)"
        )
    return heads[0] if heads else None


def service_labels(config: SluiceConfig) -> set[str]:
    return {s.label for s in services(config).values()}


def trunk_heads(ctx: PolicyContext, script_dir: Any) -> list[str]:
    """Heads that carry no service branch label."""
    labels = service_labels(ctx.config)
    return sorted(
        rev.revision for rev in all_heads(script_dir) if not (rev.branch_labels & labels)
    )


def check_version_location(script_dir: Any, svc: Service, alembic_config: Any,
                           config: SluiceConfig | None = None) -> Path | None:
    """``svc``'s folder, one of Alembic's version_locations; ``config``: the one the
    service comes from, whose file and line the error names."""
    loc = svc.location
    if loc is None:
        return None
    known = [Path(p).resolve() for p in version_locations(script_dir)]
    if loc not in known:
        shown = ", ".join(str(p) for p in known) or script_dir.versions
        where, how = _locations_setting(alembic_config, svc.config.version_location)
        key = f"services.{svc.name}.version_location"
        raise ConfigError(
            f"{config.where(key) if config is not None else key} "
            f"'{svc.config.version_location}' "
            f"({loc}) is not one of the version_locations in {where} ({shown}); {how}"
        )
    return loc


def _locations_setting(alembic_config: Any, folder: str | None) -> tuple[str, str]:
    """Where ``version_locations`` is set (alembic.ini, or pyproject.toml's
    ``[tool.alembic]`` for the ``pyproject`` templates) and how to add a folder to it."""
    ini = getattr(alembic_config, "config_file_name", None) or "alembic.ini"
    try:
        in_ini = alembic_config.get_section_option(alembic_config.config_ini_section,
                                                   "version_locations")
        toml = getattr(alembic_config, "toml_file_name", None)
        in_toml = bool(toml) and "version_locations" in (
            getattr(alembic_config, "toml_alembic_config", None) or {})
    except Exception:  # no config (a test's context) or an unreadable pyproject.toml
        in_ini, toml, in_toml = None, None, False
    if in_ini is None and in_toml:
        entry = f'"%(here)s/{str(folder or "").strip("/")}"'
        return (f"{toml} [tool.alembic]", f"add {entry} to that TOML list")
    return ini, "add it there, separated like the others"


def version_locations(script_dir: Any) -> list[str]:
    return [str(p) for p in script_version_locations(script_dir)]


def add_depends_on(script: alembic_ops.MigrationScript, revs: Iterable[str]) -> None:
    current = script.depends_on
    deps: list[str] = [] if current is None else (
        [current] if isinstance(current, str) else list(current)
    )
    for rev in revs:
        if rev and rev not in deps:
            deps.append(rev)
    script.depends_on = deps or None


def place_on_branch(
    ctx: PolicyContext,
    script: alembic_ops.MigrationScript,
    service: str,
    *,
    pending: dict[str, str] | None = None,
) -> None:
    """Point ``script`` at ``service``'s branch: its head, folder and label.

    ``pending`` maps services to revision ids generated earlier in the same run, so that
    a foreign key to another service's new table depends on that new revision.
    """
    svc = get_service(ctx.config, service)
    script_dir = script_directory(ctx)
    location = check_version_location(script_dir, svc,
                                      getattr(ctx.migration_context, "config", None),
                                      ctx.config)
    if location is not None:  # a --version-path given for the run is the trunk's
        # as Alembic holds it: it compares without resolving (``-c ../x/alembic.ini``)
        script.version_path = held_location(script_dir, location)
    if svc.config.version_table:
        # Its own Alembic environment: the graph holds only this service's revisions.
        return
    ops = [op for u in script.upgrade_ops_list for op in u.ops]
    if script.head in (None, "head"):
        if branch_head(ctx, script_dir, svc.label) is not None:
            script.head = f"{svc.label}@head"
        else:
            script.head = "base"
            labels = _labels(script.branch_label)
            if svc.label not in labels:
                labels.append(svc.label)
            script.branch_label = labels[0] if len(labels) == 1 else labels
            if location is None and len(version_locations(script_dir)) > 1:
                raise ConfigError(
                    f"service '{service}' starts a new branch but has no version_location and "
                    f"alembic.ini lists several version_locations; set "
                    f"[tool.sluice.services.{service}] version_location"
                )
            if touches_existing_tables(ops):
                add_depends_on(script, trunk_heads(ctx, script_dir))
    deps: list[str] = []
    for table in sorted(referenced_tables(ops)):
        owner = owner_of(ctx.config, table)
        if owner is None:
            deps.extend(trunk_dependencies(ctx, script_dir, script, table, pending))
            continue
        if owner == service or ctx.config.services[owner].version_table:
            continue
        if pending and owner in pending:
            deps.append(pending[owner])
            continue
        head = branch_head(ctx, script_dir, services(ctx.config)[owner].label)
        if head is not None:
            deps.append(head)
    if deps:
        add_depends_on(script, deps)


def trunk_dependencies(
    ctx: PolicyContext,
    script_dir: Any,
    script: alembic_ops.MigrationScript,
    table: str,
    pending: dict[str, str] | None,
) -> list[str]:
    """What a foreign key to ``table``, owned by no service, needs: the trunk revision
    written in the same run, else the trunk's heads that ``script`` does not already
    descend from (the trunk head is where every trunk table exists in its latest form).
    None for excluded tables, which Alembic never creates."""
    if table_excluded(ctx.config, table):
        return []
    if pending and TRUNK in pending:
        return [pending[TRUNK]]
    below = ancestors(script_dir, script.head)
    return [head for head in trunk_heads(ctx, script_dir) if head not in below]


def ancestors(script_dir: Any, head: str | None) -> set[str]:
    """Revisions ``head`` (``base``, an id or ``label@head``) stands on, through
    ``down_revision`` and ``depends_on``, itself included."""
    if head in (None, "base"):
        return set()
    return {rev.revision for rev in script_dir.iterate_revisions(head, "base")}


def _labels(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def active_service(ctx: PolicyContext) -> str | None:
    mc = ctx.migration_context
    return mc.opts.get(SERVICE_OPTION) if mc is not None else None


def check_trunk_location(ctx: PolicyContext, script: alembic_ops.MigrationScript,
                         tables: list[str]) -> None:
    """Refuse, before anything is written, a revision of tables owned by no service that
    starts the trunk (from base) with no ``--version-path`` while there are several
    version_locations: Alembic would stop half way, after the revisions before it."""
    if script.version_path is not None or script.head != "base":
        return
    locations = version_locations(script_directory(ctx))
    if len(locations) < 2:
        return
    placed = ctx.given.alembic_line("revision", "--autogenerate", "--version-path",
                                    version_path_arg(locations[0]), message=True)
    raise PolicyViolation(
        f"the revision for tables owned by no service ({', '.join(sorted(set(tables)))}) "
        f"starts the trunk, and there are {len(locations)} version_locations; say where it "
        f"goes with --version-path (`{placed}`), or add the tables to a service; no "
        "revision written")


def held_location(script_dir: Any, location: Path) -> str:
    """The version location of Alembic's that is the folder ``location``, as Alembic holds
    it (``.../work/../project/versions/billing`` for ``-c ../project/alembic.ini``):
    Alembic refuses a ``version_path`` that is the same folder spelt otherwise."""
    for held in version_locations(script_dir):
        if Path(held).resolve() == location.resolve():
            return held
    return str(location)


def location_arg(script_dir: Any, location: Path) -> str:
    """``--version-path`` for a service's ``location``, as :func:`version_path_arg`
    types it."""
    return version_path_arg(held_location(script_dir, location))


def version_path_arg(location: str) -> str:
    """``--version-path`` for ``location`` as typed from the working folder: relative when
    Alembic, which compares the path it is given with its version locations without
    resolving ``..``, takes the relative path for the same folder; else as Alembic
    holds it."""
    rel = os.path.relpath(location)
    return rel if Path(rel).absolute() == Path(location).absolute() else location


def unowned_trunk_head(ctx: PolicyContext, tables: list[str]) -> str:
    """Where changes to tables owned by no service go: the single unlabelled head."""
    script_dir = script_directory(ctx)
    heads = trunk_heads(ctx, script_dir)
    if len(heads) == 1:
        return heads[0]
    all_heads = list(script_dir.get_heads())
    if not all_heads:
        return "base"
    where = ctx.config.source or "[tool.sluice.services]"
    if not heads:
        reason = "every head belongs to a service branch"
    else:
        reason = f"the unlabelled trunk has {len(heads)} heads ({', '.join(heads)})"
    generate = ctx.given.but(without=["service"], x=["service=NAME"]).alembic_line(
        "revision", "--autogenerate", message=True)
    raise PolicyViolation(
        f"changes to tables owned by no service ({', '.join(sorted(set(tables)))}) cannot be "
        f"placed: {reason}; no revision written\n"
        f"   1. Add each table to one service's `tables` in {where}, or to exclude_tables.\n"
        "   2. Or add them to service NAME and generate them on purpose:\n"
        f"      {generate}"
    )
