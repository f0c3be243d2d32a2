"""The operations recipes emit besides Alembic's own, and how each renders as revision code.

- :class:`SqlStep`: an ``op.execute`` whose SQL renders over several short lines;
- :class:`AutocommitBlock`: ``with op.get_context().autocommit_block():`` around ops,
  with the session's ``lock_timeout`` set first and reset last (PostgreSQL);
- :class:`Backfill`: a ``sluice.data.batched_update`` call;
- :class:`NameStep`: ``<variable> = conventional_name(op, ...)``, the name Alembic gives a
  constraint or an index when the revision runs (env.py's naming convention), for the
  :class:`SqlStep` templates after it (``SqlStep(..., name=<variable>)``).

Each is an Alembic ``MigrateOperation`` with a renderer registered in Alembic's
autogenerate dispatch, so an autogenerate hook and ``sluice fix`` render them alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alembic.autogenerate import render as alembic_render
from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext

#: What a module needs to import for a :class:`Backfill` to run.
BACKFILL_IMPORT = "from sluice.data import batched_update"
#: What a module needs to import for a :class:`NameStep` to run.
NAME_IMPORT = "from sluice.recipes.naming import conventional_name"

_WIDTH = 88

#: ``AutogenContext.opts`` key: render lines with their final indentation (``sluice fix``
#: inserts them as they are); without it, lines are for Alembic's autogenerate printer.
VERBATIM = "sluice_verbatim_lines"


class SqlStep(ops.ExecuteSQLOp):
    """``op.execute(sql)`` built from fragments, rendered one fragment per line.

    With ``name`` (the variable of a :class:`NameStep` before it), the fragments are a
    template of :meth:`sluice.recipes.naming.RuntimeName.sql` (``{name}``, ``{literal}``,
    ``{qualified}``, ``{regclass}``; other braces doubled), rendered as
    ``op.execute(<name>.sql(...))``."""

    def __init__(self, *fragments: str, name: str | None = None) -> None:
        self.fragments = [f for f in fragments if f]
        self.name = name
        super().__init__(" ".join(self.fragments))

    def reverse(self) -> ops.MigrateOperation:
        raise NotImplementedError("a recipe's SQL step has no automatic reverse")


class AutocommitBlock(ops.MigrateOperation):
    """Ops run outside the revision's transaction, each statement committing on its own.

    ``lock_timeout`` (PostgreSQL syntax, e.g. ``'5s'``) is set for the session at the top
    of the block and reset at the bottom: the transaction-scoped ``SET LOCAL`` a runner may
    have issued does not survive the commit the block starts with.
    """

    def __init__(self, ops_: Sequence[ops.MigrateOperation], lock_timeout: str | None) -> None:
        self.ops = list(ops_)
        self.lock_timeout = lock_timeout


class Backfill(ops.MigrateOperation):
    """``batched_update(table, {column: sa.text(expression)}, where=<column> IS NULL)``;
    with ``where`` (SQL text, its values as bind parameters ``params``),
    ``where=sa.text(where).bindparams(**params)`` instead."""

    def __init__(self, table: str, column: str, expression: str,
                 schema: str | None = None, *, where: str | None = None,
                 params: dict[str, str] | None = None) -> None:
        self.table = table
        self.column = column
        self.expression = expression
        self.schema = schema
        self.where = where
        self.params = dict(params or {})


class NameStep(ops.MigrateOperation):
    """``<variable> = conventional_name(op, kind, name, table, ...)``
    (:func:`sluice.recipes.naming.conventional_name`): the name Alembic gives the
    constraint or index of the op a recipe rewrote, under the naming convention of the
    running migration, for the templates of the :class:`SqlStep` after it."""

    def __init__(self, variable: str, kind: str, name: str | None, table: str,
                 columns: Sequence[str] = (), *, schema: str | None = None,
                 referent: str | None = None, referent_columns: Sequence[str] = (),
                 referent_schema: str | None = None, default: str | None = None) -> None:
        self.variable = variable
        self.kind = kind
        self.name = name
        self.table = table
        self.columns = list(columns)
        self.schema = schema
        self.referent = referent
        self.referent_columns = list(referent_columns)
        self.referent_schema = referent_schema
        self.default = default


class IndexBuild(ops.MigrateOperation):
    """``op.create_index(op.f(<variable>), ...)``: a unique index built concurrently under
    the name of a :class:`NameStep` (its constraint's, which ``op.f`` keeps from the
    index naming convention), for ``ADD CONSTRAINT ... USING INDEX``."""

    def __init__(self, variable: str, table: str, columns: Sequence[str],
                 schema: str | None = None) -> None:
        self.variable = variable
        self.table = table
        self.columns = list(columns)
        self.schema = schema


class Suppressed(ops.MigrateOperation):
    """``op`` with ``# sluice: ignore[RULE] reason`` on the line above it: the recipe made
    it safe in a way the rule cannot see (a validated check before SET NOT NULL). Not
    ``active`` (where lint does not report the rule: a downgrade, the rule disabled),
    ``# reason`` only."""

    def __init__(self, op: ops.MigrateOperation, rule: str, reason: str,
                 active: bool = True) -> None:
        self.op = op
        self.rule = rule
        self.reason = reason
        self.active = active


class LockTimeout(ops.MigrateOperation):
    """The lock timeout for the DDL that follows: ``SET LOCAL lock_timeout`` inside a
    PostgreSQL transaction, ``SET SESSION lock_wait_timeout`` on MySQL (whole seconds)."""

    def __init__(self, dialect: str, value: str, seconds: int) -> None:
        self.dialect = dialect
        self.value = value
        self.seconds = seconds

    def sql(self) -> str:
        if self.dialect == "postgresql":
            return f"SET LOCAL lock_timeout = '{self.value}'"
        return f"SET SESSION lock_wait_timeout = {self.seconds}"


class Anchor(ops.MigrateOperation):
    """Where the ops of one rewritten call start in a sequence (``sluice fix`` writes the
    call's own comment there): rendered as a marker line (:data:`ANCHOR`) that the caller
    takes out, noting where it was."""

    def __init__(self, index: int) -> None:
        self.index = index


#: The marker line of an :class:`Anchor`: ``# sluice-fix-anchor 3``.
ANCHOR = "# sluice-fix-anchor "


def _literal(text: str) -> str:
    return repr(text)


def render_sql_call(prefix: str, fragments: Sequence[str], name: str | None = None) -> list[str]:
    """``op.execute("...")`` on one line when it fits, else one fragment per line; with
    ``name``, ``op.execute(<name>.sql("..."))``."""
    open_, close = (f"{prefix}execute(", ")") if name is None else \
        (f"{prefix}execute({name}.sql(", "))")
    one = f"{open_}{_literal(' '.join(fragments))}{close}"
    if len(one) <= _WIDTH or len(fragments) < 2:
        return [one]
    lines = [open_]
    for i, frag in enumerate(fragments):
        tail = " " if i < len(fragments) - 1 else ""
        lines.append(f"    {_literal(frag + tail)}")
    lines.append(close)
    return lines


def _prefix(ctx: AutogenContext) -> str:
    return str(ctx.opts.get("alembic_module_prefix", "op."))


def _sa_prefix(ctx: AutogenContext) -> str:
    return str(ctx.opts.get("sqlalchemy_module_prefix", "sa."))


@alembic_render.renderers.dispatch_for(SqlStep)
def _render_sql_step(ctx: AutogenContext, op: SqlStep) -> list[str]:
    return render_sql_call(_prefix(ctx), op.fragments, op.name)


@alembic_render.renderers.dispatch_for(NameStep)
def _render_name_step(ctx: AutogenContext, op: NameStep) -> list[str]:
    ctx.imports.add(NAME_IMPORT)
    args = [_prefix(ctx).rstrip("."), repr(op.kind), repr(op.name), repr(op.table)]
    if op.columns:
        args.append(repr(op.columns))
    options = [f"{key}={getattr(op, key)!r}" for key in (
        "schema", "referent", "referent_columns", "referent_schema", "default")
        if getattr(op, key)]
    call = f"{op.variable} = conventional_name({', '.join(args + options)})"
    if len(call) <= _WIDTH:
        return [call]
    groups = [args, options] if options else [args]
    return [f"{op.variable} = conventional_name(",
            *(f"    {', '.join(group)}," for group in groups), ")"]


@alembic_render.renderers.dispatch_for(IndexBuild)
def _render_index_build(ctx: AutogenContext, op: IndexBuild) -> list[str]:
    prefix = _prefix(ctx)
    schema = f", schema={op.schema!r}" if op.schema else ""
    return [f"{prefix}create_index({prefix}f({op.variable}), {op.table!r}, {op.columns!r}, "
            f"unique=True{schema}, postgresql_concurrently=True, if_not_exists=True)"]


@alembic_render.renderers.dispatch_for(LockTimeout)
def _render_lock_timeout(ctx: AutogenContext, op: LockTimeout) -> list[str]:
    return render_sql_call(_prefix(ctx), [op.sql()])


@alembic_render.renderers.dispatch_for(AutocommitBlock)
def _render_autocommit(ctx: AutogenContext, op: AutocommitBlock) -> list[str]:
    prefix = _prefix(ctx)
    body: list[str] = []
    if op.lock_timeout:
        body.append(f"{prefix}execute(\"SET lock_timeout = '{op.lock_timeout}'\")")
    for inner in op.ops:
        body += render_lines(ctx, inner)
    if op.lock_timeout:
        body.append(f"{prefix}execute('RESET lock_timeout')")
    head = f"with {prefix}get_context().autocommit_block():"
    if not ctx.opts.get(VERBATIM):
        # Alembic's autogenerate writes the lines through mako's PythonPrinter, which
        # indents after a line ending in ":" and dedents at an empty line.
        return [head, *body, ""]
    return [head, *("    " + line if line else line for line in body)]


@alembic_render.renderers.dispatch_for(Anchor)
def _render_anchor(ctx: AutogenContext, op: Anchor) -> list[str]:
    return [f"{ANCHOR}{op.index}"]


@alembic_render.renderers.dispatch_for(Suppressed)
def _render_suppressed(ctx: AutogenContext, op: Suppressed) -> list[str]:
    comment = f"# sluice: ignore[{op.rule}] {op.reason}" if op.active else f"# {op.reason}"
    return [comment, *render_lines(ctx, op.op)]


@alembic_render.renderers.dispatch_for(Backfill)
def _render_backfill(ctx: AutogenContext, op: Backfill) -> list[str]:
    ctx.imports.add(BACKFILL_IMPORT)
    sa = _sa_prefix(ctx)
    schema = f", schema={op.schema!r}" if op.schema else ""
    where = f"{sa}column({op.column!r}).is_(None)"
    if op.where is not None:
        binds = ", ".join(f"{k}={v!r}" for k, v in op.params.items())
        where = f"{sa}text({op.where!r})" + (f".bindparams({binds})" if binds else "")
    return [f"batched_update({op.table!r}, {{{op.column!r}: {sa}text({op.expression!r})}}, "
            f"where={where}{schema})"]


def render_lines(ctx: AutogenContext, op: ops.MigrateOperation) -> list[str]:
    """The revision code lines of one op (no indentation of the enclosing function)."""
    out: list[str] = []
    for chunk in alembic_render.render_op(ctx, op):
        out += str(chunk).split("\n")
    return out


def autogen_context(dialect: str | None = None, **opts: Any) -> AutogenContext:
    """An AutogenContext for rendering outside an autogenerate run (``sluice fix``).

    Its dialect compiles with the ``named`` paramstyle: an expression Alembic renders as
    text (``postgresql_where=sa.text(...)``, a server default) keeps a ``%`` as one, where
    a driver's ``pyformat`` would write ``%%`` into the revision (and the database)."""
    mc = MigrationContext.configure(dialect_name=dialect or "postgresql",
                                    opts={"as_sql": True},
                                    dialect_opts={"paramstyle": "named"})
    return AutogenContext(mc, opts={"sqlalchemy_module_prefix": "sa.",
                                    "alembic_module_prefix": "op.",
                                    "user_module_prefix": None, VERBATIM: True, **opts},
                          autogenerate=False)
