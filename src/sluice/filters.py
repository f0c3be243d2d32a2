"""Which tables Sluice's autogenerate and checks look at: ``exclude_tables``,
``include_schemas`` and Sluice's own tables, as Alembic's ``include_name`` and
``include_object`` callbacks (env.py gets them from :func:`sluice.configure_options`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sluice.config import SluiceConfig
from sluice.core.patterns import matches_any
from sluice.owned import sluice_tables

IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]
IncludeName = Callable[[str | None, str, Mapping[str, str | None]], bool]


def table_excluded(config: SluiceConfig, name: str | None, schema: str | None = None) -> bool:
    """True for Sluice's own tables (audit, lock holder, data checkpoints) and when
    ``exclude_tables`` matches the table name (or ``schema.name``)."""
    if name is None:
        return False
    if name in sluice_tables(config):
        return True
    patterns = config.exclude_tables
    if not patterns:
        return False
    if matches_any(name, patterns):
        return True
    return bool(schema and matches_any(f"{schema}.{name}", patterns))


def make_include_name(config: SluiceConfig, user: IncludeName | None = None) -> IncludeName:
    """Filter before reflection: excluded tables and unlisted schemas are never read."""

    def include_name(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
        if type_ == "table" and table_excluded(config, name, parent_names.get("schema_name")):
            return False
        if type_ == "schema" and config.include_schemas and name is not None:
            if name not in config.include_schemas:
                return False
        return user(name, type_, parent_names) if user is not None else True

    return include_name


def _owner_table(obj: Any) -> tuple[str | None, str | None]:
    table = getattr(obj, "table", None)
    if table is None:
        return None, None
    return getattr(table, "name", None), getattr(table, "schema", None)


def make_include_object(
    config: SluiceConfig, user: IncludeObject | None = None
) -> IncludeObject:
    """Filter after reflection: excluded tables and everything that belongs to them."""

    def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                       compare_to: Any) -> bool:
        if type_ == "table":
            if table_excluded(config, name, getattr(obj, "schema", None)):
                return False
        else:
            tname, tschema = _owner_table(obj)
            if table_excluded(config, tname, tschema):
                return False
        return user(obj, name, type_, reflected, compare_to) if user is not None else True

    return include_object
