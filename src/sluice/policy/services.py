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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.operations import ops as alembic_ops

from sluice.config import ServiceConfig, SluiceConfig
from sluice.core.alembic_compat import script_version_locations
from sluice.errors import ConfigError, PolicyViolation, SluiceError
from sluice.policy.base import PolicyContext

#: Keys of ``context.configure`` options (MigrationContext.opts) that carry the service.
SERVICE_OPTION = "sluice_service"
#: Key of the unlabelled trunk among services (never a valid service name).
TRUNK = "\0trunk"


@dataclass(frozen=True)
class Service:
    name: str
    config: ServiceConfig
    root: Path

    @property
    def label(self) -> str:
        return self.config.branch_label or self.name

    @property
    def location(self) -> Path | None:
        loc = self.config.version_location
        if not loc:
            return None
        path = Path(loc)
        return (path if path.is_absolute() else self.root / path).resolve()


def services(config: SluiceConfig) -> dict[str, Service]:
    return {name: Service(name, scfg, config.root) for name, scfg in config.services.items()}


def get_service(config: SluiceConfig, name: str) -> Service:
    if name not in config.services:
        raise unknown_service(config, name, "-x service")
    return Service(name, config.services[name], config.root)


def unknown_service(config: SluiceConfig, name: str, origin: str) -> ConfigError:
    valid = ", ".join(sorted(config.services)) or "none configured"
    where = config.source or "[tool.sluice.services]"
    return ConfigError(f"unknown service '{name}' (from {origin}); valid: {valid} (see {where})")


def resolve_service(
    config: SluiceConfig, x_args: dict[str, str], ini_section: str | None = None
) -> str | None:
    """The active service: ``-x service=NAME``, else an ``alembic -n NAME`` ini section
    named like a service, else None (all services: results are split per service)."""
    name = x_args.get("service")
    if name is not None:
        name = name.strip()
        if name not in config.services:
            raise unknown_service(config, name, f"-x service={name}")
        return name
    if ini_section and ini_section in config.services:
        return ini_section
    return None


def owner_of(config: SluiceConfig, table: str | None, schema: str | None = None) -> str | None:
    """The service owning ``table`` (its ``tables`` patterns match the name or
    ``schema.name``), or None. Two services matching the same table is a config error."""
    if not table or not config.services:
        return None
    from sluice.lint.rules._util import matches_any  # the rules load with the first service

    found: list[str] = []
    for name, scfg in config.services.items():
        if matches_any(table, scfg.tables) or (
            schema and matches_any(f"{schema}.{table}", scfg.tables)
        ):
            found.append(name)
    if len(found) > 1:
        where = config.source or "[tool.sluice.services]"
        pats = "; ".join(
            f"'{n}' via {matches_any(table, config.services[n].tables) or schema}"
            for n in found
        )
        raise ConfigError(
            f"{where}: tool.sluice.services: table '{table}' is claimed by both "
            f"'{found[0]}' and '{found[1]}' ({pats}); each table needs exactly one owner"
        )
    return found[0] if found else None


def table_visible(
    config: SluiceConfig, service: str | None, table: str | None, schema: str | None = None
) -> bool:
    """Whether autogenerate may see ``table`` in a run for ``service`` (None: all services).

    Scoped runs see only the service's tables. Unscoped runs see everything except the
    tables of services that keep their own version table (another Alembic environment).
    """
    if not config.services or table is None:
        return True
    if table in version_tables(config):
        return False
    owner = owner_of(config, table, schema)
    if service is not None:
        return owner == service
    return owner is None or not config.services[owner].version_table


def version_tables(config: SluiceConfig) -> set[str]:
    """Alembic version tables of every environment the services define."""
    tables = {"alembic_version"}
    tables.update(s.version_table for s in config.services.values() if s.version_table)
    return tables


def ownership(
    config: SluiceConfig, tables: Iterable[tuple[str, str | None]]
) -> tuple[dict[str, str], list[str]]:
    """(table -> owner, tables owned by no service) for model tables; raises on double claims."""
    owners: dict[str, str] = {}
    unowned: list[str] = []
    for name, schema in tables:
        owner = owner_of(config, name, schema)
        if owner is None:
            unowned.append(name)
        else:
            owners[name] = owner
    return owners, unowned


def metadata_tables(migration_context: Any) -> list[tuple[str, str | None]]:
    """(name, schema) of every table in ``target_metadata`` (one MetaData or a list)."""
    if migration_context is None:
        return []
    md = migration_context.opts.get("target_metadata")
    if md is None:
        return []
    metadatas = md if isinstance(md, (list, tuple)) else [md]
    out: list[tuple[str, str | None]] = []
    for m in metadatas:
        for table in m.tables.values():
            out.append((table.name, table.schema))
    return out


def warn_unowned(ctx: PolicyContext) -> None:
    """Warn about model tables no service owns (and fail on tables owned twice)."""
    from sluice.envhooks import table_excluded

    tables = [
        (n, s) for n, s in metadata_tables(ctx.migration_context)
        if not table_excluded(ctx.config, n, s)
    ]
    _, unowned = ownership(ctx.config, tables)
    if unowned:
        where = ctx.config.source or "[tool.sluice.services]"
        ctx.warn(
            f"tables owned by no service: {', '.join(sorted(unowned))}; add each to one "
            f"service's `tables` in {where} (or to exclude_tables) so its changes land on "
            "a service branch"
        )


# --------------------------------------------------------------------------- ops


def op_tables(op: Any) -> list[tuple[str, str | None]]:
    """(table, schema) an operation belongs to; [] for ops without a table."""
    explicit = getattr(op, "sluice_tables", None)
    if explicit:
        return list(explicit)
    for attr in ("table_name", "source_table"):
        name = getattr(op, attr, None)
        if isinstance(name, str):
            schema = getattr(op, "schema", None) or getattr(op, "source_schema", None)
            return [(name, schema)]
    return []


def op_owner(config: SluiceConfig, op: Any) -> str | None:
    for table, schema in op_tables(op):
        owner = owner_of(config, table, schema)
        if owner is not None:
            return owner
    return None


def iter_leaves(ops: Iterable[Any]) -> Iterator[Any]:
    for op in ops:
        if isinstance(op, alembic_ops.OpContainer):
            yield from iter_leaves(op.ops)
        else:
            yield op


def referenced_tables(ops: Iterable[Any]) -> set[str]:
    """Tables that foreign keys created by ``ops`` point at."""
    out: set[str] = set()

    def from_column(col: Any) -> None:
        for fk in getattr(col, "foreign_keys", ()) or ():
            out.add(_fk_table(fk.target_fullname))

    for op in iter_leaves(ops):
        if isinstance(op, alembic_ops.CreateTableOp):
            for item in op.columns:
                from_column(item)
                for elem in getattr(item, "elements", ()) or ():
                    if hasattr(elem, "target_fullname"):
                        out.add(_fk_table(elem.target_fullname))
        elif isinstance(op, alembic_ops.AddColumnOp):
            from_column(op.column)
        elif isinstance(op, alembic_ops.CreateForeignKeyOp):
            out.add(op.referent_table)
    return out


def _fk_table(target: str) -> str:
    parts = target.split(".")
    return parts[-2] if len(parts) >= 2 else target


def created_tables(ops: Iterable[Any]) -> set[str]:
    return {op.table_name for op in iter_leaves(ops) if isinstance(op, alembic_ops.CreateTableOp)}


def touches_existing_tables(ops: Iterable[Any]) -> bool:
    new = created_tables(ops)
    for op in iter_leaves(ops):
        if isinstance(op, alembic_ops.CreateTableOp):
            continue
        if any(t not in new for t, _ in op_tables(op)):
            return True
    return False


# --------------------------------------------------------------------------- branches


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


def branch_head(script_dir: Any, label: str) -> str | None:
    """The single head of branch ``label``; several heads are refused with the merge command."""
    heads = branch_heads(script_dir, label)
    if len(heads) > 1:
        raise PolicyViolation(
            f"branch '{label}' has {len(heads)} heads ({', '.join(heads)}); no revision written\n"
            f"   Merge them first: alembic merge -m \"merge {label} heads\" {' '.join(heads)}\n"
            "   (`sluice heads` explains where they split.)"
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


def check_version_location(script_dir: Any, svc: Service, ini: str | None) -> Path | None:
    loc = svc.location
    if loc is None:
        return None
    known = [Path(p).resolve() for p in _version_locations(script_dir)]
    if loc not in known:
        shown = ", ".join(str(p) for p in known) or script_dir.versions
        raise ConfigError(
            f"services.{svc.name}.version_location '{svc.config.version_location}' "
            f"({loc}) is not one of the version_locations in {ini or 'alembic.ini'} "
            f"({shown}); add it there, separated like the others"
        )
    return loc


def _version_locations(script_dir: Any) -> list[str]:
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
    ini = getattr(getattr(ctx.migration_context, "config", None), "config_file_name", None)
    location = check_version_location(script_dir, svc, ini)
    if location is not None and script.version_path is None:
        script.version_path = str(location)
    if svc.config.version_table:
        # Its own Alembic environment: the graph holds only this service's revisions.
        return
    ops = [op for u in script.upgrade_ops_list for op in u.ops]
    if script.head in (None, "head"):
        if branch_head(script_dir, svc.label) is not None:
            script.head = f"{svc.label}@head"
        else:
            script.head = "base"
            labels = _labels(script.branch_label)
            if svc.label not in labels:
                labels.append(svc.label)
            script.branch_label = labels[0] if len(labels) == 1 else labels
            if location is None and len(_version_locations(script_dir)) > 1:
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
        head = branch_head(script_dir, services(ctx.config)[owner].label)
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
    from sluice.envhooks import table_excluded

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


def service_branches(ctx: PolicyContext, directives: list[alembic_ops.MigrationScript]) -> None:
    """Put each revision on the branch of the service that owns its tables.

    With ``-x service=NAME`` (or ``alembic -n NAME``) the revision goes on that service's
    branch: ``NAME@head``, or a new branch from base labelled with the service's
    ``branch_label`` when it has none yet, written to its ``version_location``. A foreign
    key to another service's table adds that service's head to ``depends_on``, so
    ``alembic upgrade billing@head`` on an empty database creates the referenced table first;
    a foreign key to a table no service owns adds the trunk's head (or the trunk revision
    split off in the same run).

    Without a service, an autogenerate result touching several services' tables is split
    into one revision per service, each on its own branch (ops on tables no service owns
    stay on the unlabelled trunk). Model tables no service owns are warned about; a table
    claimed by two services is an error naming both.
    """
    if not ctx.config.services:
        return
    if ctx.autogenerate:
        warn_unowned(ctx)
    service = active_service(ctx)
    if service is not None:
        for script in directives:
            place_on_branch(ctx, script, service)
        return
    if not ctx.autogenerate:
        return
    from sluice.policy.split import split_by_service

    split_by_service(ctx, directives)


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
    raise PolicyViolation(
        f"changes to tables owned by no service ({', '.join(sorted(set(tables)))}) cannot be "
        f"placed: {reason}; no revision written\n"
        f"   1. Add each table to one service's `tables` in {where}, or to exclude_tables.\n"
        "   2. Or add them to service NAME and generate them on purpose:\n"
        '      alembic -x service=NAME revision --autogenerate -m "..."'
    )


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
    """A service with its own version table must run in an environment of its own."""
    svc = get_service(config, service)
    loc = svc.location
    if loc is None or alembic_config is None:
        return
    try:
        from alembic.script import ScriptDirectory

        script_dir = ScriptDirectory.from_config(alembic_config)
    except Exception:
        return
    others = [Path(p).resolve() for p in _version_locations(script_dir)
              if Path(p).resolve() != loc]
    if others:
        section = getattr(alembic_config, "config_ini_section", "alembic")
        raise ConfigError(
            f"service '{service}' keeps its own version_table '{svc.config.version_table}', "
            f"so its revisions need an Alembic environment of their own, but section "
            f"[{section}] of {alembic_config.config_file_name} also reads "
            f"{', '.join(str(o) for o in others)}; add a [{service}] section with "
            f"version_locations = {svc.config.version_location} and run `alembic -n {service} ...`"
        )
