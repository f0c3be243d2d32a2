"""Third-party libraries that revisions legitimately import, by top-level package name.

Shared by SL603 (``import-app-code``: a library is not the project's code) and the render
failure hints (a missing library is installed, not stubbed as if it were the project's).
"""

from __future__ import annotations

#: Libraries that revisions legitimately import: column types, DDL helpers, drivers.
KNOWN_LIBRARIES = frozenset({
    "sluice", "sqlalchemy_utils", "geoalchemy2", "sqlmodel", "alembic_utils",
    "alembic_postgresql_enum", "psycopg", "psycopg2", "pymysql", "MySQLdb", "asyncpg",
    "sqlalchemy_json", "pgvector", "citext", "sqlalchemy_citext", "sqlalchemy_utc",
    "sqlalchemy_jsonfield", "typing_extensions", "mypy_extensions",
})

#: Name prefixes of SQLAlchemy and Alembic extensions (sqlalchemy_searchable, ...).
_EXTENSION_PREFIXES = ("sqlalchemy_", "alembic_")


def known_library(top: str) -> bool:
    """``top`` names a third-party library whatever its location: a known one, or a
    SQLAlchemy/Alembic extension by its name."""
    return top in KNOWN_LIBRARIES or top.startswith(_EXTENSION_PREFIXES)
