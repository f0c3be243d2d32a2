"""Environments: which one a migration runs in, and gates for environment-specific steps.

Resolution order: ``-x env=NAME``, then ``SLUICE_ENV``, then ``ALEMBIC_ENV``, then
``default_environment`` from the config. A name that is not configured, or one that is
set but empty (``-x env=`` from an unset variable), is an error that lists the valid ones:
it never falls back to the default.

Inside a revision script::

    from sluice import current_env, only_in, skip_in

    @only_in("dev", "test")
    def seed_demo_users():
        op.bulk_insert(users, [...])

    def upgrade():
        ...
        seed_demo_users()              # runs only in dev and test
        with skip_in("prod"):          # the block is skipped in prod
            op.execute("INSERT INTO feature_flags ...")
        with skip_in(production=True): # ... in every production environment
            op.execute("INSERT INTO demo_rows ...")

In ``--sql`` mode a skipped step is rendered as a SQL comment saying it was skipped.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from types import FrameType, TracebackType

from sluice.config import SluiceConfig, load_config
from sluice.errors import ConfigError
from sluice.notices import notice

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])


def resolve_environment(
    config: SluiceConfig,
    x_args: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The environment name, validated against the configured environments."""
    environ = os.environ if environ is None else environ
    x_args = x_args or {}
    for origin, value in (
        ("-x env", x_args.get("env")),
        ("SLUICE_ENV", environ.get("SLUICE_ENV")),
        ("ALEMBIC_ENV", environ.get("ALEMBIC_ENV")),
    ):
        if value is not None:
            return validate_name(config, value, origin=origin)
    return config.validate_environment(
        config.default_environment, origin="default_environment"
    )


def named_environment(config: SluiceConfig, x_args: Mapping[str, str] | None = None,
                      environ: Mapping[str, str] | None = None) -> str | None:
    """The environment ``-x env``, ``SLUICE_ENV`` or ``ALEMBIC_ENV`` names, validated as
    :func:`resolve_environment` does; None when none is set (no default: for commands
    such as lint, which read the project without an environment unless one is named)."""
    environ = os.environ if environ is None else environ
    x_args = x_args or {}
    if any(v is not None for v in (x_args.get("env"), environ.get("SLUICE_ENV"),
                                   environ.get("ALEMBIC_ENV"))):
        return resolve_environment(config, x_args, environ)
    return None


def environment_of(config: SluiceConfig, env: str | None,
                   x_args: Sequence[str] = ()) -> str | None:
    """The environment a command that needs none was asked for: ``--env`` (``env``), else
    what ``-x env``, ``SLUICE_ENV`` or ``ALEMBIC_ENV`` names (:func:`named_environment`),
    else None. An empty or unknown name, or ``--env`` and ``-x env`` disagreeing, is a
    :class:`ConfigError`."""
    x_dict = {k: v for k, _, v in (a.partition("=") for a in x_args)}
    check_x_env(x_args)
    if env is None:
        return named_environment(config, x_dict)
    env = validate_name(config, env, origin="--env")
    if "env" in x_dict and validate_name(config, x_dict["env"], origin="-x env") != env:
        raise ConfigError(f"--env {env} and -x env={x_dict['env']} disagree; pass one")
    return env


def check_x_env(x_args: Sequence[str]) -> None:
    """Refuse ``-x env=prod -x env=dev`` (Alembic keeps the last one: a production deploy
    run as dev, without its guards) and a key meant as ``env`` but spelt otherwise
    (``-x Env=prod``, ``-x environment=prod``: the default environment would run)."""
    values: list[str] = []
    for arg in x_args:
        key, _, value = arg.partition("=")
        if key == "env":
            if values and value not in values:
                raise ConfigError(f"-x env={values[0]} and -x env={value} disagree; pass one")
            values.append(value)
        elif key.lower() in ("env", "environment"):
            raise ConfigError(f"-x {arg}: Sluice reads the environment from -x env only; "
                              f"did you mean -x env={value}?")


def validate_name(config: SluiceConfig, value: str, *, origin: str) -> str:
    """``value`` as given by ``origin`` (``--env``, ``-x env``, ``SLUICE_ENV`` ...), refused
    when it is empty or not a configured environment (naming the closest configured one,
    as an unknown configuration key does: ``prd``, did you mean ``prod``?).

    An empty value is what an unset variable gives (``-x env=$DEPLOY_ENV``); falling back
    to the default environment would run a production deploy without its guards.
    """
    if not value.strip():
        valid = ", ".join(sorted(config.environments))
        shown = {"-x env": "-x env=", "--env": f"--env {value!r}"}.get(
            origin, f"{origin}={value!r}")
        raise ConfigError(
            f"{shown}: the environment name is empty (an unset variable?); refusing to "
            f"guess. Pass one of: {valid}"
        )
    if value not in config.environments:
        import difflib  # lazy: only for a misspelt name; start-up

        names = list(config.environments)
        same = [n for n in names if n.lower() == value.strip().lower()]  # PROD, "prod "
        close = same or difflib.get_close_matches(value, names, n=1, cutoff=0.6)
        meant = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(f"unknown environment '{value}' (from {origin}); {meant}valid: "
                          f"{', '.join(sorted(config.environments))}")
    return value


def _alembic_context() -> Any | None:
    """The active Alembic MigrationContext, or None outside a migration run."""
    try:
        from alembic import context as env_proxy  # lazy: import sluice loads no Alembic

        return env_proxy.get_context()
    except Exception:
        return None


def current_env() -> str:
    """The environment the running migration targets.

    Inside an Alembic run wired with :func:`sluice.configure_options` this is the
    environment resolved when env.py configured the context; elsewhere it is resolved
    from ``SLUICE_ENV`` / ``ALEMBIC_ENV`` and the config found from the current folder.
    """
    ctx = _alembic_context()
    if ctx is not None:
        env = ctx.opts.get("sluice_env")
        if env:
            return str(env)
        try:
            from alembic import context as env_proxy  # lazy: import sluice loads no Alembic

            x_args = env_proxy.get_x_argument(as_dictionary=True)
            ini = env_proxy.config.config_file_name
        except Exception:
            x_args, ini = {}, None
        return resolve_environment(load_config(ini), x_args)
    return resolve_environment(load_config())


def _running_config() -> SluiceConfig:
    """The configuration of the running migration (as env.py loaded it), else the one
    found from alembic.ini of the running context or the current folder."""
    ctx = _alembic_context()
    if ctx is not None:
        cfg = ctx.opts.get("sluice_config")
        if isinstance(cfg, SluiceConfig):
            return cfg
        try:
            from alembic import context as env_proxy  # lazy: import sluice loads no Alembic

            ini = env_proxy.config.config_file_name
        except Exception:
            ini = None
        return load_config(ini)
    return load_config()


class _SkipBlock(Exception):
    pass


class EnvGate:
    """Runs a step only in some environments; a decorator and a context manager."""

    def __init__(self, envs: tuple[str, ...], *, invert: bool, production: bool = False) -> None:
        if not envs and not production:
            raise ValueError("name at least one environment or pass production=True")
        self.envs = envs
        self.invert = invert
        self.production = production
        self._saved_trace: Any = None

    @property
    def label(self) -> str:
        args = [repr(e) for e in self.envs] + (["production=True"] if self.production else [])
        return f"{'skip_in' if self.invert else 'only_in'}({', '.join(args)})"

    def matches(self, env: str, config: SluiceConfig | None = None) -> bool:
        """Whether ``env`` is one the gate names: listed, or production when
        ``production=True`` (``production_environments`` or ``production = true``)."""
        if env in self.envs:
            return True
        if not self.production:
            return False
        return (config or _running_config()).is_production(env)

    def active(self, env: str | None = None, config: SluiceConfig | None = None) -> bool:
        """Whether the step runs in ``env``. A :class:`ConfigError` for a gate that
        cannot mean what it says: ``skip_in`` naming an environment the project does not
        have (``skip_in("prd")`` never skips its step in prod), or ``only_in`` naming
        none it has (its step never runs anywhere). ``only_in("dev", "test")`` in a
        project without ``test`` is fine: it runs in dev."""
        config = config or _running_config()
        unknown = [n for n in self.envs if n not in config.environments]
        if unknown and (self.invert or (len(unknown) == len(self.envs)
                                        and not self.production)):
            validate_name(config, unknown[0], origin=self.label)
        env = env or current_env()
        return self.matches(env, config) != self.invert

    def _note_skip(self, what: str, env: str) -> None:
        message = f"sluice: {what} skipped in environment '{env}' ({self.label})"
        ctx = _alembic_context()
        if ctx is not None and ctx.as_sql:
            ctx.impl.static_output(f"-- {message}")
        else:
            notice(message)

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            env = current_env()
            if self.active(env):
                return fn(*args, **kwargs)
            self._note_skip(f"step {fn.__name__}", env)
            return None

        return wrapper  # type: ignore[return-value]

    # Context-manager form: when inactive, the body of the ``with`` block is skipped by
    # raising from a trace function before its first line runs; __exit__ swallows that.
    def __enter__(self) -> EnvGate:
        env = current_env()
        if self.active(env):
            return self
        self._note_skip("block", env)
        caller = sys._getframe(1)
        self._saved_trace = sys.gettrace()
        sys.settrace(lambda *args: None)
        caller.f_trace = self._skip_trace
        return self

    def _skip_trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        raise _SkipBlock()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc_type is _SkipBlock:
            sys.settrace(self._saved_trace)
            caller = sys._getframe(1)
            caller.f_trace = None
            return True
        return False


def only_in(*envs: str, production: bool = False) -> EnvGate:
    """Run the decorated function or ``with`` block only in the named environments;
    ``production=True`` adds every production environment (``production_environments``
    and each environment with ``production = true``)."""
    return EnvGate(envs, invert=False, production=production)


def skip_in(*envs: str, production: bool = False) -> EnvGate:
    """Skip the decorated function or ``with`` block in the named environments;
    ``production=True`` skips it in every production environment as well."""
    return EnvGate(envs, invert=True, production=production)
