"""The public history bench/process.py times: pypi/warehouse's migrations, runnable offline.

Extracted with ``git archive`` from a local mirror at the commit pinned in
``bench/corpus.toml`` (never committed). warehouse's own env.py imports the application,
so the project gets an offline-only env.py (:data:`ENV_PY`) and stand-ins for the two
packages its revisions import (:data:`STAND_INS`), on ``PYTHONPATH`` for Sluice and
Alembic alike.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import corpus

NAME = "warehouse"

ENV_PY = '''\
import alembic_postgresql_enum  # noqa: F401  (registers op.sync_enum_values)
from alembic import context

config = context.config


class _NoRows:
    """What a read returns offline: its SQL was printed, there are no rows."""

    rowcount = 0

    def __iter__(self):
        return iter(())

    def __getattr__(self, name):
        if name in ("scalar", "fetchone", "first", "one_or_none", "scalar_one_or_none"):
            return lambda *args, **kwargs: None
        return lambda *args, **kwargs: []


class _OfflineBind:
    """op.get_bind() offline: statements are printed, reads return no rows."""

    def __init__(self, mock):
        self._mock = mock

    def execute(self, *args, **kwargs):
        self._mock.execute(*args, **kwargs)
        return _NoRows()

    def commit(self):
        pass

    def __getattr__(self, name):
        return getattr(self._mock, name)


if not context.is_offline_mode():
    raise SystemExit("this copy of the warehouse history only runs offline (--sql)")
context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True,
                  dialect_opts={"paramstyle": "named"})
migration_context = context.get_context()
migration_context.connection = migration_context.impl.connection = _OfflineBind(
    migration_context.connection)


def _skip_failure(upgrade, revision):
    def run(*args, **kwargs):
        try:
            return upgrade(*args, **kwargs)
        except Exception as exc:  # a revision Alembic cannot render offline
            migration_context.impl.static_output(
                f"-- {revision}: not rendered offline ({type(exc).__name__})")
    return run


for script in context.script.walk_revisions():
    script.module.upgrade = _skip_failure(script.module.upgrade, script.revision)
with context.begin_transaction():
    context.run_migrations()
'''

STAND_INS = {
    "warehouse/__init__.py": "",
    "warehouse/utils/__init__.py": "",
    "warehouse/utils/db/__init__.py": "",
    "warehouse/utils/db/types.py": '''\
import sqlalchemy as sa


class TZDateTime(sa.types.TypeDecorator):
    impl = sa.DateTime
    cache_ok = True
''',
    "alembic_postgresql_enum/__init__.py": '''\
"""Stand-in for alembic-postgresql-enum: TableReference, ColumnType, op.sync_enum_values."""
import enum
from dataclasses import dataclass

from alembic.operations import MigrateOperation, Operations


class ColumnType(enum.Enum):
    COMMON = "common"
    ARRAY = "array"


@dataclass
class TableReference:
    table_name: str
    column_name: str
    table_schema: str | None = None
    column_type: ColumnType = ColumnType.COMMON
    existing_server_default: str | None = None


@Operations.register_operation("sync_enum_values")
class SyncEnumValuesOp(MigrateOperation):
    def __init__(self, enum_schema, enum_name, new_values, affected_columns,
                 enum_values_to_rename=()):
        self.enum_name = enum_name
        self.new_values = list(new_values)
        self.affected_columns = list(affected_columns)

    @classmethod
    def sync_enum_values(cls, operations, enum_schema, enum_name, new_values,
                         affected_columns, enum_values_to_rename=()):
        return operations.invoke(cls(enum_schema, enum_name, new_values, affected_columns,
                                     enum_values_to_rename))


@Operations.implementation_for(SyncEnumValuesOp)
def sync_enum_values(operations, op):
    name = op.enum_name
    values = ", ".join("'" + v.replace("'", "''") + "'" for v in op.new_values)
    operations.execute(f"ALTER TYPE {name} RENAME TO {name}_old")
    operations.execute(f"CREATE TYPE {name} AS ENUM({values})")
    for ref in op.affected_columns:
        cast = f"{name}[]" if ref.column_type is ColumnType.ARRAY else name
        operations.execute(f"ALTER TABLE {ref.table_name} ALTER COLUMN {ref.column_name} "
                           f"TYPE {cast} USING {ref.column_name}::text::{cast}")
    operations.execute(f"DROP TYPE {name}_old")
''',
}

INI = """[alembic]
script_location = %(here)s/migrations
prepend_sys_path = %(here)s
path_separator = os
sqlalchemy.url = postgresql://bench@localhost/bench
"""


def materialise(home: Path, mirrors: list[Path]) -> tuple[Path, int] | None:
    """The project folder and its revision count, or None (with the clone command printed)
    when the mirror is missing."""
    import os

    history = next(h for h in corpus.load_spec(corpus.BENCH / "corpus.toml") if h.name == NAME)
    search = [*mirrors]
    if os.environ.get("SLUICE_CORPUS_MIRROR"):
        search.append(Path(os.environ["SLUICE_CORPUS_MIRROR"]))
    search.append(corpus.WORK / "repos")
    try:
        git_dir = corpus.find_git_dir(history, search)
    except corpus.CorpusError as exc:
        print(f"pypi/warehouse skipped: {exc}", file=sys.stderr, flush=True)
        return None
    shutil.rmtree(home, ignore_errors=True)
    (home / "migrations").mkdir(parents=True)
    with tempfile.TemporaryFile() as archive:
        subprocess.run(["git", "--git-dir", str(git_dir), "archive", "--format=tar",
                        f"{history.commit}:{history.path}/{history.versions}"],
                       stdout=archive, check=True)
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            corpus.extract(tar, home / "migrations" / "versions")
    (home / "migrations" / "env.py").write_text(ENV_PY)
    (home / "alembic.ini").write_text(INI)
    for rel, text in STAND_INS.items():
        path = home / "site" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return home, len(list((home / "migrations" / "versions").glob("*.py")))
