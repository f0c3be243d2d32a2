"""The drift check: after upgrading to head, the database matches the models.

The comparison is Alembic's own (``produce_migrations``, what ``alembic check`` and
``--autogenerate`` use), run inside the project's env.py so its ``target_metadata`` and
options apply, with Sluice's filters on top: tables matched by ``exclude_tables`` are
never drift, server defaults are compared without dialect noise, types are compared.
"""

from __future__ import annotations

import shlex
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.runtime.migration import MigrationContext

from sluice.check.context import CheckContext
from sluice.check.graph import graph_blocker
from sluice.check.model import CheckResult, finish
from sluice.check.revisions import describe_error
from sluice.check.upgrade import ensure_head
from sluice.core.findings import check_finding
from sluice.errors import SluiceError
from sluice.filters import make_include_name, make_include_object
from sluice.policy.defaults import compare_server_default

NAME = "drift"
TITLE = "models match database"


def _type(type_: Any, dialect: Any) -> str:
    if type_ is None:
        return "?"
    try:
        return str(type_.compile(dialect=dialect))
    except Exception:
        return repr(type_)


def _null(nullable: Any) -> str:
    return "NULL" if nullable else "NOT NULL"


def _default(value: Any) -> str:
    if value is None:
        return "no default"
    arg = getattr(value, "arg", value)
    text = getattr(arg, "text", None) or str(arg)
    return f"default {text}"


def _tname(schema: str | None, table: str | None) -> str:
    return f"{schema}.{table}" if schema else str(table)


def _cols(cols: Sequence[Any]) -> str:
    return ", ".join(getattr(c, "name", str(c)) for c in cols)


def describe_diff(diff: Any, dialect: Any) -> str:
    """One line for one autogenerate diff tuple: what differs, and on which side."""
    kind = diff[0]
    models, db = "in the models", "in the database"
    if kind in ("add_table", "remove_table"):
        t = diff[1]
        name = _tname(t.schema, t.name)
        return (f"table {name}: {models}, missing from the database (no migration creates it)"
                if kind == "add_table" else f"table {name}: {db}, not in the models")
    if kind in ("add_column", "remove_column"):
        _, schema, table, col = diff
        where = f"column {_tname(schema, table)}.{col.name}"
        spec = f"{_type(col.type, dialect)}, {_null(col.nullable)}"
        return (f"{where}: {models} ({spec}), missing from the database"
                if kind == "add_column" else f"{where}: {db} ({spec}), not in the models")
    if kind.startswith("modify_"):
        _, schema, table, column, _existing, old, new = diff
        where = f"column {_tname(schema, table)}.{column}"
        if kind == "modify_type":
            return f"{where}: type {_type(old, dialect)} {db}, {_type(new, dialect)} {models}"
        if kind == "modify_nullable":
            return f"{where}: {_null(old)} {db}, {_null(new)} {models}"
        if kind == "modify_default":
            return f"{where}: {_default(old)} {db}, {_default(new)} {models}"
        if kind == "modify_comment":
            return f"{where}: comment {old!r} {db}, {new!r} {models}"
    if kind in ("add_index", "remove_index"):
        idx = diff[1]
        table = idx.table
        cols = _cols(idx.expressions if getattr(idx, "expressions", None) else idx.columns)
        what = f"{'unique ' if idx.unique else ''}index {idx.name} on {_tname(table.schema, table.name)} ({cols})"
        return (f"{what}: {models}, missing from the database" if kind == "add_index"
                else f"{what}: {db}, not in the models")
    if kind in ("add_constraint", "remove_constraint"):
        con = diff[1]
        table = con.table
        label = type(con).__name__.replace("Constraint", " constraint").lower().strip()
        what = f"{label} {con.name or '(unnamed)'} on {_tname(table.schema, table.name)} " \
               f"({_cols(list(con.columns))})"
        return (f"{what}: {models}, missing from the database" if kind == "add_constraint"
                else f"{what}: {db}, not in the models")
    if kind in ("add_fk", "remove_fk"):
        fk = diff[1]
        table = fk.parent
        ref = fk.elements[0].column.table if fk.elements else None
        refname = _tname(ref.schema, ref.name) if ref is not None else "?"
        refcols = ", ".join(e.column.name for e in fk.elements)
        what = (f"foreign key {fk.name + ' ' if fk.name else ''}{_tname(table.schema, table.name)}"
                f"({_cols(list(fk.columns))}) -> {refname}({refcols})")
        return (f"{what}: {models}, missing from the database" if kind == "add_fk"
                else f"{what}: {db}, not in the models")
    if kind in ("add_table_comment", "remove_table_comment"):
        t = diff[1]
        return f"table {_tname(t.schema, t.name)}: comment differs"
    return " ".join(str(x) for x in diff)


def _flatten(diffs: Sequence[Any]) -> Iterator[Any]:
    for d in diffs:
        if isinstance(d, list):
            yield from _flatten(d)
        else:
            yield d


def revision_command(ctx: CheckContext) -> str:
    """The command that writes these operations as a new revision."""
    cmd = ["alembic"]
    try:
        rel = ctx.ini.relative_to(Path.cwd().resolve())
    except ValueError:
        rel = ctx.ini
    if str(rel) != "alembic.ini":
        cmd += ["-c", str(rel)]
    cmd += ["revision", "--autogenerate", "-m", "describe the change"]
    return " ".join(shlex.quote(c) for c in cmd)


def compare(ctx: CheckContext) -> tuple[list[str], str, list[dict[str, Any]], list[str]]:
    """(readable differences, rendered operations, diffs as data, native enum columns not
    compared) for the database at head."""
    lines: list[str] = []
    code: list[str] = []
    data: list[dict[str, Any]] = []
    seen_metadata = {"any": False}
    # on the temporary SQLite database standing in for a PostgreSQL / MySQL project, a
    # native enum is a VARCHAR as long as its longest value: its values change in the
    # project's own database only (ALTER TYPE, a plugin's op), never here
    stand_in = ctx.stand_in() is not None
    skipped: list[str] = []

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
        if not callable(opts.get("compare_server_default")):
            opts["compare_server_default"] = compare_server_default
        if ctx.config.include_schemas:
            opts["include_schemas"] = True
        mc = MigrationContext.configure(connection=context.connection, opts=opts)
        script = produce_migrations(mc, metadata)
        dialect = context.connection.dialect if context.connection is not None else None
        for ups in script.upgrade_ops_list:
            if ups.is_empty():
                continue
            for diff in _flatten(ups.as_diffs()):
                lines.append(describe_diff(diff, dialect))
                data.append({"kind": diff[0], "message": lines[-1]})
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
    return lines, "\n".join(_clean(c) for c in code), data, sorted(set(skipped))


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


def _clean(code: str) -> str:
    """Rendered ops without Alembic's banner comments, dedented."""
    kept = [line for line in code.splitlines() if not line.strip().startswith("# ###")]
    return textwrap.dedent("\n".join(kept)).strip("\n")


class _NoMetadata(Exception):
    def __init__(self, env_py: str) -> None:
        super().__init__(env_py)
        self.env_py = env_py


def check_drift(ctx: CheckContext) -> CheckResult:
    """Run the check; its rule documents it (:mod:`sluice.rules.check.drift`)."""
    blocker = graph_blocker(ctx)
    if blocker:
        return CheckResult(NAME, TITLE, "skip", f"the revision graph does not load ({blocker})")
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
        lines, code, data, enums = compare(ctx)
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
        path, line, _ = ctx.env_failure(exc)
        return CheckResult(NAME, TITLE, "error", "comparison failed", problems=[check_finding(
            NAME, "compare-failed", f"comparing models and database failed: "
            f"{describe_error(exc)}",
            ctx.stand_in_note() or "`alembic check` fails the same way; fix that first.",
            path=path, line=line)])
    notes = []
    stand_in = ctx.stand_in()
    if enums and stand_in is not None:
        notes.append(f"native enum columns ({', '.join(enums)}) are not compared on the "
                     f"temporary SQLite database, where an enum is a VARCHAR: their values "
                     f"change on {stand_in[0]} only. Compare them there: `{stand_in[1]}`.")
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
        + (f" {ctx.stand_in_note()}" if stand_in is not None else ""),
        details=details,
    )
    return finish(NAME, TITLE, [problem], f"{n} difference{'s' if n != 1 else ''}",
                  notes=notes,
                  data={"differences": data, "operations": code, "command": command})
