"""What env.py plugs in: one call returns the keyword arguments for ``context.configure``.

::

    from sluice import configure_options

    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        **configure_options(config, include_object=my_include_object),
    )

Callbacks you already have are passed in and chained: yours run exactly as before, and
Sluice's filters and policies run in addition (filters: an object is included only if
both agree; ``process_revision_directives``: yours first, then Sluice's policies).
Any other keyword you pass overrides Sluice's default for it, except
``compare_server_default=True``, which Sluice's comparison already means (``False`` or a
comparator of your own do override it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sluice.config import SluiceConfig, load_config, with_server
from sluice.core.alembic_compat import running_command
from sluice.core.suggest import AlembicOptions
from sluice.environments import check_x_env, resolve_environment
from sluice.filters import IncludeName, IncludeObject, make_include_name, make_include_object
from sluice.integrations import alembic_plugin, prompt
from sluice.policy.defaults import compare_server_default
from sluice.policy.services import (
    SERVICE_OPTION,
    check_own_environment,
    resolve_service,
    scoped_include_name,
    scoped_include_object,
)
from sluice.policy.split import SPLIT_OPTION, parse_split
from sluice.runner.envguard import runner_options
from sluice.runner.project import CONFIG_ATTR

Directives = Callable[[Any, Any, list[Any]], None]


def _running_autogenerate() -> bool:
    """Whether Alembic is generating a revision with --autogenerate right now."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "_run_environment" and "autogenerate" in frame.f_locals:
            return bool(frame.f_locals["autogenerate"])
        frame = frame.f_back  # type: ignore[assignment]
    return True


def _running_alembic_check() -> bool:
    """Whether this autogenerate run is ``alembic check`` (which only reports drift)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "check" and frame.f_globals.get("__name__") == "alembic.command":
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def make_process_revision_directives(
    config: SluiceConfig,
    environment: str,
    x_args: list[str],
    user: Directives | None = None,
    *,
    command: str | None = None,
    command_options: tuple[str, ...] = (),
) -> Directives:
    """Chain the user's hook (first) with Sluice's autogenerate policies. ``command``: the
    Alembic command running env.py (:func:`~sluice.core.alembic_compat.running_command`),
    None when unknown (then the call stack is asked). ``command_options``: its ``-c``,
    ``-n`` and ``-x`` as given, repeated in the ``alembic`` command a refusal suggests."""

    def process_revision_directives(context: Any, revision: Any, directives: list[Any]) -> None:
        if user is not None:
            user(context, revision, directives)
        if command == "check" or (command is None and _running_alembic_check()):
            return  # `alembic check` writes nothing: the policies judge files to be written
        from sluice.policy import (  # lazy: policies load when autogenerate writes
            PolicyContext,
            apply_policies,
            parse_allowances,
        )

        dialect = getattr(context, "dialect", None)
        ctx = PolicyContext(
            config=with_server(config, getattr(dialect, "name", None),
                               mariadb=bool(getattr(dialect, "is_mariadb", False)),
                               version=getattr(dialect, "server_version_info", None)),
            environment=environment,
            allowances=parse_allowances(x_args),
            autogenerate=_running_autogenerate(),
            migration_context=context,
            confirm=prompt.terminal_confirm(),
            command_options=command_options,
        )
        apply_policies(ctx, directives)

    return process_revision_directives


def _x_args(alembic_config: Any) -> list[str]:
    opts = getattr(alembic_config, "cmd_opts", None)
    return list(getattr(opts, "x", None) or [])


def _command_options(alembic_config: Any) -> tuple[str, ...]:
    """``-c``, ``-n`` and ``-x`` as the ``alembic`` command line gave them (nothing under
    the command API): what a suggested ``alembic`` command repeats."""
    return AlembicOptions.of(alembic_config).words()


def configure_options(
    alembic_config: Any = None,
    *,
    include_object: IncludeObject | None = None,
    include_name: IncludeName | None = None,
    process_revision_directives: Directives | None = None,
    environment: str | None = None,
    sluice_config: SluiceConfig | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Keyword arguments for ``context.configure`` with Sluice wired in.

    ``alembic_config`` is env.py's ``context.config`` (default: the running one). Returns
    ``include_object``, ``include_name``, ``process_revision_directives``,
    ``compare_type=True``, server defaults compared with dialect noise removed (see
    :mod:`sluice.policy.defaults`; on Alembic 1.18+ through the ``sluice`` plugin added to
    ``autogenerate_plugins``, before through ``compare_server_default``; pass your own
    ``autogenerate_plugins`` here to keep them), ``include_schemas`` when schemas
    are configured, ``render_as_batch`` on SQLite, and ``sluice_env`` (the resolved
    environment, read by :func:`sluice.current_env`). With services configured,
    ``-x service=NAME`` (or ``alembic -n NAME``) limits autogenerate to that service's
    tables and sets ``version_table`` when the service keeps its own; ``-x split=...``
    chooses the expand/contract split (see :mod:`sluice.policy.split`).
    """
    if alembic_config is None:
        from alembic import context  # lazy: the env.py proxy, when no config is passed

        alembic_config = context.config
    ini = getattr(alembic_config, "config_file_name", None)
    cfg = sluice_config or _runner_config(alembic_config) or load_config(
        Path(ini) if ini else None)
    x_args = _x_args(alembic_config)
    if not environment:
        check_x_env(x_args)  # -x env=prod -x env=dev: Alembic's dictionary keeps the last
    # as Alembic's get_x_argument(as_dictionary=True) reads them: ``-x env`` is ``env=""``
    x_dict = {k: v for k, _, v in (a.partition("=") for a in x_args)}
    env = (
        cfg.validate_environment(environment, origin="configure_options(environment=...)")
        if environment
        else resolve_environment(cfg, x_dict)
    )
    cfg = cfg.for_environment(env)
    service = resolve_service(cfg, x_dict, getattr(alembic_config, "config_ini_section", None))
    options: dict[str, Any] = {
        "include_object": scoped_include_object(
            cfg, service, make_include_object(cfg, include_object)),
        "include_name": scoped_include_name(cfg, service, make_include_name(cfg, include_name)),
        "process_revision_directives": make_process_revision_directives(
            cfg, env, x_args, process_revision_directives, command=running_command(),
            command_options=_command_options(alembic_config),
        ),
        "compare_type": True,
        "sluice_env": env,
        "sluice_config": cfg,
        SERVICE_OPTION: service,
        SPLIT_OPTION: parse_split(x_dict),
    }
    if service is not None and cfg.services[service].version_table:
        check_own_environment(cfg, service, alembic_config)
        options["version_table"] = cfg.services[service].version_table
    if cfg.include_schemas:
        options["include_schemas"] = True
    url = ""
    try:
        url = alembic_config.get_main_option("sqlalchemy.url") or ""
    except Exception:
        url = ""
    if url.startswith("sqlite"):
        options["render_as_batch"] = True

    # the caller's module namespace: env.py's, whose files left open a run flushes
    options.update(runner_options(alembic_config, cfg, env,
                                  namespace=sys._getframe(1).f_globals))
    caller = sys._getframe(1)
    _check_overrides(overrides, f"{_shown(caller.f_code.co_filename)}:{caller.f_lineno}")
    options.update(_comparison_options(overrides.pop("autogenerate_plugins", None)))
    if overrides.get("compare_server_default") is True:
        # True asks for server defaults to be compared, which Sluice's comparison does;
        # passed on, it would replace that with Alembic's plain one before Alembic 1.18.
        del overrides["compare_server_default"]
    options.update(overrides)
    return options


def _runner_config(alembic_config: Any) -> SluiceConfig | None:
    """The configuration ``sluice upgrade``/``downgrade``/``plan`` already read from this
    project's files, handed over in ``config.attributes`` (None under plain Alembic)."""
    attributes = getattr(alembic_config, "attributes", None)
    found = attributes.get(CONFIG_ATTR) if isinstance(attributes, dict) else None
    return found if isinstance(found, SluiceConfig) else None


def _comparison_options(plugins: Any) -> dict[str, Any]:
    """Sluice's comparison additions: the ``sluice`` plugin on Alembic 1.18+, callbacks
    before (see :mod:`sluice.integrations.alembic_plugin`). ``plugins``: the caller's own
    ``autogenerate_plugins``, kept, with ``sluice`` added."""
    if alembic_plugin.ensure_registered():
        return {"compare_server_default": True,
                "autogenerate_plugins": alembic_plugin.with_sluice(plugins)}
    if plugins is not None:
        return {"compare_server_default": compare_server_default,
                "autogenerate_plugins": plugins}
    return {"compare_server_default": compare_server_default}


def _shown(path: str) -> str:
    """``path`` (env.py) relative to the current folder when it is under it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return path


def _check_overrides(overrides: dict[str, Any], where: str) -> None:
    """A keyword that is not a ``context.configure`` parameter but nearly spells one (or
    one of :func:`configure_options`'s own) is a typo Alembic would ignore without a word
    (``include_objects=`` for ``include_object=``): a one-line error naming ``where``
    (``env.py:LINE``, the call). Other unknown
    keywords pass through: Alembic keeps them in ``context.opts`` for env.py's own use."""
    if not overrides:
        return
    import difflib  # lazy: only with keywords of the caller's own
    import inspect  # lazy: only with keywords of the caller's own

    from alembic.runtime.environment import EnvironmentContext  # lazy: as above

    from sluice.errors import SluiceError  # lazy: as above

    known = [n for n in inspect.signature(EnvironmentContext.configure).parameters
             if n not in ("self", "kw")] + [  # documented options of its **kw
        "version_table", "version_table_schema", "version_table_pk", "output_encoding"]
    ours = [n for n in inspect.signature(configure_options).parameters
            if n not in ("alembic_config", "overrides")]
    for name in overrides:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known + ours, n=1, cutoff=0.8)
        if close:
            raise SluiceError(f"{where}: configure_options({name}=...): not a parameter of "
                              f"context.configure or configure_options; did you mean "
                              f"{close[0]}=...?")
