"""The SQL the PostgreSQL recipes write around their steps: names quoted for the dialect,
and the catalog guards that make every step safe to run again (an index of the same name
compared with the one the op builds, a constraint added only when missing, a table without
the primary key a batched backfill walks refused before anything changes).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.dialects import postgresql

from sluice.core.sql import string_literal
from sluice.recipes.spelling import Spelled
from sluice.recipes.steps import SqlStep

PG = "postgresql"
#: The SQL recipes write goes to ``op.execute`` as it is compiled: with the ``named``
#: paramstyle a ``%`` stays one (psycopg's ``pyformat`` would double it, and the doubled
#: ``%%`` would reach the database, ``op.execute`` escaping it again).
_DIALECT = postgresql.dialect(paramstyle="named")  # type: ignore[no-untyped-call]
_MAX_NAME = 63


def quote(name: str) -> str:
    return str(_DIALECT.identifier_preparer.quote(name))


def qualified(name: str, schema: str | None) -> str:
    return f"{quote(schema)}.{quote(name)}" if schema else quote(name)


def _fits(name: str) -> bool:
    return len(name.encode()) <= _MAX_NAME


#: The index built on the empty copy of a table (in ``pg_temp``, under the table's own
#: name) that the index of a rerun is compared with.
PROBE_INDEX = "sluice_index_probe_ix"
#: PL/pgSQL: an index's definition without its name and table (``i``: its pg_index row).
_DEFINITION = "SELECT i.indisunique || substring(pg_get_indexdef(i.indexrelid) from ' USING .*$')"


def probe_sql(index: ops.CreateIndexOp) -> str | None:
    """``CREATE INDEX`` of the index ``index`` builds, named :data:`PROBE_INDEX`, on the
    empty copy of its table in ``pg_temp`` (its own name, so that an expression naming
    the table, ``"user".fullname``, means the copy's column); None: it does not compile,
    or ``CREATE INDEX`` cannot say it."""
    kw = {k: v for k, v in index.kw.items()
          if k not in ("postgresql_concurrently", "postgresql_tablespace")}
    try:
        built = ops.CreateIndexOp(PROBE_INDEX, str(index.table_name), index.columns,
                                  schema="pg_temp", unique=index.unique, **kw).to_index()
        for col in kw.get("postgresql_include") or ():  # as Alembic's create_index does
            if isinstance(col, str) and col not in built.table.c:  # type: ignore[union-attr]
                built.table.append_column(sa.Column(col, sa.types.NULLTYPE))  # type: ignore[union-attr]
        return str(sa.schema.CreateIndex(built).compile(
            dialect=_DIALECT, compile_kwargs={"literal_binds": True})).strip()
    except Exception:  # noqa: BLE001 - no guard can be written: no recipe
        return None


def index_guard(name: Spelled, table: str, schema: str | None, probe: str) -> SqlStep:
    """A DO block before ``CREATE INDEX CONCURRENTLY IF NOT EXISTS name``: an INVALID
    index ``name`` (what a failed concurrent build leaves behind) is dropped; a valid one
    is kept only when it is the index ``probe`` (:func:`probe_sql`) builds on an empty
    copy of the table -- the same table, uniqueness, method, columns or expressions,
    predicate -- else the revision stops with an error naming it, as the naive op fails
    on a name in use (``IF NOT EXISTS`` alone would keep another index silently). The
    index in place is read before the copy exists (``pg_temp`` comes first in the
    search path); the copy is created by ``EXECUTE``, so that ``sluice lint`` does not
    read a ``CREATE TABLE`` of the table's name (it would take the table for one the
    revision creates, and report nothing more on it)."""
    ref = name.text(string_literal(qualified(table, schema)))
    copy = name.text(f"pg_temp.{quote(table)}")
    create = name.text(f"EXECUTE format('CREATE TEMP TABLE %I (LIKE %s)', "
                       f"{string_literal(table)}, {string_literal(qualified(table, schema))});")
    return name.step(
        "DO $$ DECLARE have text; want text; BEGIN",
        f"IF EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass({name.regclass})",
        "AND NOT indisvalid) THEN",
        f"DROP INDEX {name.qualified};",
        f"ELSIF to_regclass({name.regclass}) IS NOT NULL THEN",
        _DEFINITION,
        f"INTO have FROM pg_index i WHERE i.indexrelid = to_regclass({name.regclass})",
        f"AND i.indrelid = to_regclass({ref});",
        f"DROP TABLE IF EXISTS {copy};",
        create,
        f"{name.text(probe)};",
        _DEFINITION,
        f"INTO want FROM pg_index i WHERE i.indexrelid = to_regclass('pg_temp.{PROBE_INDEX}');",
        f"DROP TABLE {copy};",
        "IF have IS DISTINCT FROM want THEN RAISE EXCEPTION",
        "'sluice recipe: % is not the index this revision creates on %: %; drop or rename it "
        "first',",
        f"{name.literal}, {ref}, coalesce(pg_get_indexdef(to_regclass({name.regclass})),",
        "'not an index'); END IF;",
        "END IF; END $$",
    )


def guarded_add_constraint(name: Spelled, table: str, schema: str | None,
                           ddl: str) -> SqlStep:
    """``ddl`` (an ``ALTER TABLE ... ADD CONSTRAINT name ...``, spelt as ``name`` spells
    text) run only when the table has no constraint of that name yet."""
    ref = name.text(string_literal(qualified(table, schema)))
    return name.step(
        "DO $$ BEGIN",
        f"IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = {name.literal}",
        f"AND conrelid = to_regclass({ref})) THEN",
        f"{ddl};",
        "END IF; END $$",
    )


def needs_primary_key(table: str, schema: str | None, recipe_id: str, advice: str) -> SqlStep:
    """Stop, changing nothing, when ``table`` has no primary key: the batched backfill
    (``sluice.data``) walks it, and refuses a table without one."""
    ref = string_literal(qualified(table, schema))
    return SqlStep(
        "DO $$ BEGIN",
        f"IF NOT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = to_regclass({ref})",
        "AND indisprimary) THEN",
        f"RAISE EXCEPTION 'recipe {recipe_id}: table % has no primary key for the batched "
        f"backfill to walk; {advice}', {ref}; END IF;",
        "END $$",
    )
