"""Reading a test database: its tables, columns and version rows."""

from __future__ import annotations

import sqlalchemy as sa


def columns(url: str, table: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def versions(url: str, table: str = "alembic_version") -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(sa.text(f"SELECT version_num FROM {table}"))}
    finally:
        engine.dispose()
