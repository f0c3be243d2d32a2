"""The runner's guards inside env.py, for ``sluice upgrade`` and for plain ``alembic upgrade``.

``sluice.configure_options(config)`` calls :func:`runner_options`, which returns:

- under ``sluice upgrade``/``downgrade``/``plan`` (a :class:`~sluice.runner.session.Session`
  in ``config.attributes``): that session's hooks;
- under plain ``alembic upgrade``/``downgrade`` in an environment with ``guard_alembic``
  (default: production): a ``fn`` that wraps Alembic's own step function. When there are
  revisions to run it takes the migration lock (on a connection of its own to the same
  database), re-reads the version table (another deploy may have migrated while it
  waited), reconciles audit rows of dead runs, writes the audit rows, applies the
  timeouts around each revision and, on MySQL/MariaDB, reports a partially applied
  revision. The lock is released and the audit rows are finalized when env.py hands its
  connection back (after the commit), or at process exit at the latest. These steps are
  :mod:`sluice.runner.flow`, the same flow ``sluice upgrade`` goes through.
- under plain ``alembic`` in any other environment that names its database (``url``): a
  ``fn`` that only refuses to run revisions on another database (:func:`same_database`).

What plain ``alembic`` cannot get from env.py: the plan, the environment policy
(downgrade refusal, lint refusal, confirmation), the backup, dry run, and retries after a
lock timeout. Those need ``sluice upgrade``, which runs before env.py does.
"""

from __future__ import annotations

import atexit
import io
import os
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from sluice.config import SluiceConfig
from sluice.core.alembic_compat import SCRATCH_RUN, environment_context
from sluice.core.suggest import Invocation, invocation
from sluice.errors import SluiceError, mask_url
from sluice.notices import notice
from sluice.runner.policy import resolve_policy
from sluice.runner.project import SESSION_ATTR


def _same(a: Any, b: Any) -> bool:
    """Two SQLAlchemy URLs name the same database (driver and password aside; a port
    left out matches any)."""
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        return os.path.realpath(a.database or "") == os.path.realpath(b.database or "")
    return ((a.host or "").lower(), a.database) == ((b.host or "").lower(), b.database) \
        and (a.port is None or b.port is None or a.port == b.port)


def _notify(message: str) -> None:
    notice(f"sluice: {message}")


def runner_options(alembic_config: Any, config: SluiceConfig, environment: str, *,
                   namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Extra ``context.configure`` keywords for the runner (empty when nothing applies).
    ``namespace``: the module namespace of the caller (env.py), whose files left open
    the run flushes (:mod:`sluice.runner.leftopen`)."""
    attributes = getattr(alembic_config, "attributes", None) or {}
    session = attributes.get(SESSION_ATTR)
    if session is not None:
        if namespace is not None:
            session.namespaces.append(namespace)
        return dict(session.configure_options())
    try:
        from alembic import context  # lazy: the env.py proxy, in a running migration

        if context.is_offline_mode():
            return {}
        env_ctx = environment_context()
        original = env_ctx.context_opts.get("fn") if env_ctx is not None else None
    except Exception:
        return {}
    if original is None:
        return {}

    policy = resolve_policy(config, environment)
    # a database Sluice chose itself (sluice trace's scratch one) is not the environment's
    compare = bool(policy.url) and not attributes.get(SCRATCH_RUN)
    if not policy.guard_alembic and not compare:
        return {}
    given = invocation(getattr(alembic_config, "config_file_name", None) or "alembic.ini",
                       environment=environment,
                       x_args=list(getattr(getattr(alembic_config, "cmd_opts", None), "x",
                                           None) or []),
                       ini_section=getattr(alembic_config, "config_ini_section", "alembic"))
    if not policy.guard_alembic:  # no guards, but the environment names its database
        return {"fn": DatabaseCheck(config, environment, policy, original, given).fn}
    guard = EnvGuard(config, environment, policy, original, given)
    guard.compare = compare
    return {"fn": guard.fn}


def _runs_revisions(steps: list[Any], ctx: Any) -> bool:
    """Alembic's steps run revisions online (not offline SQL, nothing to do or a stamp)."""
    return bool(steps) and not ctx.as_sql and all(
        hasattr(s, "is_upgrade") and getattr(getattr(s, "revision", None), "revision", None)
        for s in steps)


def same_database(config: SluiceConfig, environment: str, policy: Any, given: Invocation,
                  url: Any) -> None:
    """Plain ``alembic`` connects where env.py says (alembic.ini's URL, as a rule), not
    to the environment's ``url``: refuse to run on another database than the one the
    environment names (``alembic -x env=prod upgrade head`` on the developer's SQLite
    file), with or without ``guard_alembic``."""
    if not policy.url:
        return
    from sqlalchemy.engine import make_url  # lazy: SQLAlchemy is loaded by now

    from sluice.core.urls import expand_vars  # lazy: only with an environment url

    key = config.where(f"environments.{environment}.url")
    try:
        wanted = make_url(expand_vars(policy.url, key=key))
    except SluiceError as exc:
        raise SluiceError(f"{exc}; this alembic run is connected to {mask_url(url)}: "
                          "nothing was run") from None
    except Exception:  # noqa: BLE001 - an unreadable URL: the comparison cannot hold
        wanted = None
    if wanted is not None and _same(wanted, url):
        return
    raise SluiceError(
        f"environment {environment} names its database in {key} "
        f"({mask_url(wanted) if wanted is not None else 'an unreadable URL'}), but this "
        f"alembic run is connected to {mask_url(url)}: nothing was run. Run "
        f"{given.sluice('upgrade')}, which connects to the "
        "environment's database, or make env.py connect to it")


class DatabaseCheck:
    """Plain ``alembic upgrade`` in an environment that names its database (``url``)
    without ``guard_alembic``: Alembic's own steps, once :func:`same_database` holds."""

    def __init__(self, config: SluiceConfig, environment: str, policy: Any,
                 original: Callable[..., Any], given: Invocation) -> None:
        self.config = config
        self.environment = environment
        self.policy = policy
        self.original = original
        self.given = given

    def fn(self, heads: Any, ctx: Any) -> Any:
        steps = list(self.original(heads, ctx))
        if _runs_revisions(steps, ctx):
            same_database(self.config, self.environment, self.policy, self.given,
                          ctx.connection.engine.url)
        return steps


class EnvGuard:
    """Lock, audit and timeouts around Alembic's own steps (plain ``alembic upgrade``)."""

    def __init__(self, config: SluiceConfig, environment: str, policy: Any,
                 original: Callable[..., Any], given: Invocation | None = None) -> None:
        self.config = config
        #: The options of this alembic command, repeated in the commands messages suggest.
        self.given = given or Invocation(environment=environment)
        self.environment = environment
        self.policy = policy
        self.original = original
        self.lock: Any = None
        self.audit_conn: Any = None
        self.session: Any = None
        self.state: Any = None
        self.script: Any = None
        self._done = threading.Lock()
        self._finished = False
        #: Whether the database must be the one the environment's ``url`` names.
        self.compare = True

    def _same_database(self, url: Any) -> None:
        if self.compare:
            same_database(self.config, self.environment, self.policy, self.given, url)

    def fn(self, heads: Any, ctx: Any) -> Any:
        steps = list(self.original(heads, ctx))
        if not _runs_revisions(steps, ctx):
            return steps  # nothing to run, or a stamp: no guard
        from sluice.runner.flow import (  # lazy: only when an upgrade runs
            heads_under_lock,
            insert_run,
            migration_lock,
            step_records,
        )
        from sluice.runner.session import DbState, Session  # lazy: only when an upgrade runs
        from sluice.runner.timeouts import Timeouts  # lazy: only when an upgrade runs

        direction = "upgrade" if steps[0].is_upgrade else "downgrade"
        target = str(ctx.opts.get("destination_rev") or "")
        url = ctx.connection.engine.url
        self._same_database(url)
        self.script = ctx.script
        self.state = DbState(heads=tuple(heads), version_table=ctx.version_table,
                             version_table_schema=ctx.version_table_schema,
                             dialect=ctx.dialect.name,
                             transactional_ddl=bool(ctx.impl.transactional_ddl))
        self.lock = migration_lock(
            url, policy=self.policy, environment=self.environment,
            command=f"alembic {direction} {target}", version_table=ctx.version_table,
            notify=_notify)
        self.lock.acquire()
        try:
            self.audit_conn = self.lock.audit_conn
            fresh, reconciled = heads_under_lock(
                self.lock, self.state, ctx.script, reconcile=True,
                progress_table=self.config.data.progress_table)
            for message in reconciled:
                _notify(message)
            if set(fresh) != set(heads):
                if not list(self.original(fresh, ctx)):
                    _notify("another deploy already did this while we waited for the lock")
                    self._close()
                    return []
                raise SluiceError(
                    f"another process migrated {mask_url(url)} while this one waited for the "
                    f"migration lock (now at {', '.join(fresh) or 'base'}); nothing was run. "
                    "Run the command again"
                )
            records = step_records(
                [(s.revision, s.from_revisions, s.to_revisions) for s in steps], direction)
            insert_run(self.audit_conn, records, environment=self.environment,
                       holder=self.lock.holder, via=f"alembic {direction}")
            self.session = Session(
                mode="run", direction=direction, target=target,
                planned=[r.revision for r in records], records=records,
                env_timeouts=Timeouts(self.policy.lock_timeout_ms,
                                      self.policy.statement_timeout_ms),
                audit_conn=self.audit_conn, mid_run_audit=ctx.dialect.name != "sqlite",
                check_lock=self.lock.verify, mark_running=self.lock.mark_running,
                progress_table=self.config.data.progress_table,
            )
            self.session.install(steps, ctx)
            migration_dbapi = ctx.connection.connection.dbapi_connection

            def on_checkin(dbapi_connection: Any, record: Any) -> None:
                if dbapi_connection is migration_dbapi:
                    self.finish()

            event.listen(ctx.connection.engine, "checkin", on_checkin)
            atexit.register(self.finish)
        except BaseException:
            self._close()
            raise
        return steps

    def _close(self) -> None:
        self.audit_conn = None  # the lock's own; closed with it
        self.lock.release()

    def finish(self) -> None:
        """Finalize the audit rows from the version table and release the lock (once)."""
        with self._done:
            if self._finished or self.session is None:
                return
            self._finished = True
        from sluice.runner.flow import (  # lazy: only when an upgrade runs
            partial_of,
            record_outcome,
        )
        from sluice.runner.heads import fresh_heads  # lazy: only when an upgrade runs

        session = self.session
        try:
            session.detach()
            heads = fresh_heads(self.audit_conn, self.state)
            transactional = self.state.transactional_ddl or self.state.dialect == "sqlite"
            partial = partial_of(
                session, self.script, transactional,
                lambda rec: render_module_sql(self.script.get_revision(rec.revision),
                                              session.direction, self.state.dialect))
            if partial is not None:
                rerun = (session.direction, session.target or "head")
                _notify(partial.render(self.given, rerun))
            if session.lock_lost is not None:
                _notify(f"{session.lock_lost}; the run stopped, the database is at "
                        f"{', '.join(heads) or 'base'}.\n{session.lock_lost.hint}\n"
                        f"{self.given.sluice('history')} shows what this run did; then run "
                        "the command again.")
            record_outcome(self.audit_conn, self.script, session, heads)
        except Exception as exc:  # the lock must be released whatever happens
            _notify(f"could not finalize the audit rows: {exc}")
        finally:
            self._close()


def render_module_sql(script: Any, direction: str, dialect: str) -> list[str]:
    """One revision's statements rendered offline in an Operations context of its own.

    Used where env.py cannot be run again (inside a running env.py).
    """
    from alembic.operations import Operations  # lazy: only for offline rendering
    from alembic.runtime.migration import MigrationContext  # lazy: only for offline rendering

    from sluice.runner.capture import split_offline_sql  # lazy: only for offline rendering

    buf = io.StringIO()
    mc = MigrationContext.configure(
        dialect_name=dialect,
        opts={"as_sql": True, "output_buffer": buf, "literal_binds": True},
    )
    with Operations.context(mc):
        getattr(script.module, direction)()
    return [s for _, s in split_offline_sql(buf.getvalue(), dialect=dialect)]
