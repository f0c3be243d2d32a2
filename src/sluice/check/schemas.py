"""Which schemas the round trip compares: those the project's env.py compares, and those
its models live in.

Autogenerate (and so ``alembic check`` and the drift check) reads the default schema, and
with ``include_schemas=True`` in ``context.configure`` every schema the database lists,
each passed through env.py's ``include_name``. A downgrade that leaves one of those
schemas changed is as broken as one in the default schema, so the round trip reads the
same ones, plus ``[tool.sluice] include_schemas`` and the schemas of ``target_metadata``'s
tables (the project's own, whatever env.py reflects).

On PostgreSQL a schema belongs to the database the check made. On MySQL/MariaDB a
"schema" is another database on the server, shared with whoever else uses it, so there
``include_schemas=True`` adds only the schemas the models and the configuration name,
never every database of the server.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

#: Schemas no project owns.
_SYSTEM = {"information_schema", "performance_schema", "mysql", "sys", "pg_catalog",
           "pg_toast"}


def metadata_schemas(metadata: Any) -> set[str]:
    """The schemas the tables of ``target_metadata`` (one or a list) name."""
    found: set[str] = set()
    for meta in metadata if isinstance(metadata, list | tuple) else [metadata]:
        tables = getattr(meta, "tables", None)
        if tables is None:
            continue
        found.update(t.schema for t in tables.values() if t.schema)
    return found


@dataclass
class SchemaChoice:
    """The schemas to snapshot, decided from env.py's ``context.configure`` options."""

    #: ``[tool.sluice] include_schemas``: always compared.
    configured: list[str]
    #: env.py passed ``include_schemas=True``.
    include_all: bool = False
    #: env.py's ``include_name`` (Sluice's filters chained in when env.py uses them).
    include_name: Any = None
    #: Schemas of ``target_metadata``'s tables.
    from_models: set[str] = field(default_factory=set)
    #: Every schema compared during the walk, and every one of the database left out.
    compared: set[str] = field(default_factory=set)
    left_out: set[str] = field(default_factory=set)

    @classmethod
    def from_options(cls, configured: Iterable[str], opts: dict[str, Any]) -> SchemaChoice:
        return cls(configured=list(configured), include_all=bool(opts.get("include_schemas")),
                   include_name=opts.get("include_name"),
                   from_models=metadata_schemas(opts.get("target_metadata")))

    def _wanted(self, name: str) -> bool:
        if self.include_name is None:
            return True
        try:
            return bool(self.include_name(name, "schema", {}))
        except Exception:  # noqa: BLE001 - a filter that cannot answer keeps the schema
            return True

    def schemas(self, conn: Any) -> list[str | None]:
        """The schemas to snapshot on ``conn`` now (revisions create schemas as they go):
        None for the default schema first."""
        default = conn.dialect.default_schema_name
        present = [s for s in sa.inspect(conn).get_schema_names()
                   if s != default and s not in _SYSTEM and not s.startswith("pg_")]
        own_database = conn.dialect.name == "postgresql"
        out: list[str | None] = [None]
        for name in present:
            if name in self.configured:
                out.append(name)
            elif ((self.include_all and own_database) or name in self.from_models) \
                    and self._wanted(name):
                out.append(name)
            elif own_database:
                self.left_out.add(name)
        self.compared.update(s for s in out if s is not None)
        self.left_out -= self.compared
        return out

    def note(self) -> str | None:
        """What the report says about schemas, when there is more than the default one."""
        if not self.compared and not self.left_out:
            return None
        text = "schemas compared: " + ", ".join(["the default schema",
                                                 *sorted(self.compared)])
        if self.left_out:
            text += (f"; not compared: {', '.join(sorted(self.left_out))} (env.py does not "
                     "include them and the models have no table there: pass "
                     "include_schemas=True to context.configure(), or list them in "
                     "[tool.sluice] include_schemas)")
        return text


def within(snapshot: dict[str, Any], schemas: Iterable[str | None]) -> dict[str, Any]:
    """The part of ``snapshot`` in ``schemas`` (None: the default schema, whose names
    are not qualified)."""
    wanted = set(schemas)
    return {k: v for k, v in snapshot.items()
            if ("." in k and k.split(".", 1)[0] in wanted) or ("." not in k and None in wanted)}
