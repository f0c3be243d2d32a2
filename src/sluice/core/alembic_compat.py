"""The only module that touches Alembic's private APIs.

Each function here wraps one private attribute or method of Alembic that Sluice needs
and Alembic does not expose publicly, so that an Alembic upgrade that renames one of
them is fixed in one place. Everything else in Sluice uses Alembic's public API, or
these functions.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from alembic.script import Script, ScriptDirectory
    from alembic.script.revision import Revision, RevisionMap


def script_version_locations(script: ScriptDirectory) -> list[Path]:
    """The folders ``script`` reads revisions from, as Alembic resolved them
    (``ScriptDirectory._version_locations``; ``versions/`` below the script location when
    Alembic predates it)."""
    locations = getattr(script, "_version_locations", None)
    if locations is None:  # pragma: no cover - very old Alembic
        return [Path(script.dir) / "versions"]
    return [Path(os.fspath(p)) for p in locations]


def load_script(script: ScriptDirectory, path: str | os.PathLike[str]) -> Script | None:
    """Import one revision file as Alembic's loader does (``Script._from_path``); None
    when the file name is not one Alembic reads as a revision."""
    from alembic.script import Script  # lazy: lint starts without Alembic

    from_path = getattr(Script, "_from_path", None)
    if from_path is not None:
        return from_path(script, os.fspath(path))  # type: ignore[no-any-return]
    p = Path(path)  # pragma: no cover - Alembic before 1.13
    return Script._from_filename(script, str(p.parent), p.name)  # type: ignore[attr-defined,no-any-return]


def own_branch_labels(script: Script | Revision) -> tuple[str, ...]:
    """The branch labels a revision declares itself (``_orig_branch_labels``), not those
    it inherits from an ancestor."""
    own = getattr(script, "_orig_branch_labels", None)
    if own is None:  # pragma: no cover - older Alembic
        from alembic.util import to_tuple  # lazy: lint starts without Alembic

        own = to_tuple(getattr(getattr(script, "module", None), "branch_labels", None),
                       default=())
    return tuple(own or ())


def all_down_revisions(script: Script | Revision) -> tuple[str, ...]:
    """``down_revision`` and ``depends_on`` of a loaded revision, as ids
    (``Revision._all_down_revisions``)."""
    downs = getattr(script, "_all_down_revisions", None)
    if downs is not None:
        return tuple(downs)
    from alembic.util import to_tuple  # lazy: lint starts without Alembic; pragma: no cover

    return (tuple(to_tuple(script.down_revision, default=()))  # pragma: no cover
            + tuple(to_tuple(script.dependencies, default=())))


def upgrade_steps(script: ScriptDirectory, target: str, heads: Sequence[str]) -> list[Any]:
    """The steps ``alembic upgrade target`` runs from ``heads``, in order
    (``ScriptDirectory._upgrade_revs``, what ``alembic.command.upgrade`` uses)."""
    return list(script._upgrade_revs(target, tuple(heads)))  # type: ignore[arg-type]


def downgrade_steps(script: ScriptDirectory, target: str, heads: Sequence[str]) -> list[Any]:
    """The steps ``alembic downgrade target`` runs from ``heads``, in order
    (``ScriptDirectory._downgrade_revs``)."""
    return list(script._downgrade_revs(target, tuple(heads)))  # type: ignore[arg-type]


def upgrade_targets(rmap: RevisionMap, target: str,
                    current: Iterable[str] = ()) -> tuple[Any, ...]:
    """The revisions ``alembic upgrade target`` would end at, from ``current``
    (``RevisionMap._parse_upgrade_target``: ids, prefixes, ``head``/``heads``, labels,
    ``label@head``, ``base`` and relative ``+2``/``ae10-1``/``label@+1``)."""
    return tuple(rmap._parse_upgrade_target(
        current_revisions=tuple(current), target=target, assert_relative_length=True))


def relative_spec(spec: str) -> tuple[str | None, str | None, int] | None:
    """``(branch label, symbol, steps)`` of a relative spec (``-1``, ``ae10+2``,
    ``label@head-1``) as Alembic's ``_relative_destination`` reads it; None otherwise."""
    from alembic.script import revision  # lazy: lint starts without Alembic

    match = revision._relative_destination.match(spec)
    if not match:
        return None
    label, symbol, steps = match.groups()
    return label, symbol, int(steps)


def environment_context() -> Any:
    """The EnvironmentContext ``alembic.context`` proxies to right now (``_proxy``), or
    None outside a migration."""
    from alembic import context  # lazy: lint starts without Alembic

    return getattr(context, "_proxy", None)


def running_command() -> str | None:
    """The ``alembic.command`` function running env.py right now (``"check"``,
    ``"revision"``, ``"upgrade"`` ...): every command hands its EnvironmentContext a
    migration function defined inside it (``context_opts["fn"]``, e.g.
    ``check.<locals>.retrieve_migrations``). Read before env.py's ``configure()``, which
    may replace that function; works on any thread or greenlet (an async env.py runs
    ``configure()`` inside ``connection.run_sync``, where the command's frame is not on
    the stack). None outside a command (a program's own EnvironmentContext)."""
    env = environment_context()
    fn = (getattr(env, "context_opts", None) or {}).get("fn")
    if getattr(fn, "__module__", None) != "alembic.command":
        return None
    name = str(getattr(fn, "__qualname__", "")).split(".", 1)[0]
    return name or None


def operations_proxy() -> Any:
    """The Operations object ``alembic.op`` proxies to right now, or None."""
    from alembic import op  # lazy: lint starts without Alembic

    return getattr(op, "_proxy", None)


def install_proxy(obj: Any) -> None:
    """Make ``alembic.context`` (an EnvironmentContext) or ``alembic.op`` (Operations)
    proxy to ``obj``."""
    obj._install_proxy()


def remove_proxy(obj: Any) -> None:
    """Undo :func:`install_proxy`."""
    obj._remove_proxy()


@contextlib.contextmanager
def kept_proxies() -> Iterator[None]:
    """Leave ``alembic.op`` and ``alembic.context`` proxying to what they did before the
    Alembic run inside: a migration that raises leaves ``alembic.op`` installed
    (``Operations.context`` removes it only on success), and code that runs later in the
    process would take the dead run for a live one."""
    before = (operations_proxy(), environment_context())
    try:
        yield
    finally:
        for now, then in zip((operations_proxy(), environment_context()), before, strict=True):
            if now is not then:
                if now is not None:
                    remove_proxy(now)
                if then is not None:
                    install_proxy(then)


def registered_plugins() -> dict[str, Any] | None:
    """Alembic's plugin registry (1.16+; ``plugins._all_plugins``), None when missing."""
    from alembic.runtime import plugins  # lazy: lint starts without Alembic

    registry = getattr(plugins, "_all_plugins", None)
    return registry if isinstance(registry, dict) else None


def user_compare_server_default(migration_context: Any) -> Any:
    """The ``compare_server_default`` env.py passed to ``context.configure``
    (``MigrationContext._user_compare_server_default``); False when not set."""
    return getattr(migration_context, "_user_compare_server_default", False)


def in_external_transaction(migration_context: Any) -> bool:
    """env.py opened a transaction on the connection itself (``connection.begin()``)
    before ``context.configure`` (``MigrationContext._in_external_transaction``)."""
    return bool(getattr(migration_context, "_in_external_transaction", False))


def reverse_op(op: Any) -> Any:
    """The operation an autogenerated ``Drop*Op`` was built from (``_reverse``), or None."""
    return getattr(op, "_reverse", None)


#: ``Config.attributes`` key set when Sluice renders revisions offline for itself (a plan's
#: SQL preview, a failure report): what a step would tell a person reading ``--sql``
#: output (a backfill that cannot be rendered) is not said, since nobody asked for SQL.
INTERNAL_RENDER = "sluice_internal_render"

#: ``Config.attributes`` key set when Sluice runs Alembic on a database it chose itself
#: (``sluice trace``'s scratch database): an environment's ``url`` does not name it, so
#: env.py does not compare the two (:mod:`sluice.runner.envguard`).
SCRATCH_RUN = "sluice_scratch_run"
