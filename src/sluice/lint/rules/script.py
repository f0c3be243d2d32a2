"""Script quality: how the revision file itself is written."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from sluice.lint.model import Hit, Op
from sluice.lint.registry import RuleContext, rule
from sluice.lint.rules._sql import Stmt, statements
from sluice.lint.rules._util import steps


@rule("SL601", "missing-downgrade", family="script", severity="warning",
      kinds=("script.downgrade",))
def missing_downgrade(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A revision that changes the schema but whose downgrade does nothing.

    Why it is dangerous: ``alembic downgrade`` reports success and moves the version back
    while the schema stays as the upgrade left it; the next upgrade then fails on objects
    that already exist, in the middle of a rollback. Applies when the project's policy is
    ``downgrades = "required"`` (the default); with ``"optional"`` or ``"none"`` it is off.
    A downgrade that raises (``raise NotImplementedError(...)``) is an explicit
    "irreversible" marker and is never flagged.

    Safe alternative:
    1. Write the inverse operations in ``downgrade()`` (autogenerate writes them).
    2. If the revision cannot be reversed, say so: ``raise NotImplementedError("irreversible:
       <why>")``, so a downgrade stops loudly instead of lying.
    3. If your team never writes downgrades, set ``downgrades = "none"`` in
       ``[tool.sluice]``.
    """
    if op.kind != "script.downgrade" or ctx.config.downgrades != "required":
        return
    kind = op.args.get("kind")
    count = int(op.args.get("upgrade_ops") or 0)
    if kind not in ("pass", "missing", "empty") or not count:
        return
    ops = f"{count} operation{'s' if count != 1 else ''}"
    if kind == "missing":
        yield Hit(
            f"there is no downgrade() function although upgrade() runs {ops}; `alembic "
            "downgrade` past this revision stops with AttributeError (module has no attribute "
            "'downgrade'), in the middle of a rollback",
            steps(
                "Write downgrade() with the inverse operations.",
                "If it cannot be reversed: def downgrade(): raise "
                "NotImplementedError('irreversible: <why>').",
                "If the project never writes downgrades: downgrades = \"none\" in "
                "[tool.sluice].",
            ),
        )
        return
    if changes_only_data(op.args.get("upgrade_detail"), ctx.dialect):
        return  # a data change with nothing to undo in the schema: the round trip holds
    what = "downgrade() only passes" if kind == "pass" else "downgrade() runs no operation"
    yield Hit(
        f"{what} although upgrade() changes the schema ({ops}); `alembic downgrade` would "
        "report success and leave the schema changed",
        steps(
            "Write the inverse operations in downgrade().",
            "If it cannot be reversed: raise NotImplementedError('irreversible: <why>').",
            "If the project never writes downgrades: downgrades = \"none\" in [tool.sluice].",
        ),
    )


#: Statements that change data or statistics, not the schema.
_DATA_KINDS = frozenset({"UPDATE", "INSERT", "DELETE", "SELECT", "SET"})


def changes_only_data(detail: Any, dialect: str | None = None) -> bool:
    """upgrade() only changes data: UPDATE/INSERT/DELETE, bulk_insert, VALIDATE CONSTRAINT,
    ANALYZE, a plain VACUUM. Unknown SQL (built at run time) is not. ``detail``: the
    ``upgrade_detail`` of a ``script.downgrade`` fact. SL601 and ``sluice check``'s
    no-downgrade check both judge by it."""
    if not isinstance(detail, (list, tuple)) or not detail:
        return False
    for kind, sql, construct in detail:
        if kind == "bulk_insert" or (kind == "execute" and construct in (
                "update", "insert", "delete")):
            continue
        if kind != "execute" or not sql:
            return False
        stmts = statements(sql, dialect)
        if not stmts or not all(_data_statement(s) for s in stmts):
            return False
    return True


def _data_statement(stmt: Stmt) -> bool:
    if stmt.kind in _DATA_KINDS:
        return True
    if stmt.kind == "ALTER TABLE":
        return bool(stmt.actions) and all(a.kind == "validate_constraint" for a in stmt.actions)
    if stmt.kind == "VACUUM":
        return re.search(r"\bFULL\b", stmt.norm) is None
    return re.match(r"ANALYZE\b", stmt.norm) is not None


@rule("SL602", "dynamic-sql", family="script", severity="warning", kinds=("script.dynamic_sql",))
def dynamic_sql(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """SQL built with f-strings, ``%``, ``.format`` or ``+`` and passed to ``execute``.

    Why it is dangerous: any value spliced into the text is an injection point (a table
    name read from config, a value read from the database); quoting is easy to get wrong
    for names with capitals or reserved words; and the SQL is invisible to review and
    to ``sluice lint``, which cannot check what it does.

    Safe alternative:
    1. Use bound parameters for values: ``op.execute(sa.text("UPDATE t SET a = :v")
       .bindparams(v=value))``.
    2. For identifiers, use Alembic ops (``op.alter_column`` ...) or SQLAlchemy constructs
       (``sa.table(...).update()``), which quote correctly.
    3. Write literal SQL where you can, so it can be reviewed and linted.
    """
    if op.kind != "script.dynamic_sql":
        return
    how = {
        "fstring": "an f-string",
        "percent": "% formatting",
        "format": "str.format()",
        "concat": "string concatenation",
    }.get(str(op.args.get("how")), "string building")
    yield Hit(
        f"SQL passed to execute() is built with {how}: an injection risk, and invisible to "
        "review and lint",
        steps(
            "Pass values as bound parameters: sa.text('... = :v').bindparams(v=value).",
            "For table/column names use Alembic ops or sa.table(...).update(), which quote "
            "them.",
            "Keep literal SQL where possible so it can be reviewed and linted.",
        ),
    )


#: Libraries that revisions legitimately import: column types, DDL helpers, drivers.
KNOWN_LIBRARIES = frozenset({
    "sluice", "sqlalchemy_utils", "geoalchemy2", "sqlmodel", "alembic_utils",
    "alembic_postgresql_enum", "psycopg", "psycopg2", "pymysql", "MySQLdb", "asyncpg",
    "sqlalchemy_json", "pgvector", "citext", "sqlalchemy_citext", "sqlalchemy_utc",
    "sqlalchemy_jsonfield", "typing_extensions", "mypy_extensions",
})


@lru_cache(maxsize=512)
def installed_library(top: str) -> bool:
    """``top`` is a package installed into site-packages (a library, not the project).

    Only the top-level name is looked up, which locates the package without importing
    it. The project's own code is either not installed (``prepend_sys_path``) or
    installed in editable mode, so it is found outside site-packages.
    """
    if not top or top.startswith("."):
        return False
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    where = spec.origin or ""
    if spec.submodule_search_locations:
        where = next(iter(spec.submodule_search_locations), where)
    parts = Path(where).parts
    return "site-packages" in parts or "dist-packages" in parts


@rule("SL603", "import-app-code", family="script", severity="warning", kinds=("script.import",))
def import_app_code(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A revision imports application code (models, helpers, settings).

    Why it is dangerous: a revision is a snapshot of the schema at one point in time, but
    imported code keeps changing. When a model gains a column next month, this old
    revision's data migration starts selecting a column that does not exist yet at its
    point in history, and a fresh ``alembic upgrade head`` (CI, a new developer, disaster
    recovery) breaks. Imports that need a running app (settings, app factories) also make
    the revision impossible to render offline. Libraries installed in site-packages
    (column types, drivers) and the standard library are not flagged.

    Safe alternative:
    1. Copy what the revision needs into it: a lightweight ``sa.table("users",
       sa.column("id"), ...)`` instead of the ORM model, plain SQL instead of a helper.
    2. For custom column types, import them from a small, stable module and list the
       package in ``lint.stub_modules`` so rendering can stand it in.
    """
    if op.kind != "script.import" or not op.name:
        return
    top = op.name.split(".")[0]
    if top in KNOWN_LIBRARIES or (top not in ctx.config.lint.stub_modules
                                  and installed_library(top)):
        return
    names = op.args.get("names") or []
    shown = f"{op.name} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})" \
        if names else op.name
    yield Hit(
        f"imports {shown} inside the revision; the code keeps changing while the revision "
        "must not, so `upgrade head` from an empty database breaks later",
        steps(
            "Replace ORM models with a local snapshot: sa.table('<table>', "
            "sa.column('<col>'), ...).",
            "Inline helpers the revision needs, or move them to a small module that never "
            "changes.",
            f"If the import must stay (a custom column type), suppress this with a reason and "
            f"add '{top}' to lint.stub_modules so rendering can stand it in.",
        ),
    )


@rule("SL604", "create-engine-in-revision", family="script", severity="error",
      kinds=("script.create_engine",))
def create_engine_in_revision(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """A revision creates its own database engine instead of using Alembic's connection.

    Why it is dangerous: the second connection is outside the migration's transaction:
    it does not see the migration's uncommitted changes, its own changes are not rolled
    back when the migration fails, and when it touches a table the migration has locked
    it waits for a lock its own process holds: the deploy hangs forever. It also ignores
    the URL Alembic was given (``-x``, ``--env``), so it may write to the wrong database,
    and it breaks ``--sql`` offline mode.

    Safe alternative:
    1. Use Alembic's connection: ``bind = op.get_bind()`` and ``bind.execute(...)``, or
       ``op.execute(...)``.
    2. For an ORM session, ``Session(bind=op.get_bind())``.
    """
    if op.kind != "script.create_engine":
        return
    call = op.args.get("call") or "create_engine"
    yield Hit(
        f"{call}() inside the revision opens a second connection outside the migration's "
        "transaction: it can deadlock on the migration's own locks and may hit another "
        "database than the one being migrated",
        steps(
            "Use the migration's connection: bind = op.get_bind(); bind.execute(...).",
            "For the ORM: Session(bind=op.get_bind()).",
        ),
    )


@rule("SL605", "swallowed-exception", family="script", severity="error",
      kinds=("script.swallow_exception",))
def swallowed_exception(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """An ``except Exception`` (or bare ``except``) in a migration that does not re-raise.

    Why it is dangerous: the migration reports success and Alembic stamps the revision as
    applied while the data change silently did not happen; nobody finds out until the
    application misbehaves. On PostgreSQL the failed statement also aborts the
    transaction, so the next statement fails with a misleading "current transaction is
    aborted" error.

    Safe alternative:
    1. Let errors propagate: remove the try/except, or re-raise after logging
       (``except Exception: log.exception(...); raise``).
    2. Catch only the specific exception you expect, and handle it for real.
    3. For "skip if already done", check first (``IF NOT EXISTS``, a ``SELECT``) rather
       than catching the error.
    """
    if op.kind != "script.swallow_exception":
        return
    catches = op.args.get("catches")
    what = {
        "bare": "a bare `except:`",
        "suppress": "contextlib.suppress(Exception)",
    }.get(str(catches), f"`except {catches}`")
    yield Hit(
        f"{what} swallows every error here; the revision is stamped as applied even when "
        "the work inside failed",
        steps(
            "Remove the try/except, or re-raise after logging: except Exception: "
            "log.exception(...); raise.",
            "Catch only the exception you expect and handle it for real.",
            "For 'skip if already done', check first (IF NOT EXISTS, a SELECT) instead of "
            "catching.",
        ),
    )


@rule("SL606", "reads-data-in-migration", family="script", severity="info",
      kinds=("script.get_bind_read",))
def reads_data_in_migration(op: Op, ctx: RuleContext) -> Iterator[Hit]:
    """The revision reads rows through ``op.get_bind()`` and decides in Python.

    Why it is dangerous: the outcome depends on the data present when it runs, so the
    same revision does different things in dev, staging and production; ``alembic upgrade
    --sql`` (offline mode) cannot render it at all; and reading a large table into Python
    inside the migration transaction holds it open for a long time.

    Safe alternative:
    1. Express the change as set-based SQL (``UPDATE ... FROM``, ``INSERT ... SELECT``),
       which works offline and in one round trip.
    2. For large or complex data changes, use a batched data migration
       (``sluice.data``), in a revision of its own.
    3. If offline rendering matters, guard reads with ``if context.is_offline_mode():``.
    """
    if op.kind != "script.get_bind_read":
        return
    how = op.args.get("how") or "read"
    yield Hit(
        f"reads data through op.get_bind() ({how}); the result depends on the data at run "
        "time and the revision cannot be rendered with --sql",
        steps(
            "Rewrite it as set-based SQL (UPDATE ... FROM / INSERT ... SELECT) if you can.",
            "For large data changes use a batched data migration (sluice.data) in its own "
            "revision.",
        ),
    )
