"""Service ownership: which service owns a table, and which tables an operation touches.

Each ``[tool.sluice.services.NAME]`` owns the tables its ``tables`` patterns match; a table
matched by two services is a config error. See :mod:`sluice.policy.services`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.operations import ops as alembic_ops

from sluice.config import ServiceConfig, SluiceConfig
from sluice.core.patterns import matches_any
from sluice.errors import ConfigError
from sluice.filters import table_excluded
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
    import difflib  # lazy: only for an unknown service

    valid = ", ".join(sorted(config.services)) or "none configured"
    where = config.source or "[tool.sluice.services]"
    close = difflib.get_close_matches(name, list(config.services), n=1, cutoff=0.6)
    meant = f"did you mean '{close[0]}'? " if close else ""
    return ConfigError(f"unknown service '{name}' (from {origin}); {meant}valid: {valid} "
                       f"(see {where})")


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
    found: list[str] = []
    for name, scfg in config.services.items():
        if matches_any(table, scfg.tables) or (
            schema and matches_any(f"{schema}.{table}", scfg.tables)
        ):
            found.append(name)
    if len(found) > 1:
        pats = "; ".join(
            f"'{n}' via {matches_any(table, config.services[n].tables) or schema}"
            for n in found
        )
        raise ConfigError(
            f"{config.where(f'services.{found[1]}.tables')}: table '{table}' is claimed by both "
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
