"""The drift check: after upgrading to head, the database matches the models.

The comparison is Alembic's own (``produce_migrations``, what ``alembic check`` and
``--autogenerate`` use), run inside the project's env.py so its ``target_metadata`` and
options apply, with Sluice's filters on top: tables matched by ``exclude_tables`` are
never drift, server defaults are compared without dialect noise, types are compared.
"""

from __future__ import annotations

import re
import textwrap
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.operations import ops as alembic_ops
from alembic.runtime.migration import MigrationContext

from sluice.check.context import CheckContext
from sluice.check.drift_exprs import ExpressionDrift, expression_drift
from sluice.check.drift_text import describe_diff, flatten
from sluice.check.graph import graph_blocked
from sluice.check.model import CheckResult, finish
from sluice.check.revisions import describe_error
from sluice.check.sawarn import Routed, routed
from sluice.check.snapshot import EXPRESSION_INDEX_WARNING
from sluice.check.upgrade import ensure_head
from sluice.core.alembic_compat import registered_plugins
from sluice.core.findings import Finding, check_finding
from sluice.errors import SluiceError
from sluice.filters import make_include_name, make_include_object
from sluice.policy.defaults import compare_server_default

NAME = "drift"
TITLE = "models match database"
#: The name Sluice's comparisons are registered under with Alembic 1.18+ (see
#: :mod:`sluice.integrations.alembic_plugin`, which this layer does not import).
_PLUGIN = "sluice"


def revision_command(ctx: CheckContext) -> str:
    """The command that writes these operations as a new revision, with the options of
    this run (``-c``, ``-n``, ``-x``, the environment as ``-x env=``)."""
    return ctx.given.alembic_line("revision", "--autogenerate", "-m", "describe the change")


class Compared(NamedTuple):
    """What :func:`compare` found in the database at head."""

    #: The differences, one sentence each.
    lines: list[str]
    #: The operations autogenerate would write for them, rendered.
    code: str
    data: list[dict[str, Any]]
    #: Native enum columns and identity columns not compared (on the SQLite stand-in).
    enums: list[str]
    identities: list[str]
    #: Expression-based indexes of the models a SQLite database does not have.
    expression_indexes: list[str]
    #: Partial indexes' predicates and computed columns that differ (autogenerate does not
    #: write those changes).
    expressions: list[str]
    #: What SQLAlchemy and Alembic warned about while comparing, as notes.
    warnings: list[str]


def compare(ctx: CheckContext) -> Compared:
    """The differences between the models and the database at head."""
    lines: list[str] = []
    code: list[str] = []
    data: list[dict[str, Any]] = []
    seen_metadata = {"any": False}
    # on the temporary SQLite database standing in for a PostgreSQL / MySQL project, a
    # native enum is a VARCHAR as long as its longest value: its values change in the
    # project's own database only (ALTER TYPE, a plugin's op), never here
    stand_in = ctx.stand_in() is not None
    skipped: list[str] = []
    identities: list[str] = []
    expression_indexes: list[str] = []
    expressions: list[str] = []
    warned = Routed()

    def work(heads: tuple[str, ...], context: MigrationContext) -> list[Any]:
        opts = dict(context.opts)
        metadata = opts.get("target_metadata")
        if metadata is None:
            return []
        seen_metadata["any"] = True
        user_object = opts.get("include_object")
        user_name = opts.get("include_name")
        opts["include_object"] = make_include_object(ctx.config, user_object)
        opts["include_name"] = make_include_name(ctx.config, user_name)
        if not callable(opts.get("compare_type")):
            opts["compare_type"] = True
        if stand_in:
            opts["compare_type"] = _native_enums_skipped(opts["compare_type"], skipped)
        opts.update(_server_default_options(opts))
        if ctx.config.include_schemas:
            opts["include_schemas"] = True
        mc = MigrationContext.configure(connection=context.connection, opts=opts)
        dialect = context.connection.dialect if context.connection is not None else None
        with routed(warned, handled=_handled_warnings(dialect, stand_in)):
            script = produce_migrations(mc, metadata)
        if dialect is not None and dialect.name == "sqlite" and not stand_in:
            lost = _sqlite_expression_indexes(context.connection, metadata,
                                              opts["include_object"])
            for table, index in lost:
                script.upgrade_ops_list[0].ops.append(alembic_ops.ModifyTableOps(
                    table.name, [alembic_ops.CreateIndexOp.from_index(index)],
                    schema=table.schema))
                expression_indexes.append(str(index.name))
        extra: list[ExpressionDrift] = []
        if dialect is not None:
            reported = {str(d[1].name) for ups in script.upgrade_ops_list
                        for d in flatten(ups.as_diffs())
                        if d[0] in ("add_index", "remove_index")}
            with routed(warned, handled=_handled_warnings(dialect, stand_in)):
                extra = expression_drift(context.connection, metadata,
                                         opts["include_object"], reported)
        for number, ups in enumerate(script.upgrade_ops_list):
            if stand_in:
                _identities_skipped(ups, identities)
            own = extra if number == 0 else []
            if ups.is_empty() and not own:
                continue
            for diff in flatten(ups.as_diffs()):
                lines.append(describe_diff(diff, dialect))
                data.append({"kind": diff[0], "message": lines[-1]})
            for found in own:
                lines.append(found.line)
                data.append({"kind": found.kind, "message": found.line})
                expressions.append(found.name)
                ups.ops.append(alembic_ops.ModifyTableOps(
                    found.ops[0].table_name, found.ops, schema=found.ops[0].schema))
            render_ctx = MigrationContext.configure(dialect=mc.dialect, opts={})
            code.append(render_python_code(
                ups, render_as_batch=bool(opts.get("render_as_batch", False)),
                migration_context=render_ctx,
                render_item=opts.get("render_item"),
                user_module_prefix=opts.get("user_module_prefix"),
                sqlalchemy_module_prefix=opts.get("sqlalchemy_module_prefix", "sa."),
                alembic_module_prefix=opts.get("alembic_module_prefix", "op."),
            ))
        return []

    ctx.run_env(work)
    if not seen_metadata["any"]:
        env_py = ctx.rel(Path(ctx.history().script.dir) / "env.py")
        raise _NoMetadata(env_py)
    return Compared(lines, "\n".join(_clean(c) for c in code), data, sorted(set(skipped)),
                    sorted(set(identities)), expression_indexes, expressions, warned.notes())


#: Alembic's warning for an expression-based index of the models it cannot compare.
_SKIPPED_EXPRESSION_INDEX = re.compile(r"^autogenerate skipping metadata-specified "
                                       r"expression-based index")
#: Alembic's warning for a computed column it compares crudely; :mod:`.drift_exprs`
#: compares them and says what differs.
_COMPUTED = re.compile(r"^Computed default on \S+ cannot be modified")


def _handled_warnings(dialect: Any, stand_in: bool) -> tuple[re.Pattern[str], ...]:
    """The warnings of the comparison this check answers itself: on a SQLite project,
    expression-based indexes are compared by name (:func:`_sqlite_expression_indexes`);
    on the stand-in, Alembic's own warning says they are not compared, which is enough."""
    if dialect is None or dialect.name != "sqlite":
        return (_COMPUTED,)
    if stand_in:
        return (EXPRESSION_INDEX_WARNING, _COMPUTED)
    return (EXPRESSION_INDEX_WARNING, _SKIPPED_EXPRESSION_INDEX, _COMPUTED)


def _sqlite_expression_indexes(conn: Any, metadata: Any, include_object: Any
                               ) -> list[tuple[sa.Table, sa.Index]]:
    """The expression-based indexes of the models (``lower(email)``) that the SQLite
    database lacks, by name, on tables it has. SQLite cannot reflect them, so Alembic's
    comparison skips them, and ``batch_alter_table`` recreates a table without them."""
    found: dict[str | None, tuple[set[str], set[str]]] = {}
    out = []
    for meta in metadata if isinstance(metadata, list | tuple) else [metadata]:
        for table in meta.tables.values():
            if not include_object(table, table.name, "table", False, None):
                continue
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                if index.name is None or all(isinstance(e, sa.Column)
                                             for e in index.expressions):
                    continue
                if not include_object(index, index.name, "index", False, None):
                    continue
                if table.schema not in found:
                    found[table.schema] = _sqlite_names(conn, table.schema)
                tables, indexes = found[table.schema]
                if table.name in tables and str(index.name) not in indexes:
                    out.append((table, index))
    return out


def _sqlite_names(conn: Any, schema: str | None) -> tuple[set[str], set[str]]:
    """The names of the tables and of the indexes of a SQLite database (or attached
    ``schema``), from ``sqlite_master``."""
    master = f'"{schema}".sqlite_master' if schema else "sqlite_master"
    rows = conn.execute(sa.text(
        f"SELECT type, name FROM {master} WHERE type IN ('table', 'index')"  # noqa: S608
    )).fetchall()
    return ({n for t, n in rows if t == "table"}, {n for t, n in rows if t == "index"})


def _server_default_options(opts: dict[str, Any]) -> dict[str, Any]:
    """How server defaults are compared: as env.py asked when it passed a comparator of
    its own; otherwise with Sluice's comparison (dialect noise removed), which on Alembic
    1.18+ is the ``sluice`` plugin next to ``compare_server_default=True``, exactly what
    ``configure_options`` gives env.py. A callable there would put every column through
    Alembic's user-comparator path first, which reads ``.arg`` of a Computed or Identity
    default and fails on healthy projects; before 1.18 Alembic compares those columns
    before it calls the comparator, so the callable is safe there."""
    if callable(opts.get("compare_server_default")):
        return {}
    plugins = _with_sluice_plugin(opts.get("autogenerate_plugins"))
    if plugins is None:
        return {"compare_server_default": compare_server_default}
    return {"compare_server_default": True, "autogenerate_plugins": plugins}


def _with_sluice_plugin(names: Any) -> list[str] | None:
    """``autogenerate_plugins`` with Sluice's plugin in it (unless ``names`` already names
    it or leaves it out with ``~sluice``); None when Alembic has no plugins (before 1.18)
    or the plugin is not registered."""
    try:
        registry = registered_plugins()
    except ImportError:  # Alembic before 1.16: no plugin module at all
        return None
    if registry is None or _PLUGIN not in registry:
        return None
    out = [str(n) for n in (("alembic.autogenerate.*",) if names is None else
                            [names] if isinstance(names, str) else names)]
    if any(n in (_PLUGIN, f"~{_PLUGIN}") for n in out):
        return out
    return [*out, _PLUGIN]


def _native_enums_skipped(user: Any, skipped: list[str]) -> Callable[..., bool | None]:
    """``compare_type`` that leaves native enum columns alone (their names go to
    ``skipped``), and asks ``user`` (the project's own ``compare_type``) about the rest."""

    def compare_type(context: Any, inspected_column: Any, metadata_column: Any,
                     inspected_type: Any, metadata_type: Any) -> bool | None:
        if isinstance(metadata_type, sa.Enum) and metadata_type.native_enum:
            skipped.append(f"{metadata_column.table.name}.{metadata_column.name}")
            return False
        if callable(user):
            return cast("bool | None", user(context, inspected_column, metadata_column,
                                            inspected_type, metadata_type))
        return None

    return compare_type


def _identities_skipped(container: Any, skipped: list[str]) -> None:
    """Leave out of ``container`` (autogenerate's operations, batch containers included)
    the identity a model column has and the database cannot show: SQLite has no identity
    columns and reflects none (an INTEGER PRIMARY KEY numbers its rows itself), so on the
    stand-in every ``Identity()`` column would be drift. The column's names go to
    ``skipped``; any other change to the same column is kept."""
    kept = []
    for op in container.ops:
        if hasattr(op, "ops"):
            _identities_skipped(op, skipped)
            if not op.ops:
                continue
        elif (isinstance(op, alembic_ops.AlterColumnOp)
              and isinstance(op.modify_server_default, sa.Identity)
              and not op.existing_server_default):
            skipped.append(f"{op.table_name}.{op.column_name}")
            op.modify_server_default = False
            op.kw.pop("autoincrement", None)
            if (op.modify_type is None and op.modify_nullable is None
                    and op.modify_comment is False and op.modify_name is None):
                continue
        kept.append(op)
    container.ops = kept


def _clean(code: str) -> str:
    """Rendered ops without Alembic's banner comments, dedented."""
    kept = [line for line in code.splitlines() if not line.strip().startswith("# ###")]
    return textwrap.dedent("\n".join(kept)).strip("\n")


class _NoMetadata(Exception):
    def __init__(self, env_py: str) -> None:
        super().__init__(env_py)
        self.env_py = env_py


def _raised_at(exc: BaseException) -> str:
    """Where ``exc`` was raised, as ``file:line`` (an installed package's file from the
    package on), for the one line that says why a comparison failed."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    file = Path(frames[-1].filename)
    parts = file.parts
    if "site-packages" in parts:
        file = Path(*parts[parts.index("site-packages") + 1:])
    return f"{file.as_posix()}:{frames[-1].lineno}"


def _alembic_check_fails(ctx: CheckContext) -> bool | None:
    """Whether Alembic's own comparison fails too, run as ``alembic check`` runs it: in
    env.py, with env.py's options exactly as they are (None: it could not be run)."""

    def work(heads: tuple[str, ...], context: MigrationContext) -> list[Any]:
        metadata = context.opts.get("target_metadata")
        if metadata is not None:
            with routed(Routed()):  # only whether it raises matters here
                produce_migrations(context, metadata)
        return []

    try:
        ctx.run_env(work)
    except SluiceError:
        return None
    except Exception:  # noqa: BLE001 - any failure is the answer
        return True
    return False


def _compare_failed(ctx: CheckContext, exc: Exception) -> Finding:
    """The comparison raised: what, where it was raised, and whether ``alembic check``
    fails the same way (asked, not assumed)."""
    path, line, _ = ctx.env_failure(exc)
    at = _raised_at(exc)
    message = (f"comparing models and database failed: {describe_error(exc)}"
               + (f" (raised in {at})" if at else ""))
    plain = _alembic_check_fails(ctx)
    if plain:
        fix = ctx.stand_in_note() or (
            "Alembic's own comparison (what `alembic check` runs) fails the same way on "
            "this database; fix that first.")
    elif plain is False:
        fix = ("Alembic's own comparison (what `alembic check` runs) passes on this "
               "database: the error comes from what Sluice adds to it (exclude_tables "
               "filters, type and server default comparison), a bug in Sluice. Report it "
               "with this line; until it is fixed, `alembic check` checks the drift.")
    else:
        fix = "Run `alembic check` to see whether Alembic's own comparison fails as well."
    return check_finding(NAME, "compare-failed", message, fix, path=path, line=line)


#: Why autogenerate will not write an expression-based index SQLite lacks, and what to do.
_EXPRESSION_INDEX_FIX = (
    "Autogenerate will not write {0}: it skips expression-based indexes on SQLite, "
    "which cannot read them back, so write that create_index by hand. batch_alter_table "
    "recreates the table without them: create them again after every batch on that table "
    "(in upgrade() and downgrade()).")


#: Why autogenerate will not write a changed predicate or computed expression.
_EXPRESSIONS_FIX = (
    "Autogenerate will not write the change to {0}: Alembic compares neither partial "
    "indexes' WHERE nor generated columns' expressions, so write it by hand, as above: "
    "drop the index and create it again, drop the generated column and add it again.")


def check_drift(ctx: CheckContext) -> CheckResult:
    """Run the check; its rule documents it (:mod:`sluice.rules.check.drift`)."""
    unloadable = graph_blocked(ctx, NAME, TITLE)
    if unloadable is not None:
        return unloadable
    upgrade = ctx.results.get("upgrade")
    if upgrade is not None and upgrade.status != "pass":
        return CheckResult(NAME, TITLE, "skip", "needs a successful upgrade to head")
    blocked = ensure_head(ctx)
    if blocked:
        first = blocked[0]
        return finish(NAME, TITLE, [check_finding(NAME, first.name, first.message, first.fix,
                                            path=first.path, line=first.line,
                                            revision=first.revision)],
                      "could not upgrade to head")
    try:
        (lines, code, data, enums, identities, expression_indexes, expressions,
         warned) = compare(ctx)
    except SluiceError:
        raise
    except _NoMetadata as exc:
        return CheckResult(NAME, TITLE, "error", "no target_metadata", problems=[check_finding(
            NAME, "no-target-metadata",
            "env.py passes no target_metadata to context.configure(); there is nothing to "
            "compare the database with",
            "In env.py: `from myapp.models import Base` and "
            "`context.configure(..., target_metadata=Base.metadata)`.",
            path=exc.env_py)])
    except Exception as exc:
        return CheckResult(NAME, TITLE, "error", "comparison failed",
                           problems=[_compare_failed(ctx, exc)])
    notes = list(warned)
    stand_in = ctx.stand_in()
    if enums and stand_in is not None:
        notes.append(f"native enum columns ({', '.join(enums)}) are not compared on the "
                     f"temporary SQLite database, where an enum is a VARCHAR: their values "
                     f"change on {stand_in[0]} only. Compare them there: {stand_in[1]}.")
    if identities and stand_in is not None:
        notes.append(f"identity columns ({', '.join(identities)}) are not compared on the "
                     f"temporary SQLite database, which has no identity columns. Compare "
                     f"them on {stand_in[0]}: {stand_in[1]}.")
    if not lines:
        return finish(NAME, TITLE, [], "models and database agree", notes=notes)
    n = len(lines)
    details = "\n".join(f"- {line}" for line in lines)
    command = revision_command(ctx)
    details += "\n\nAutogenerate would write:\n" + code
    problem = check_finding(
        NAME, "drift",
        f"the database after `alembic upgrade head` differs from the models in {n} "
        f"place{'s' if n != 1 else ''}",
        f"If the models are right, write the missing migration: `{command}`, review it, "
        "and commit it with the model change. If the migrations are right, change the "
        "models back. Tables that are not yours belong in exclude_tables."
        + (f" {_EXPRESSION_INDEX_FIX.format(', '.join(expression_indexes))}"
           if expression_indexes else "")
        + (f" {_EXPRESSIONS_FIX.format(', '.join(expressions))}" if expressions else "")
        + (f" {ctx.stand_in_note()}" if stand_in is not None else ""),
        details=details,
    )
    return finish(NAME, TITLE, [problem], f"{n} difference{'s' if n != 1 else ''}",
                  notes=notes,
                  data={"differences": data, "operations": code, "command": command})
