"""Where the database is and what would run: the probe through env.py, the version table's
heads, the revisions they imply, and the steps Alembic's own walk would take from them."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.script.revision import MultipleHeads
from alembic.util import CommandError
from sqlalchemy import Column, MetaData, String, Table, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from sluice.core.alembic_compat import (
    INTERNAL_RENDER,
    all_down_revisions,
    downgrade_steps,
    kept_proxies,
    relative_spec,
    upgrade_steps,
)
from sluice.core.alembic_log import quiet_alembic
from sluice.core.project import display_path, where_in_project
from sluice.core.suggest import Invocation
from sluice.errors import DatabaseUnavailable, SluiceError, mask_url
from sluice.runner.capture import split_offline_sql
from sluice.runner.database import first_line
from sluice.runner.leftopen import flush_left_open
from sluice.runner.project import RunnerProject
from sluice.runner.session import DbState, Session


def probe(project: RunnerProject) -> DbState:
    """Current heads, dialect and version table, from env.py's own connection. Where no
    URL was resolved, env.py's own (it sets ``sqlalchemy.url`` itself) becomes the run's;
    when it has none either, the run stops with :attr:`RunnerProject.url_missing`."""
    session = Session(mode="probe")
    try:
        with quiet_alembic(), kept_proxies():
            command.current(project.alembic_cfg(session))
    except DBAPIError as exc:
        statement = " ".join(str(getattr(exc, "statement", None) or "").split())
        place = where_in_project(exc, project.script.dir)
        if statement and place is not None:
            # connected: a statement env.py runs itself (CREATE SCHEMA ...) failed
            shown = statement if len(statement) <= 80 else statement[:77] + "..."
            raise SluiceError(f"{place}: env.py failed before any migration ran: `{shown}`: "
                              f"{first_line(exc)}") from None
        # the probe only connects and reads the version table: this is the database
        where = mask_url(project.url) if project.url else "env.py's database"
        raise DatabaseUnavailable(f"{where}: cannot connect: {first_line(exc)}") from None
    except Exception as exc:
        if project.url_missing is not None:  # env.py had no URL to connect with either
            raise SluiceError(project.url_missing.message,
                              hint=f"env.py stopped with: {first_line(exc)}") from None
        place = where_in_project(exc, project.script.dir)
        if place is not None and not isinstance(exc, SluiceError):
            raise SluiceError(f"{place}: env.py failed before any migration ran: "
                              f"{type(exc).__name__}: {first_line(exc)}") from None
        raise
    finally:
        flush_left_open(session.namespaces)
    if not session.hooked or session.state is None:
        raise SluiceError(not_wired_message(project))
    if not project.url:
        if not session.state.url:
            raise project.url_missing or SluiceError("no database URL")
        project.url = session.state.url
    return session.state


def not_wired_message(project: RunnerProject) -> str:
    return (
        f"{project.script.dir}/env.py does not pass sluice.configure_options() to "
        "context.configure(); the runner's per-revision guards (timeouts, audit, dry run) "
        "hook in there. Run `sluice init` to wire it, or add `**configure_options(config)` "
        "to each context.configure(...) call"
    )


def read_heads(conn: Connection, state: DbState) -> tuple[str, ...]:
    """The version table's rows: one query where the table is there (Alembic's own reader
    looks the table up first), Alembic's reader where it is not."""
    table = Table(state.version_table, MetaData(), Column("version_num", String(32)),
                  schema=state.version_table_schema)
    try:
        return tuple(row[0] for row in conn.execute(select(table.c.version_num)))
    except DBAPIError:
        if conn.in_transaction():
            conn.rollback()  # PostgreSQL: the failed query ended the transaction
    with quiet_alembic():
        ctx = MigrationContext.configure(conn, opts={
            "version_table": state.version_table,
            "version_table_schema": state.version_table_schema,
        })
        return tuple(ctx.get_current_heads())


def applied_revisions(script: ScriptDirectory, heads: Sequence[str]) -> set[str]:
    """Every revision the version table's heads imply is applied."""
    seen: set[str] = set()
    stack = list(heads)
    # the loaded revisions by id (``RevisionMap._revision_map``): a dictionary look-up per
    # revision instead of Alembic's resolution of a symbolic name; an id not there (or an
    # Alembic without the map) goes through ``get_revision``, which says what is wrong
    loaded = getattr(script.revision_map, "_revision_map", None)
    by_id: dict[Any, Any] = loaded if isinstance(loaded, dict) else {}
    while stack:  # down the graph from the heads: parents and depends_on alike
        rev = stack.pop()
        if rev in seen:
            continue
        seen.add(rev)
        sc = by_id.get(rev)
        if sc is None or getattr(sc, "revision", None) != rev:
            sc = script.get_revision(rev)
        if sc is None:
            continue
        stack.extend(all_down_revisions(sc))
    return seen


def planned_steps(script: ScriptDirectory, direction: str, target: str,
                  heads: Sequence[str], cache: dict[Any, list[Any]] | None = None,
                  given: Invocation | None = None, command: str | None = None,
                  ) -> list[tuple[Script, list[str], list[str]]]:
    """``(script, from, to)`` in the order Alembic's upgrade/downgrade would run them.

    The steps come from the same ``ScriptDirectory`` walk (:mod:`sluice.core.alembic_compat`)
    that ``alembic.command.upgrade``/``downgrade`` use. ``cache`` keeps the step objects
    for the run (computing them is O(revisions) and the history has hundreds). ``given``:
    the command's options, repeated in the commands an error suggests; ``command``: the
    sluice command they suggest (default: ``direction``; ``plan`` for ``sluice plan``).
    """
    given = given or Invocation()
    key = (direction, target, tuple(heads))
    steps = cache.get(key) if cache is not None else None
    if steps is None:
        if direction == "downgrade":
            refuse_ambiguous_downgrade(target, heads, given)
        try:
            if direction == "upgrade":
                steps = upgrade_steps(script, target, heads)
            else:
                steps = downgrade_steps(script, target, heads)
        except SluiceError:
            raise
        except Exception as exc:
            if target in ("head", "heads") and multiple_heads(exc):
                plan_down = command == "plan" and direction == "downgrade"
                raise several_heads(script, direction, target, given, command or direction,
                                    ("--downgrade",) if plan_down else ()) from None
            # a revision file that cannot be loaded (an import, a syntax error): its line
            where = where_in_project(exc, script.dir)
            if where is not None:
                message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
                raise SluiceError(f"{where}: {type(exc).__name__}: "
                                  f"{' '.join(str(message).split())}") from None
            unknown = [h for h in heads if not _declared(script, h)]
            if unknown:
                raise SluiceError(
                    f"the database is at {', '.join(unknown)} (its version table), which no "
                    f"revision file under {display_path(script.dir, Path.cwd())} declares: a "
                    "newer version of the code applied it, or its file was removed; "
                    "nothing was changed",
                    hint=f"Run this from the code that has it: {given.sluice('history')} "
                         "shows who applied it and when.") from None
            raise SluiceError(f"{direction} {target}: {' '.join(str(exc).split())}") from None
        if cache is not None:
            cache[key] = steps
    return [(s.revision, list(s.from_revisions), list(s.to_revisions)) for s in steps]


def multiple_heads(exc: BaseException) -> bool:
    """Alembic's refusal of a target that names several heads (its ``MultipleHeads``,
    which the script directory's walk reports as a ``CommandError``)."""
    return isinstance(exc, MultipleHeads) or (
        isinstance(exc, CommandError)
        and str(exc).startswith("Multiple head revisions are present"))


def several_heads(script: ScriptDirectory, direction: str, target: str, given: Invocation,
                  command: str, extra: tuple[str, ...] = ()) -> SluiceError:
    """``head`` (or a downgrade to ``heads``) in a project with several heads: one line
    naming them (with their branch labels) and the targets that work instead, in
    ``command`` (``upgrade``, ``downgrade`` or ``plan``) followed by ``extra``
    (``--downgrade``, ``--sql``) and the run's options."""
    named: list[tuple[str, str | None]] = []  # (head, its first branch label)
    for head in sorted(script.get_heads()):
        labels = sorted(getattr(script.get_revision(head), "branch_labels", None) or ())
        named.append((head, labels[0] if labels else None))
    shown = ", ".join(f"{h} on branch {label}" if label else h for h, label in named)
    said = f"{direction} {target}: the project has {len(named)} heads ({shown})"

    def run(what: str) -> str:
        return given.sluice(command, what, *extra)

    if direction == "upgrade":
        one = "<label>@head" if any(label for _, label in named) else "<revision>"
        picks = ", ".join(f"{label}@head" if label else h for h, label in named)
        return SluiceError(f"{said}, so '{target}' does not say which to upgrade to: run "
                           f"{run('heads')} to upgrade every branch, or {run(one)} for one "
                           f"({picks})")
    steps = ""
    if any(label for _, label in named):
        back = ", ".join(f"{label}@-1" for _, label in named if label)
        steps = (f"{run('<label>@-1')} to take one branch back a revision ({back}), "
                 f"{run('<label>@base')} to undo one branch, or ")
    return SluiceError(f"{said}, and a downgrade goes down to one revision, which "
                       f"'{target}' does not name: run {steps}{run('<revision>')} to go down "
                       f"to that revision ({given.sluice('history')} shows what ran)")


def refuse_ambiguous_downgrade(target: str, heads: Sequence[str],
                               given: Invocation | None = None) -> None:
    """``downgrade -N`` (no revision or branch label before it) from several heads names
    no revision: Alembic warns that it will refuse it and meanwhile picks by the order of
    the version table's rows. Refused, naming the heads and what to pass instead."""
    spec = relative_spec(target)
    if len(heads) < 2 or spec is None or spec[2] >= 0 or spec[0] or spec[1]:
        return
    names = ", ".join(sorted(heads))
    given = given or Invocation()
    raise SluiceError(
        f"downgrade {target}: the database is at {len(heads)} heads ({names}), so "
        f"{target} does not say which to step back from; nothing was changed",
        hint=f"Name the revision to go down to ({given.sluice('downgrade', '<revision>')}; "
             f"{given.sluice('history')} shows what ran), or a branch label: "
             f"{given.sluice('downgrade', f'<label>@{target}')}.")


def _declared(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:
        return False


def render_revision_sql(project: RunnerProject, state: DbState, direction: str,
                        revision: str, frm: str | None, to: str | None) -> list[str]:
    """One revision's statements, rendered offline through env.py."""
    buf = io.StringIO()
    cfg = project.alembic_cfg(Session(mode="offline"), output_buffer=buf)
    cfg.attributes[INTERNAL_RENDER] = True  # for Sluice's report: no notes for a reader
    with quiet_alembic(), kept_proxies():
        if direction == "upgrade":
            command.upgrade(cfg, f"{frm}:{revision}" if frm else revision, sql=True)
        else:
            command.downgrade(cfg, f"{revision}:{to or 'base'}", sql=True)
    return [s for r, s in split_offline_sql(buf.getvalue(), state.version_table, state.dialect)
            if r == revision]


def fresh_heads(conn: Connection, state: DbState) -> tuple[str, ...]:
    """The version table now, read in a transaction of its own (no stale snapshot)."""
    if conn.in_transaction():
        conn.rollback()
    try:
        return read_heads(conn, state)
    finally:
        if conn.in_transaction():
            conn.rollback()
