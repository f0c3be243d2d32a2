"""A step in ``--sql`` (offline) mode: nothing can be batched, so an update or delete is
rendered as one statement under a comment that says so, and a backfill (Python code) as a
comment saying that it must run online."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from sluice.data.batch import BatchSql
from sluice.data.model import BackfillFn, Kind, fail


def render_backfill(ctx: Any, head: str, label: str, fn: BackfillFn | None,
                    say: Callable[[str], None]) -> None:
    """Write the comment a backfill leaves in the script, and warn that it did not run."""
    fn_name = getattr(fn, "__qualname__", repr(fn))
    ctx.impl.static_output("\n".join([
        head,
        f"-- NOT RENDERED: it runs the Python function {fn_name}() over the rows, "
        "which cannot be expressed as SQL.",
        "-- This step must run online (alembic upgrade without --sql). Applying this "
        "script alone leaves the step undone.",
    ]))
    say(f"sluice.data: WARNING: {label}: backfill cannot be rendered in --sql "
        "mode; run this revision online (alembic upgrade) or the data stays as is")


def render_statement(ctx: Any, head: str, label: str, kind: Kind, sql: BatchSql) -> None:
    """Write an update or delete as one statement, under a comment that says so."""
    if kind == "update":
        stmt: Any = sa.update(sql.target).values(sql.set_values)
    else:
        stmt = sa.delete(sql.target)
    if sql.where_expr is not None:
        stmt = stmt.where(sql.where_expr)
    try:
        text = str(stmt.compile(dialect=ctx.dialect, compile_kwargs={"literal_binds": True}))
    except sa_exc.CompileError as exc:
        raise fail(f"{label}: cannot render as SQL for --sql: {exc}") from None
    ctx.impl.static_output("\n".join([
        head,
        "-- Batching, throttling and checkpoints need an online run (alembic upgrade "
        "without --sql).",
        "-- Rendered as ONE statement: it locks every row it changes until the "
        "transaction commits.",
        " ".join(text.split()) + ctx.impl.command_terminator,
    ]))
