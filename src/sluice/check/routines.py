"""Triggers and functions for the round trip's snapshot: what revisions make with
``op.execute`` (an ``updated_at`` trigger and its function, an audit trigger) and a
downgrade must drop.

``CREATE OR REPLACE FUNCTION`` (and ``CREATE OR REPLACE TRIGGER``, ``CREATE TRIGGER IF NOT
EXISTS``) never fails on an object left behind, so only comparing them finds a downgrade
that forgets one. Read per schema with one query each: PostgreSQL's functions and
procedures (not an extension's) with their definitions, and triggers; MySQL/MariaDB's
routines and triggers; SQLite's triggers from ``sqlite_master``.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

_PG_FUNCTIONS = """
SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
       pg_get_functiondef(p.oid)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = :schema AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
"""
_PG_TRIGGERS = """
SELECT t.tgname || ' on ' || c.relname, c.relname, pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND NOT t.tgisinternal
"""
_MYSQL_ROUTINES = """
SELECT ROUTINE_NAME, LOWER(ROUTINE_TYPE), ROUTINE_DEFINITION
FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = :schema
"""
_MYSQL_TRIGGERS = """
SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE,
       CONCAT(ACTION_TIMING, ' ', EVENT_MANIPULATION, ' ', ACTION_STATEMENT)
FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = :schema
"""


def _text(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip()


def routines_and_triggers(conn: Any, schema: str | None, skip: set[str]
                          ) -> dict[str, dict[str, Any]]:
    """The functions, procedures and triggers of ``schema`` (None: the default one), as
    snapshot objects (``{"kind": ..., "definition": ...}``) by name; triggers of the tables
    in ``skip`` are left out."""
    dialect = conn.dialect.name
    prefix = f"{schema}." if schema else ""
    name = schema or conn.dialect.default_schema_name
    rows: list[tuple[str, str, Any]] = []
    if dialect == "postgresql":
        rows += [(str(r[0]), str(r[1]), r[2])
                 for r in conn.execute(sa.text(_PG_FUNCTIONS), {"schema": name})]
        rows += [(str(r[0]), "trigger", r[2]) for r in conn.execute(
            sa.text(_PG_TRIGGERS), {"schema": name}) if str(r[1]) not in skip]
    elif dialect in ("mysql", "mariadb"):
        rows += [(str(r[0]), str(r[1]), r[2])
                 for r in conn.execute(sa.text(_MYSQL_ROUTINES), {"schema": name})]
        rows += [(str(r[0]), "trigger", r[2]) for r in conn.execute(
            sa.text(_MYSQL_TRIGGERS), {"schema": name}) if str(r[1]) not in skip]
    elif dialect == "sqlite":
        master = f'"{schema}".sqlite_master' if schema else "sqlite_master"
        rows += [(str(r[0]), "trigger", r[2]) for r in conn.execute(sa.text(
            f"SELECT name, tbl_name, sql FROM {master} "  # noqa: S608 - quoted schema
            "WHERE type = 'trigger'")) if str(r[1]) not in skip]
    return {prefix + key: {"kind": kind, "definition": _text(definition)}
            for key, kind, definition in rows}


def drop_statement(kind: str, name: str) -> str:
    """The statement that drops the function, procedure or trigger ``name`` (a
    PostgreSQL trigger's name says ``trigger on table``)."""
    if kind == "trigger":
        return f"DROP TRIGGER {name.replace(' on ', ' ON ', 1)}"
    return f"DROP {kind.upper()} {name}"
